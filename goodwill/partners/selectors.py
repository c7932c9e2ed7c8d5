"""Reads of partners that views, the API and exports share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from goodwill.lib.emailaddr import email_normalise
from goodwill.lib.pagination import Page, keyset_page
from goodwill.lib.phones import phone_normalise, phone_query_digits
from goodwill.lib.text import fold, name_key
from goodwill.partners.models import (
    Category,
    Membership,
    Partner,
    PartnerEmail,
    PartnerPhone,
    TimelineEntry,
)

PAGE_SIZE = 50
TIMELINE_PAGE_SIZE = 30

ROLE_FIELDS = {
    "customer": "is_customer",
    "supplier": "is_supplier",
    "employee": "is_employee",
    "prospect": "is_prospect",
}
SORTS = {
    "name": "name",
    "-name": "-name",
    "created": "created_at",
    "-created": "-created_at",
    "updated": "updated_at",
    "-updated": "-updated_at",
}
STATUSES = ("active", "archived", "all")


@dataclass(frozen=True)
class PartnerFilters:
    """What a partner list shows: the same object drives the page, the API and exports."""

    q: str = ""
    kind: str = ""
    role: str = ""
    category: int | None = None
    country: str = ""
    status: str = "active"
    sort: str = "name"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PartnerFilters:
        """Build from already-validated values (a form's cleaned_data or a stored export)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known and v not in (None, "")}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "")}

    @property
    def is_default(self) -> bool:
        return self == PartnerFilters(sort=self.sort)


def category_descendants(category_id: int) -> list[int]:
    """The category and everything below it (categories are few: one query)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Category.objects.values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    found, stack = [], [category_id]
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(children.get(node, []))
    return found


def category_paths() -> dict[int, str]:
    """Each category's full path, "Industry / Manufacturing / Automotive"."""
    rows = {
        pk: (name, parent)
        for pk, name, parent in Category.objects.values_list("pk", "name", "parent_id")
    }
    paths: dict[int, str] = {}

    def path(pk: int, depth: int = 0) -> str:
        if pk in paths:
            return paths[pk]
        name, parent = rows[pk]
        result = f"{path(parent, depth + 1)} / {name}" if parent and depth < 20 else name
        paths[pk] = result
        return result

    for pk in rows:
        path(pk)
    return paths


def category_choices(paths: dict[int, str] | None = None) -> list[tuple[int, str]]:
    """(id, path) pairs in alphabetical order, from *paths* if already read."""
    paths = category_paths() if paths is None else paths
    return sorted(paths.items(), key=lambda item: item[1].casefold())


def partner_queryset(filters: PartnerFilters) -> QuerySet[Partner]:
    """Partners matching *filters*, unordered and unpaginated."""
    queryset = Partner.objects.all()
    if filters.status == "active":
        queryset = queryset.filter(active=True)
    elif filters.status == "archived":
        queryset = queryset.filter(active=False)
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.role in ROLE_FIELDS:
        queryset = queryset.filter(**{ROLE_FIELDS[filters.role]: True})
    if filters.country:
        queryset = queryset.filter(country=filters.country)
    if filters.category:
        through = Partner.categories.through
        queryset = queryset.filter(
            Exists(
                through.objects.filter(
                    partner_id=OuterRef("pk"),
                    category_id__in=category_descendants(filters.category),
                )
            )
        )
    for term in search_terms(filters.q):
        queryset = queryset.filter(search_text__contains=term)
    return queryset


def search_terms(q: str) -> list[str]:
    """The substrings a search must all find: folded words, or a phone number's digits."""
    q = (q or "").strip()
    if not q:
        return []
    digits = phone_query_digits(q)
    if digits:
        return [digits]
    return [word for word in fold(q).split() if word][:6]


def partner_list_page(*, filters: PartnerFilters, cursor: str | None) -> Page[Partner]:
    """One page of the partner list. Raises ``BadCursor`` for a tampered cursor."""
    queryset = partner_queryset(filters).prefetch_related(
        Prefetch("categories", queryset=Category.objects.only("id", "name"))
    )
    return keyset_page(queryset, sort=SORTS[filters.sort], cursor=cursor, limit=PAGE_SIZE)


def partner_detail_queryset() -> QuerySet[Partner]:
    """Partners with everything their page shows, in a fixed number of queries."""
    return Partner.objects.select_related("parent", "created_by", "merged_into").prefetch_related(
        "emails",
        "phones",
        "addresses",
        "categories",
        Prefetch(
            "memberships",
            queryset=Membership.objects.select_related("company").order_by("company__name"),
        ),
        Prefetch(
            "members",
            queryset=Membership.objects.select_related("person").order_by("person__name"),
        ),
        Prefetch("subsidiaries", queryset=Partner.objects.order_by("name")),
    )


# Apps whose records write to a partner's timeline (cases, later documents)
# register, in their AppConfig.ready:
# - a filter that hides the entries *user* may not see on the partner page;
# - a linker that, given a page of entries, sets ``entry.subject_link`` to a
#   (url, label) pair for the entries of their records, in one query.
TimelineFilter = Callable[[Any, QuerySet[TimelineEntry], Partner], QuerySet[TimelineEntry]]
TimelineLinker = Callable[[list[TimelineEntry]], None]
TIMELINE_FILTERS: list[TimelineFilter] = []
TIMELINE_LINKERS: list[TimelineLinker] = []


def partner_timeline_page(
    *, partner: Partner, cursor: str | None, user: Any = None
) -> Page[TimelineEntry]:
    """The partner's own entries and those of its cases (and later documents),
    without what *user* may not see."""
    queryset = TimelineEntry.objects.filter(partner=partner).select_related("author")
    for hide in TIMELINE_FILTERS:
        queryset = hide(user, queryset, partner)
    page = keyset_page(queryset, sort="-created_at", cursor=cursor, limit=TIMELINE_PAGE_SIZE)
    for link in TIMELINE_LINKERS:
        link(page.items)
    return page


def partner_duplicates(
    *,
    name: str = "",
    emails: list[str] | None = None,
    phones: list[str] | None = None,
    region: str | None = None,
    exclude: int | None = None,
    limit: int = 8,
) -> list[tuple[Partner, list[str]]]:
    """Existing partners that look like the one being entered, with why they match.

    Matches are exact on the normalised key (name without case, accents,
    punctuation or legal form), on any email address, and on any phone number.
    """
    reasons: dict[int, list[str]] = {}
    key = name_key(name) if name and name.strip() else ""
    if len(key) >= 2:
        for pk in Partner.objects.filter(name_key=key).values_list("pk", flat=True)[:limit]:
            reasons.setdefault(pk, []).append("same name")

    addresses = []
    for raw in emails or []:
        try:
            addresses.append(email_normalise(raw))
        except Exception:  # noqa: S112 - half-typed addresses are simply not looked up
            continue
    if addresses:
        for pk, address in PartnerEmail.objects.filter(email__in=addresses).values_list(
            "partner_id", "email"
        )[: limit * 2]:
            reasons.setdefault(pk, []).append(f"email {address}")
        for pk, address in Membership.objects.filter(work_email__in=addresses).values_list(
            "person_id", "work_email"
        )[: limit * 2]:
            reasons.setdefault(pk, []).append(f"work email {address}")

    numbers = []
    for raw in phones or []:
        try:
            numbers.append(phone_normalise(raw, region=region))
        except Exception:  # noqa: S112 - half-typed numbers are simply not looked up
            continue
    if numbers:
        for pk, number in PartnerPhone.objects.filter(number__in=numbers).values_list(
            "partner_id", "number"
        )[: limit * 2]:
            reasons.setdefault(pk, []).append(f"phone {number}")

    if exclude is not None:
        reasons.pop(exclude, None)
    if not reasons:
        return []
    partners = Partner.objects.filter(pk__in=list(reasons), merged_into__isnull=True).order_by(
        "-active", "name"
    )[:limit]
    return [(p, sorted(set(reasons[p.pk]))) for p in partners]


def partner_autocomplete(*, q: str, kind: str = "", limit: int = 20) -> list[Partner]:
    queryset = Partner.objects.filter(active=True)
    if kind:
        queryset = queryset.filter(kind=kind)
    for term in search_terms(q):
        queryset = queryset.filter(search_text__contains=term)
    return list(
        queryset.order_by("name", "pk").only("pk", "name", "kind", "city", "country")[:limit]
    )
