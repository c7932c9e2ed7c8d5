# Placeholder in the migration chain; merged into one migration before landing.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial")]

    operations: list[migrations.operations.base.Operation] = []
