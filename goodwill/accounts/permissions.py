"""Who may use the staff interface, and the checks views share.

Object-level checks live beside each object type (``get_partner_for_user`` in
``goodwill.partners.permissions``); this module holds the role-level ones.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from goodwill.accounts.roles import Role

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from goodwill.accounts.models import User

    class AuthenticatedHttpRequest(HttpRequest):
        user: User
        htmx: HtmxDetails
else:
    AuthenticatedHttpRequest = HttpRequest

P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponseBase)
STAFF_PERMISSION = "accounts.access_staff_ui"


def is_portal_user(user: Any) -> bool:
    return bool(
        user.is_authenticated
        and not user.is_superuser
        and any(g.name == Role.PORTAL for g in _groups(user))
    )


def _groups(user: Any) -> list[Any]:
    cache = getattr(user, "_goodwill_groups", None)
    if cache is None:
        cache = list(user.groups.all())
        user._goodwill_groups = cache
    return cache


def is_administrator(user: Any) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or any(g.name == Role.ADMINISTRATOR for g in _groups(user)))
    )


def can_use_staff_ui(user: Any) -> bool:
    """Staff roles may; portal users and users without a role may not."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.has_perm(STAFF_PERMISSION) and not is_portal_user(user)


def require_perm(user: Any, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied("You do not have permission to do this.")


def staff_required(
    view: Callable[Concatenate[AuthenticatedHttpRequest, P], R],
) -> Callable[Concatenate[HttpRequest, P], R]:
    """Log in first; then only users with a staff role get through (403 otherwise)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> R:
        if not can_use_staff_ui(request.user):
            raise PermissionDenied("Your account has no access to the staff interface.")
        return view(request, *args, **kwargs)  # type: ignore[arg-type]

    return wrapper
