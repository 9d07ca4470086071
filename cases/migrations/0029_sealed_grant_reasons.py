"""Seal why a case was shared: the change reason of a grant's history rows, sealed with the
key of the case's principal (docs/architecture.md#registers).

Every grant and history row gets `principal_key` (the case's principal); each clear reason
is sealed under it, in batches (cases/migrating.py). A reason whose principal was erased
(key destroyed), or whose case no longer exists, has no key to be sealed with: it is
cleared. Needs the key file when there are reasons to seal.
"""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery

import cases.crypto.fields
from cases import migrating
from cases.crypto import datakeys
from cases.crypto.fields import EncryptedTextField

HISTORY_TABLE = "cases_historicalcaseuserobjectpermission"


def _field() -> EncryptedTextField:
    field = EncryptedTextField(subject="principal_key").bind(HISTORY_TABLE,
                                                             "history_change_reason")
    assert isinstance(field, EncryptedTextField)
    return field


def forwards(apps, schema_editor):
    alias = schema_editor.connection.alias
    case = apps.get_model("cases", "Case")
    data_key = apps.get_model("cases", "DataKey")
    principal = Subquery(case.objects.using(alias).filter(pk=OuterRef("content_object_id"))
                         .values("principal_id")[:1])
    for name in ("CaseUserObjectPermission", "HistoricalCaseUserObjectPermission"):
        apps.get_model("cases", name).objects.using(alias).update(principal_key=principal)
    history = apps.get_model("cases", "HistoricalCaseUserObjectPermission")
    field = _field()
    for rows in migrating.pages(history, "history_id",
                                ["id", "principal_key", "history_change_reason"], using=alias,
                                history_change_reason__isnull=False):
        subjects = {r["principal_key"] for r in rows} - {None}
        gone = migrating.destroyed(data_key, subjects, using=alias)
        out = []
        with datakeys.key_scope():
            datakeys.preload(list(subjects - gone))
            for r in rows:
                sealed = None
                if r["principal_key"] is not None and r["principal_key"] not in gone:
                    sealed = field.seal_value(r["history_change_reason"], row_id=r["id"],
                                              subject_id=r["principal_key"])
                out.append((r["history_id"], {"history_change_reason_sealed": sealed,
                                              "history_change_reason": None}))
        migrating.update(schema_editor, history, "history_id", out)
    migrating.settle(schema_editor)


def backwards(apps, schema_editor):
    history = apps.get_model("cases", "HistoricalCaseUserObjectPermission")
    field = _field()
    for rows in migrating.pages(history, "history_id",
                                ["id", "principal_key", "history_change_reason_sealed"],
                                using=schema_editor.connection.alias,
                                history_change_reason_sealed__isnull=False):
        out = []
        with datakeys.key_scope():
            for r in rows:
                plain = field.open_value(bytes(r["history_change_reason_sealed"]), row_id=r["id"],
                                         subject_id=r["principal_key"])
                out.append((r["history_id"], {"history_change_reason": plain}))
        migrating.update(schema_editor, history, "history_id", out)
    migrating.settle(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0028_security_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="caseuserobjectpermission", name="principal_key",
            field=models.UUIDField(blank=True, editable=False, null=True)),
        migrations.AddField(
            model_name="historicalcaseuserobjectpermission", name="principal_key",
            field=models.UUIDField(blank=True, editable=False, null=True)),
        migrations.AddField(
            model_name="historicalcaseuserobjectpermission", name="history_change_reason_sealed",
            field=cases.crypto.fields.EncryptedTextField(blank=True, null=True,
                                                         subject="principal_key")),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="historicalcaseuserobjectpermission",
                               name="history_change_reason"),
        migrations.RenameField(model_name="historicalcaseuserobjectpermission",
                               old_name="history_change_reason_sealed",
                               new_name="history_change_reason"),
    ]
