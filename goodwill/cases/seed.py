"""The case types every installation starts with (seeded by migration 0002).

``case_types_ensure`` puts back any that are missing; tests that empty the
database between runs (browser tests) call it, and so can an administrator
who deleted one by mistake (``goodwill shell -c``).
"""

from __future__ import annotations

from typing import Any

# code, name, field groups, billable, final close
CASE_TYPES: list[tuple[str, str, list[str], bool, bool]] = [
    ("helpdesk", "Helpdesk request", [], False, False),
    ("claim", "Claim", ["claim"], False, True),
    ("lead", "Lead", [], False, False),
    ("opportunity", "Opportunity", ["opportunity"], True, False),
    ("bug", "Bug", [], False, False),
    ("service", "Service request", ["service"], True, False),
    ("expense", "Expense claim", ["expense"], False, True),
    ("call", "Phone call", ["meeting"], False, False),
    ("meeting", "Meeting", ["meeting"], False, False),
]


def case_types_ensure(case_type_model: Any = None) -> int:
    """Create the seeded case types that do not exist; returns how many were created."""
    if case_type_model is None:
        from goodwill.cases.models import CaseType

        case_type_model = CaseType
    created = 0
    for sequence, (code, name, groups, billable, final) in enumerate(CASE_TYPES, start=1):
        _, was_created = case_type_model.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "field_groups": groups,
                "billable": billable,
                "final_close": final,
                "sequence": sequence * 10,
            },
        )
        created += was_created
    return created
