"""HTML from email: sanitised for display, or rendered as plain text.

Mail HTML is hostile by default. :func:`sanitize_email_html` keeps formatting
only, and never lets the browser fetch anything on its own: remote images keep
their address in ``data-remote-src`` until the reader asks for them (a remote
image is a read receipt), and ``cid:`` images keep theirs in ``data-cid`` for the
gateway to point at the stored attachment.
"""

from __future__ import annotations

import re
from html import escape, unescape
from html.parser import HTMLParser

import nh3

_TAGS = frozenset(
    {
        "a", "abbr", "address", "b", "bdi", "bdo", "big", "blockquote", "br", "caption",
        "center", "cite", "code", "col", "colgroup", "dd", "del", "dfn", "div", "dl", "dt",
        "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd",
        "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike",
        "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt",
        "u", "ul", "var", "wbr",
    }
)  # fmt: skip

# Removed together with their content: nothing in them is meant to be read.
_CLEAN_CONTENT_TAGS = frozenset(
    {"script", "style", "title", "head", "noscript", "template", "object", "embed", "iframe"}
)

_CELL = frozenset({"colspan", "rowspan", "align", "valign", "width", "height"})
_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"title", "dir", "lang", "style"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "font": {"color", "face", "size"},
    "td": set(_CELL),
    "th": set(_CELL),
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "table": {"align", "width", "border", "cellpadding", "cellspacing"},
    "tr": {"align", "valign"},
    "p": {"align"},
    "div": {"align"},
    "ol": {"start", "type"},
    "ul": {"type"},
    "li": {"value"},
    "hr": {"width", "size"},
    "blockquote": {"cite"},
}

# Only properties that cannot fetch anything or move content out of its box.
_STYLE_PROPERTIES = frozenset(
    {
        "color", "background-color", "font", "font-family", "font-size", "font-style",
        "font-weight", "font-variant", "text-align", "text-decoration", "text-indent",
        "text-transform", "line-height", "letter-spacing", "white-space", "vertical-align",
        "border", "border-collapse", "border-color", "border-style", "border-width",
        "border-top", "border-right", "border-bottom", "border-left", "padding",
        "padding-top", "padding-right", "padding-bottom", "padding-left", "margin",
        "margin-top", "margin-right", "margin-bottom", "margin-left", "width", "height",
        "max-width", "list-style-type",
    }
)  # fmt: skip

_LINK_SCHEMES = ("http:", "https:", "mailto:")
_REMOTE_SCHEMES = ("http:", "https:")
_UNSAFE_STYLE = re.compile(r"url\s*\(|expression\s*\(|\\|@import|javascript:", re.IGNORECASE)

# nh3 serialises every tag canonically: lower-case names, values in double quotes
# with '"' escaped, so this reads every attribute of a sanitised <img> exactly.
_IMG_TAG = re.compile(r'<img((?:\s+[a-z0-9_:.-]+(?:="[^"]*")?)*)\s*/?>')
_ATTR = re.compile(r'\s+([a-z0-9_:.-]+)(?:="([^"]*)")?')


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "href":
        stripped = value.strip()
        if stripped.lower().startswith(_LINK_SCHEMES):
            return stripped
        return None
    if attribute == "src":
        # Decided for good in _rewrite_images; only addresses worth keeping get there.
        stripped = value.strip()
        lowered = stripped.lower()
        if lowered.startswith(_REMOTE_SCHEMES) or lowered.startswith("cid:"):
            return stripped
        return None
    if attribute == "style" and _UNSAFE_STYLE.search(value):
        return None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(_TAGS),
    clean_content_tags=set(_CLEAN_CONTENT_TAGS),
    attributes=_ATTRIBUTES,
    attribute_filter=_filter_attribute,
    strip_comments=True,
    link_rel="noopener noreferrer nofollow",
    set_tag_attribute_values={"a": {"target": "_blank"}},
    url_schemes={"http", "https", "mailto", "cid"},
    url_relative="deny",
    filter_style_properties=set(_STYLE_PROPERTIES),
)


def _rewrite_image(match: re.Match[str]) -> str:
    kept: list[str] = []
    for name, value in _ATTR.findall(match.group(1)):
        if name != "src":
            kept.append(f' {name}="{value}"')
            continue
        address = unescape(value).strip()
        lowered = address.lower()
        if lowered.startswith(_REMOTE_SCHEMES):
            kept.append(f' data-remote-src="{escape(address, quote=True)}"')
        elif lowered.startswith("cid:") and address[4:].strip():
            kept.append(f' data-cid="{escape(address[4:].strip(" <>"), quote=True)}"')
        # Anything else (data:, relative, unknown schemes) is dropped.
    return "<img" + "".join(kept) + ">"


def sanitize_email_html(html: str) -> str:
    """Return ``html`` reduced to safe formatting that loads nothing by itself.

    Scripts, styles, forms, frames and event handlers go; links keep http(s)
    and mailto addresses only, open in a new tab and carry
    ``rel="noopener noreferrer nofollow"``. An ``<img>`` never keeps a ``src``:
    an http(s) address moves to ``data-remote-src`` (loaded when the reader
    clicks), a ``cid:`` reference to ``data-cid``, and anything else is dropped.
    """
    if not html:
        return ""
    cleaned = _CLEANER.clean(html.replace("\x00", ""))
    return _IMG_TAG.sub(_rewrite_image, cleaned)


_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "center", "dd", "div", "dl",
        "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
        "h5", "h6", "header", "hr", "html", "li", "main", "nav", "ol", "p", "pre",
        "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "noscript", "template"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class _TextRenderer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skipping = 0
        self.preformatted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping += 1
        elif tag == "br":
            self.chunks.append("\n")
        elif tag in ("td", "th"):
            self.chunks.append(" ")  # cells read better on one line with their row
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")
            if tag == "li":
                self.chunks.append("- ")
            elif tag == "pre":
                self.preformatted += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIPPED_TAGS:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS and tag not in ("td", "th", "li", "tr"):
            self.chunks.append("\n")
            if tag == "pre":
                self.preformatted = max(0, self.preformatted - 1)

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.preformatted:
            self.chunks.append(data.replace("\n", "\x00"))  # protected from collapsing
        else:
            self.chunks.append(data.replace("\n", " "))


def html_to_text(html: str) -> str:
    """Render ``html`` as plain text for a message that came only as HTML.

    Block elements start new lines, ``<br>`` breaks a line, list items get a
    dash, scripts and styles are skipped, entities are decoded and runs of
    spaces collapse (except inside ``<pre>``). At most one blank line in a row.
    """
    if not html:
        return ""
    renderer = _TextRenderer()
    try:
        renderer.feed(html.replace("\x00", ""))
        renderer.close()
    except Exception:  # noqa: S110 - html.parser is lenient; keep what was read so far
        pass
    lines: list[str] = []
    for line in "".join(renderer.chunks).split("\n"):
        if "\x00" in line:
            lines.extend(part.rstrip() for part in line.split("\x00"))
        else:
            lines.append(_SPACES.sub(" ", line).strip())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
