from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from goodwill.accounts.permissions import can_use_staff_ui

if TYPE_CHECKING:
    from goodwill.accounts.models import User


class IsStaffRole(BasePermission):
    """The API is for staff roles; portal users and users without a role are refused."""

    message = "Your account has no access to the staff API."

    def has_permission(self, request: Any, view: Any) -> bool:
        return can_use_staff_ui(request.user)


def staff_user(request: Request) -> User:
    """The user of a request that ``IsStaffRole`` let through: a real, active staff user."""
    return cast("User", request.user)
