from django.db import migrations


def forwards(apps, schema_editor):
    # System administrators configure offices in the administration site, which needs is_staff.
    User = apps.get_model("cases", "User")
    db = schema_editor.connection.alias  # the owner's alias under `migrate --database owner`
    User.objects.using(db).filter(memberships__role="system_admin").update(is_staff=True)


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0010_user_must_change_password"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
