"""The application rows of the summary table carry the priority flag (children, specific
needs) so that the indicator of children and priority applications reads one table; the
table is rebuilt here."""

from django.db import migrations, models


def fill(apps, schema_editor):
    """Every case's rows again, with the live code (the table was new in 0001, or lacks the
    flag): a later migration that changes the table moves this rebuild to itself."""
    if schema_editor.connection.alias != "default":
        return
    from stats import facts

    facts.refresh_all()


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
