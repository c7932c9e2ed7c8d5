"""Changes to user accounts and their roles."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from goodwill.accounts.models import User
from goodwill.accounts.roles import Role, roles_sync
from goodwill.lib import events
from goodwill.lib.emailaddr import email_normalise


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    roles: Iterable[Role] = (),
) -> User:
    """Create an account with the given roles. ``password=None`` makes it unusable
    until the person sets one through "forgot your password"."""
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": "Choose a username."})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": f"The username {username} is taken."})
    address = email_normalise(email) if email else ""
    if address and User.objects.filter(email__iexact=address).exists():
        raise ValidationError({"email": f"Another user already has {address}."})
    user = User(username=username, email=address, first_name=first_name, last_name=last_name)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save()
    user_set_roles(user=user, roles=roles)
    events.emit("user.created", user_id=user.pk)
    return user


@transaction.atomic
def user_set_roles(*, user: User, roles: Iterable[Role]) -> User:
    """Give *user* exactly these roles. Administrators also get the admin site."""
    wanted = {Role(r) for r in roles}
    groups = {g.name: g for g in Group.objects.filter(name__in=[r.value for r in Role])}
    if len(groups) < len(Role):
        groups = {role.value: group for role, group in roles_sync().items()}
    user.groups.remove(*[groups[r.value] for r in Role if r not in wanted])
    user.groups.add(*[groups[r.value] for r in wanted])
    user.is_staff = Role.ADMINISTRATOR in wanted
    user.save(update_fields=["is_staff"])
    if hasattr(user, "_goodwill_groups"):
        del user._goodwill_groups
    for cache in ("_perm_cache", "_group_perm_cache", "_user_perm_cache"):
        if hasattr(user, cache):
            delattr(user, cache)
    events.emit("user.roles_changed", user_id=user.pk, roles=sorted(r.value for r in wanted))
    return user
