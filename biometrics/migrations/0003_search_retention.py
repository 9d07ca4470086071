from django.db import migrations

# Report-only, like the rules of cases/0024: an administrator turns it on
# (docs/architecture.md#retention).
DEFAULTS = [
    ("biometrics.search", 1, 0, 0, "delete"),
]


def seed(apps, schema_editor):
    rule = apps.get_model("cases", "RetentionRule")
    alias = schema_editor.connection.alias
    for record_type, years, months, days, action in DEFAULTS:
        rule.objects.using(alias).get_or_create(
            record_type=record_type, office=None,
            defaults={"years": years, "months": months, "days": days, "action": action,
                      "enabled": True, "destructive": False})


class Migration(migrations.Migration):

    dependencies = [
        ("biometrics", "0002_fingerprint_search"),
        ("cases", "0024_retention"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
