"""The application rows of the summary table carry the priority flag (children, specific
needs) so that the indicator of children and priority applications reads one table."""

from django.db import migrations, models


def fill(apps, schema_editor):
    """Nothing: the rows are rebuilt by the latest migration of the table
    (0003_interviews_and_notifications), with the live code, once every column exists."""


class Migration(migrations.Migration):

    dependencies = [
        ("stats", "0001_summary_table"),
        ("rsd", "0003_sealed_needs_and_places"),
    ]

    operations = [
        migrations.AddField(
            model_name="fact",
            name="priority",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
