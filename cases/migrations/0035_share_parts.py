"""Shares open parts of a case and may end by themselves: the shares made before open every part,
as they did, and do not end."""

from django.db import migrations, models

from cases.migrating import settle

PARTS = ["view_case_procedure", "view_case_records", "view_case_notes", "view_case_documents"]


def open_every_part(apps, schema_editor):
    alias = schema_editor.connection.alias
    grant = apps.get_model("cases", "CaseUserObjectPermission")
    shares = list(grant.objects.using(alias).filter(permission__codename="view_case"))
    if not shares:
        return
    content_type = apps.get_model("contenttypes", "ContentType").objects.db_manager(
        alias).get_for_model(apps.get_model("cases", "Case"))
    permission = apps.get_model("auth", "Permission")
    parts = [permission.objects.using(alias).get_or_create(
        content_type=content_type, codename=codename, defaults={"name": codename})[0]
        for codename in PARTS]
    grant.objects.using(alias).bulk_create(
        [grant(user_id=s.user_id, content_object_id=s.content_object_id, permission=p,
               principal_key=s.principal_key) for s in shares for p in parts],
        ignore_conflicts=True)
    settle(schema_editor)  # the new column's index is created after this, at the end


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0034_consent'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('auth', '0012_alter_user_first_name_max_length'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='case',
            options={'ordering': ['-opened_at'], 'permissions': [('view_case_procedure', 'See the procedure, its steps and decisions'), ('view_case_records', 'See the claim narrative and interview records'), ('view_case_notes', 'See the case notes'), ('view_case_documents', 'See the case documents')], 'verbose_name': 'case', 'verbose_name_plural': 'cases'},
        ),
        migrations.AddField(
            model_name='caseuserobjectpermission',
            name='expires_at',
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
        migrations.AddField(
            model_name='historicalcaseuserobjectpermission',
            name='expires_at',
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
        migrations.RunPython(open_every_part, migrations.RunPython.noop),
    ]
