"""Object-level access to partners: the one place views and the API ask."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from goodwill.accounts.permissions import can_use_staff_ui, is_administrator
from goodwill.partners.models import Membership, Partner, PartnerExport

PARTNER_ACTIONS = {
    "view": "partners.view_partner",
    "change": "partners.change_partner",
    "note": "partners.add_timelineentry",
    "archive": "partners.archive_partner",
    "merge": "partners.merge_partner",
    "export": "partners.export_partner",
    "create": "partners.add_partner",
}


def can_partner(user: Any, action: str) -> bool:
    """Whether *user* may do *action* on partners at all (role level)."""
    return can_use_staff_ui(user) and user.has_perm(PARTNER_ACTIONS[action])


def check_partner_action(user: Any, action: str) -> None:
    if not can_use_staff_ui(user):
        raise PermissionDenied("Your account has no access to the staff interface.")
    if not user.has_perm(PARTNER_ACTIONS[action]):
        raise PermissionDenied("Your role does not allow this on partners.")


def get_partner_for_user(
    user: Any, pk: int, *, action: str = "view", queryset: QuerySet[Partner] | None = None
) -> Partner:
    """The partner *pk* if *user* may *action* it: 403 if not allowed, 404 if missing.

    The permission is checked before the lookup, so an outsider cannot probe
    which ids exist.
    """
    check_partner_action(user, action)
    try:
        return (queryset if queryset is not None else Partner.objects.all()).get(pk=pk)
    except Partner.DoesNotExist:
        raise Http404("No such partner.") from None


def get_membership_for_user(user: Any, pk: int) -> Membership:
    check_partner_action(user, "change")
    try:
        return Membership.objects.select_related("person", "company").get(pk=pk)
    except Membership.DoesNotExist:
        raise Http404("No such contact link.") from None


def get_export_for_user(user: Any, pk: int) -> PartnerExport:
    """Exports are private to whoever asked for them (and visible to administrators)."""
    check_partner_action(user, "export")
    try:
        export = PartnerExport.objects.get(pk=pk)
    except PartnerExport.DoesNotExist:
        raise Http404("No such export.") from None
    if export.created_by_id != user.pk and not is_administrator(user):
        raise Http404("No such export.")
    return export
