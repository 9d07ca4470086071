import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_from_cases(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    CaseDeadline = apps.get_model("cases", "CaseDeadline")
    case = Case.objects.filter(pk=OuterRef("case_id"))
    CaseDeadline.objects.using(schema_editor.connection.alias).update(
        office_id=Subquery(case.values("office_id")[:1]),
        assigned_to_id=Subquery(case.values("assigned_to_id")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0012_possible_duplicates"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="casedeadline",
            name="office",
            field=models.ForeignKey(db_index=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to="cases.office"),
        ),
        migrations.AddField(
            model_name="casedeadline",
            name="assigned_to",
            field=models.ForeignKey(blank=True, db_index=False, null=True,
                                    on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(copy_from_cases, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="casedeadline",
            name="office",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to="cases.office"),
        ),
        migrations.AddIndex(
            model_name="casedeadline",
            index=models.Index(condition=models.Q(("met_at__isnull", True)),
                               fields=["assigned_to", "due_on"], name="open_deadline_assignee"),
        ),
        migrations.AddIndex(
            model_name="casedeadline",
            index=models.Index(condition=models.Q(("met_at__isnull", True)),
                               fields=["office", "due_on"], name="open_deadline_office"),
        ),
    ]
