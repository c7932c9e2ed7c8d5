"""Reads about users that several apps share."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from goodwill.accounts.models import User
from goodwill.accounts.roles import STAFF_ROLES


def staff_users(*, also: list[int] | None = None) -> QuerySet[User]:
    """Active users who may work in the staff interface (a staff role, or a
    superuser), plus the ids in *also* (someone already chosen), by name: the
    choices for responsible, technician, members and watchers."""
    condition = Q(is_active=True) & (
        Q(is_superuser=True) | Q(groups__name__in=[role.value for role in STAFF_ROLES])
    )
    if also:
        condition |= Q(pk__in=also)
    return User.objects.filter(condition).distinct().order_by("first_name", "last_name", "username")
