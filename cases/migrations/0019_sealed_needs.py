"""Seal a person's specific needs; the reason for an erasure becomes a code and a note sealed
with the office's key; what an erasure now clears is cleared for the people erased before.

Live and history rows alike, in batches (cases/migrating.py). Needs the key file when
there are people to migrate.
"""

from django.db import migrations, models

import cases.crypto.fields
from cases import migrating
from cases.crypto import datakeys
from cases.crypto.fields import EncryptedJSONField, EncryptedTextField

NEEDS_PAD = 64
ERASURE_CODES = [("request", "Request of the person concerned"), ("court_order", "Court order"),
                 ("retention", "Retention period ended"),
                 ("mistake", "Registered by mistake or twice"), ("other", "Other")]
ERASED = {"sex": "unknown", "birth_year": None, "nationalities": [], "languages": [],
          "fingerprint": ""}


def _needs() -> list[migrating.Sealing]:
    field = EncryptedJSONField(pad=NEEDS_PAD).bind("cases_person", "specific_needs")
    return [migrating.Sealing("specific_needs", "specific_needs_sealed", field, empty=[])]


def _note() -> EncryptedTextField:
    field = EncryptedTextField(subject="erasure_key").bind("cases_person", "erasure_note")
    assert isinstance(field, EncryptedTextField)
    return field


def _tables(apps):
    return ((apps.get_model("cases", "Person"), "id"),
            (apps.get_model("cases", "HistoricalPerson"), "history_id"))


def forwards(apps, schema_editor):
    from cases.keystore import ensure_office_key

    data_key = apps.get_model("cases", "DataKey")
    note = _note()
    for model, key in _tables(apps):
        migrating.seal(schema_editor, model, data_key, key=key, subject="id", columns=_needs(),
                       erased=lambda row: dict(ERASED))
        for rows in migrating.pages(model, key, ["id", "office_id", "erasure_reason"],
                                    using=schema_editor.connection.alias, erasure_reason__gt=""):
            out = []
            with datakeys.key_scope():
                for r in rows:
                    subject = ensure_office_key(r["office_id"])
                    out.append((r[key], {
                        "erasure_code": "other", "erasure_key": subject,
                        "erasure_note": note.seal_value(r["erasure_reason"].strip(), row_id=r["id"],
                                                        subject_id=subject)}))
            migrating.update(schema_editor, model, key, out)
    # The countries of an erased person's documents, as an erasure now clears them.
    alias = schema_editor.connection.alias
    erased = apps.get_model("cases", "Person").objects.using(alias).filter(erased_at__isnull=False)
    for name in ("IdentityDocument", "HistoricalIdentityDocument"):
        (apps.get_model("cases", name).objects.using(alias)
         .filter(person_id__in=erased.values("id")).update(issuing_country=""))
    migrating.settle(schema_editor)


def backwards(apps, schema_editor):
    note = _note()
    for model, key in _tables(apps):
        migrating.unseal(schema_editor, model, key=key, subject="id", columns=_needs())
        for rows in migrating.pages(model, key, ["id", "erasure_key", "erasure_note", "erasure_code"],
                                    using=schema_editor.connection.alias, erasure_code__gt=""):
            out = []
            with datakeys.key_scope():
                for r in rows:
                    text = ""
                    if r["erasure_note"] is not None:
                        text = note.open_value(bytes(r["erasure_note"]), row_id=r["id"],
                                               subject_id=r["erasure_key"]) or ""
                    out.append((r[key], {"erasure_reason": (text or r["erasure_code"])[:500]}))
            migrating.update(schema_editor, model, key, out)
    migrating.settle(schema_editor)


def _both(operation, **kwargs):
    return [operation(model_name=m, **kwargs) for m in ("person", "historicalperson")]


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0018_two_factor"),
    ]

    operations = [
        *_both(migrations.AddField, name="specific_needs_sealed",
               field=cases.crypto.fields.EncryptedJSONField(blank=True, null=True, pad=NEEDS_PAD,
                                                            verbose_name="specific needs")),
        *_both(migrations.AddField, name="erasure_code",
               field=models.CharField(blank=True, choices=ERASURE_CODES, max_length=20,
                                      verbose_name="reason for the erasure")),
        *_both(migrations.AddField, name="erasure_key",
               field=models.UUIDField(blank=True, editable=False, null=True)),
        *_both(migrations.AddField, name="erasure_note",
               field=cases.crypto.fields.EncryptedTextField(blank=True, null=True,
                                                            subject="erasure_key",
                                                            verbose_name="note on the erasure")),
        migrations.RunPython(forwards, backwards),
        *_both(migrations.RemoveField, name="specific_needs"),
        *_both(migrations.RemoveField, name="erasure_reason"),
        *_both(migrations.RenameField, old_name="specific_needs_sealed", new_name="specific_needs"),
    ]
