"""The summary table gains a row per case heard (its first attended interview) and per
first-instance decision delivered, with the days since the application: the processing-time
indicators read one table. The table is rebuilt by the latest migration of the table
(0004)."""

from django.db import migrations


def rebuild(apps, schema_editor):
    """Moved to 0004: the rebuild runs the live code, which writes the rows of kinds this
    migration does not know yet."""


class Migration(migrations.Migration):

    dependencies = [
        ("stats", "0002_fact_priority"),
    ]

    operations = [
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]
