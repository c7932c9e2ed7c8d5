# Placeholder in the migration chain; merged into one migration before landing.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("sales", "0006_shipments")]

    operations: list[migrations.operations.base.Operation] = []
