"""Index entries take their person's office again where an accepted transfer moved the person
and left the entries behind (a search walks the entries of the user's offices)."""

from django.db import migrations
from django.db.models import F, OuterRef, Subquery


def follow(apps, schema_editor):
    Person = apps.get_model("cases", "Person")
    PersonIndex = apps.get_model("cases", "PersonIndex")
    office = Person.objects.filter(pk=OuterRef("person_id")).values("office_id")[:1]
    PersonIndex.objects.exclude(office_id=F("person__office_id")).update(office_id=Subquery(office))


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0048_staff_sessions"),
    ]

    operations = [
        migrations.RunPython(follow, migrations.RunPython.noop),
    ]
