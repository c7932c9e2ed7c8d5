"""Trigram index for substring search on PostgreSQL.

``search_text`` holds the folded name, emails, phone digits, VAT and cities;
``LIKE '%term%'`` on it uses this GIN index. SQLite has no equivalent and scans,
which is fine at the sizes SQLite is meant for.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS partner_search_trgm "
        "ON partners_partner USING gin (search_text gin_trgm_ops)"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS partner_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("partners", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
