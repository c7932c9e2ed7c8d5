"""Text folding for search and duplicate detection."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)

# Legal-form suffixes ignored when comparing company names ("ACME GmbH" = "Acme").
LEGAL_FORMS = frozenset(
    {
        "ab", "ag", "as", "asa", "bv", "co", "company", "corp", "corporation", "gmbh",
        "gbr", "inc", "incorporated", "kg", "kk", "limited", "llc", "llp", "lp", "ltd",
        "ltda", "nv", "oy", "oyj", "plc", "pty", "sa", "sab", "sae", "sarl", "sas", "sl",
        "spa", "sp", "srl", "zoo",
    }
)  # fmt: skip

_SPECIAL_FOLDS = str.maketrans(
    {
        "ß": "ss", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "ł": "l", "Ł": "l",
        "đ": "d", "Đ": "d", "œ": "oe", "Œ": "oe", "þ": "th",
    }
)  # fmt: skip


def _fold_once(value: str) -> str:
    # NUL cannot be stored or searched in PostgreSQL text; it never means anything.
    decomposed = unicodedata.normalize("NFKD", value.replace("\x00", "").casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.translate(_SPECIAL_FOLDS)).strip()


def fold(value: str) -> str:
    """Lower-case, strip accents and squeeze spaces: "  Zoë  MÜLLER " -> "zoe muller".

    Stored text and search terms go through the same function, so a search for
    "muller" finds "Müller". Repeated until stable (a few characters, such as "Þ",
    only fold fully on a second pass).
    """
    result = _fold_once(value)
    for _ in range(3):
        again = _fold_once(result)
        if again == result:
            break
        result = again
    return result


def name_key(name: str) -> str:
    """The key two partner names share when they are probably the same partner.

    Folded, without punctuation or legal-form suffixes, words in their order:
    "ACME Ltd." and "Acme, LTD" both give "acme".
    """
    words = _PUNCT.sub(" ", fold(name)).split()
    kept = [w for w in words if w not in LEGAL_FORMS]
    return " ".join(kept or words)
