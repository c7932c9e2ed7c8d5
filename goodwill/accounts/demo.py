"""Demo accounts, one per role, all with the same well-known password."""

from __future__ import annotations

from goodwill.accounts.models import User
from goodwill.accounts.roles import Role
from goodwill.accounts.services import user_create

DEMO_PASSWORD = "goodwill-demo"  # noqa: S105 - printed on screen; demo data only

DEMO_USERS = [
    ("alice", "Alice", "Andersen", [Role.ADMINISTRATOR], "administrator"),
    ("maria", "María", "García", [Role.MANAGER], "manager"),
    ("bob", "Bob", "Brown", [Role.AGENT], "agent"),
    ("chen", "Chen", "Wei", [Role.AGENT], "agent"),
    ("charlie", "Charlie", "Clarke", [], "no role: sees nothing"),
    ("paula", "Paula", "Portal", [Role.PORTAL], "portal user: refused in the staff UI"),
]


def demo_users_load() -> dict[str, User]:
    """Create the demo accounts that are missing; return all of them by username."""
    users: dict[str, User] = {}
    for username, first, last, roles, _ in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(
                username=username,
                password=DEMO_PASSWORD,
                email=f"{username}@demo.goodwill.example",
                first_name=first,
                last_name=last,
                roles=roles,
            )
        users[username] = user
    return users
