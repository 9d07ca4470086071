import django.db.models.deletion
from django.db import migrations, models

# Copies each entry's person's office and registration time into the entry, so that a search
# walks one index range per office (docs/architecture.md#search).
FILL = """
UPDATE cases_personindex SET
    office_id = (SELECT p.office_id FROM cases_person p WHERE p.id = cases_personindex.person_id),
    created_at = (SELECT p.created_at FROM cases_person p WHERE p.id = cases_personindex.person_id)
"""


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0007_open_case_state_index"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="personindex", name="cases_perso_kind_c37968_idx"),
        migrations.AddField(
            model_name="personindex",
            name="office",
            field=models.ForeignKey(
                db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                related_name="+", to="cases.office",
            ),
        ),
        migrations.AddField(
            model_name="personindex",
            name="created_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="personindex",
            name="office",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.PROTECT,
                related_name="+", to="cases.office",
            ),
        ),
        migrations.AlterField(
            model_name="personindex",
            name="created_at",
            field=models.DateTimeField(),
        ),
        migrations.AddIndex(
            model_name="personindex",
            index=models.Index(
                fields=["kind", "value", "office", "-created_at"], include=["person"],
                name="personindex_search",
            ),
        ),
    ]
