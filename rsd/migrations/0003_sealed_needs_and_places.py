"""Seal the specific needs and the place of entry of applications and the place of
interviews with the applicant's key; for people erased before, clear what an erasure now
clears (date of arrival, interpreter languages, preferred interviewer).

Live and history rows alike, in batches (cases/migrating.py). Needs the key file when
there are rows to migrate.
"""

from django.db import migrations, models

import cases.crypto.fields
from cases import migrating
from cases.crypto.fields import EncryptedJSONField, EncryptedTextField

NEEDS_PAD = 64
APPLICATION_ERASED = {"arrival_date": None, "interpreter_language": "", "interviewer_gender": "any"}
INTERVIEW_ERASED = {"interpreter_language": ""}


def _application() -> list[migrating.Sealing]:
    return [
        migrating.Sealing("specific_needs", "specific_needs_sealed",
                          EncryptedJSONField(pad=NEEDS_PAD).bind("rsd_application", "specific_needs"),
                          empty=[]),
        migrating.Sealing("place_of_entry", "place_of_entry_sealed",
                          EncryptedTextField().bind("rsd_application", "place_of_entry"), empty=""),
    ]


def _interview() -> list[migrating.Sealing]:
    # A place that cannot be opened any more (the person was erased) is left empty.
    return [migrating.Sealing("place", "place_sealed",
                              EncryptedTextField().bind("rsd_interview", "place"), empty="")]


def _tables(apps):
    return [(apps.get_model("rsd", live), apps.get_model("rsd", f"Historical{live}"), columns, erased)
            for live, columns, erased in (("Application", _application(), APPLICATION_ERASED),
                                          ("Interview", _interview(), INTERVIEW_ERASED))]


def forwards(apps, schema_editor):
    data_key = apps.get_model("cases", "DataKey")
    for live, history, columns, erased in _tables(apps):
        for model, key in ((live, "id"), (history, "history_id")):
            migrating.seal(schema_editor, model, data_key, key=key, subject="person_id",
                           columns=columns, erased=lambda row, erased=erased: dict(erased))
    migrating.settle(schema_editor)


def backwards(apps, schema_editor):
    for live, history, columns, _erased in _tables(apps):
        for model, key in ((live, "id"), (history, "history_id")):
            migrating.unseal(schema_editor, model, key=key, subject="person_id", columns=columns)
    migrating.settle(schema_editor)


def _sealed_text(name):
    return cases.crypto.fields.EncryptedTextField(blank=True, null=True, subject="person_id",
                                                  verbose_name=name)


class Migration(migrations.Migration):

    dependencies = [
        ("rsd", "0002_priority_index"),
    ]

    operations = [
        *(migrations.AddField(model_name=m, name="specific_needs_sealed",
                              field=cases.crypto.fields.EncryptedJSONField(
                                  blank=True, null=True, pad=NEEDS_PAD, subject="person_id",
                                  verbose_name="specific needs"))
          for m in ("application", "historicalapplication")),
        *(migrations.AddField(model_name=m, name="place_of_entry_sealed",
                              field=_sealed_text("place of entry"))
          for m in ("application", "historicalapplication")),
        *(migrations.AddField(model_name=m, name="place_sealed", field=_sealed_text("place"))
          for m in ("interview", "historicalinterview")),
        migrations.RunPython(forwards, backwards),
        # A default for the way back: the column is added again before it is filled.
        *(migrations.AlterField(model_name=m, name="place",
                                field=models.CharField(default="", max_length=120, verbose_name="place"))
          for m in ("interview", "historicalinterview")),
        *(migrations.RemoveField(model_name=m, name=f)
          for m, f in (("application", "specific_needs"), ("historicalapplication", "specific_needs"),
                       ("application", "place_of_entry"), ("historicalapplication", "place_of_entry"),
                       ("interview", "place"), ("historicalinterview", "place"))),
        *(migrations.RenameField(model_name=m, old_name=f"{f}_sealed", new_name=f)
          for m, f in (("application", "specific_needs"), ("historicalapplication", "specific_needs"),
                       ("application", "place_of_entry"), ("historicalapplication", "place_of_entry"),
                       ("interview", "place"), ("historicalinterview", "place"))),
    ]
