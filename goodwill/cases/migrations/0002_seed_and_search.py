"""PostgreSQL extras (a trigram index for case search, a sequence for case
numbers) and the seeded case types.

Case numbers come from ``cases_case_number_seq`` on PostgreSQL: concurrent
creations never wait on each other, and a rolled-back creation leaves a gap
(numbers are unique, not contiguous). SQLite serialises writers, so it uses
the one-row ``CaseNumber`` counter instead.
"""

from django.db import migrations

from goodwill.cases.seed import case_types_ensure


def seed(apps, schema_editor):
    case_types_ensure(apps.get_model("cases", "CaseType"))
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
