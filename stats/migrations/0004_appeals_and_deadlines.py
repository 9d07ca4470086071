"""The summary table gains a row per appeal lodged and per period of a clock (with the
deadline's own office): the appeals and the legal deadlines are counted from one table, with
the applicant's filters on its own columns. The table is rebuilt here."""

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
        ("stats", "0003_interviews_and_notifications"),
        ("cases", "0042_transfer_notifications"),
        ("rsd", "0003_sealed_needs_and_places"),
        ("tip", "0006_imported_referrals"),
    ]

    operations = [
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]
