"""Index entries take their person's office again where an accepted transfer moved the person
and left the entries behind (a search walks the entries of the user's offices)."""

from django.db import migrations
from django.db.models import F, OuterRef, Subquery


def follow(apps, schema_editor):
    db = schema_editor.connection.alias  # the migrating connection (the owner's), not the app's
    Person = apps.get_model("cases", "Person")
    PersonIndex = apps.get_model("cases", "PersonIndex")
    office = Person.objects.using(db).filter(pk=OuterRef("person_id")).values("office_id")[:1]
    (PersonIndex.objects.using(db).exclude(office_id=F("person__office_id"))
     .update(office_id=Subquery(office)))


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0048_staff_sessions"),
    ]

    operations = [
        migrations.RunPython(follow, migrations.RunPython.noop),
    ]
