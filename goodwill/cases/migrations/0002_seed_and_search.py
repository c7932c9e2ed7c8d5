"""PostgreSQL extras (a trigram index for case search, a sequence for case
numbers) and the seeded case types.

Case numbers come from ``cases_case_number_seq`` on PostgreSQL: concurrent
creations never wait on each other, and a rolled-back creation leaves a gap
(numbers are unique, not contiguous). SQLite serialises writers, so it uses
the one-row ``CaseNumber`` counter instead.
"""

from django.db import migrations

CASE_TYPES = [
    # code, name, field groups, billable, final close
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


def seed(apps, schema_editor):
    CaseType = apps.get_model("cases", "CaseType")
    for sequence, (code, name, groups, billable, final) in enumerate(CASE_TYPES, start=1):
        CaseType.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "field_groups": groups,
                "billable": billable,
                "final_close": final,
                "sequence": sequence * 10,
            },
        )
    CaseNumber = apps.get_model("cases", "CaseNumber")
    CaseNumber.objects.get_or_create(pk=1, defaults={"value": 1000})
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS case_search_trgm "
            "ON cases_case USING gin (search_text gin_trgm_ops)"
        )
        schema_editor.execute("CREATE SEQUENCE IF NOT EXISTS cases_case_number_seq START 1001")


def unseed(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS case_search_trgm")
        schema_editor.execute("DROP SEQUENCE IF EXISTS cases_case_number_seq")


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed, elidable=False)]
