from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from goodwill.accounts.permissions import can_use_staff_ui


class IsStaffRole(BasePermission):
    """The API is for staff roles; portal users and users without a role are refused."""

    message = "Your account has no access to the staff API."

    def has_permission(self, request: Any, view: Any) -> bool:
        return can_use_staff_ui(request.user)
