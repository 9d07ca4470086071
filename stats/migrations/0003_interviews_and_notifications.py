"""The summary table gains a row per case heard (its first attended interview) and per
first-instance decision delivered, with the days since the application: the processing-time
indicators read one table. The table is rebuilt here."""

from django.db import migrations


def rebuild(apps, schema_editor):
    """Every case's rows again, with the live code: a later migration that changes the table
    moves this rebuild to itself."""
    if schema_editor.connection.alias != "default":
        return
    from stats import facts

    facts.refresh_all()


class Migration(migrations.Migration):

    dependencies = [
        ("stats", "0002_fact_priority"),
    ]

    operations = [
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]
