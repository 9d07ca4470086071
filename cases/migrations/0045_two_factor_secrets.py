"""Amparo's own second-factor devices: the authenticator app's seed sealed, backup codes as
hashes (docs/architecture.md#second-factor-secrets). What django-otp's TOTP and static
devices held in clear is moved here and removed there, so upgrading keeps every factor.

Migrating back unseals the seeds into django-otp's TOTP devices; backup codes cannot be
turned back from their hashes: their owners make new ones. Needs the key file when there
are apps to migrate.
"""

import uuid

from django.conf import settings
from django.db import migrations, models

import cases.crypto.fields
import django.db.models.deletion
from cases import migrating
from cases.crypto import datakeys
from cases.crypto.fields import EncryptedBytesField

SEED = ("cases_authenticatorapp", "seed")
SUBJECT = uuid.uuid5(uuid.UUID("0b5d2b8e-7a3c-4f0e-9d61-2f4c1e8a7b30"), "two-factor-seeds")
DEVICE = ["name", "confirmed", "throttling_failure_timestamp", "throttling_failure_count",
          "created_at", "last_used_at"]


def _normal(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def forwards(apps, schema_editor):
    from cases import two_factor_secrets
    from cases.keystore import ensure_key

    assert SUBJECT == two_factor_secrets.SUBJECT
    alias = schema_editor.connection.alias
    old_apps = apps.get_model("otp_totp", "TOTPDevice").objects.using(alias)
    App = apps.get_model("cases", "AuthenticatorApp")
    field = EncryptedBytesField().bind(*SEED)
    with datakeys.key_scope():
        if old_apps.exists():
            ensure_key(SUBJECT)
        for old in old_apps.order_by("pk").iterator():
            app = App.objects.using(alias).create(
                user_id=old.user_id, step=old.step, t0=old.t0, digits=old.digits,
                last_t=old.last_t, **{f: getattr(old, f) for f in DEVICE})
            blob = field.seal_value(bytes.fromhex(old.key), row_id=app.id, subject_id=SUBJECT)
            App.objects.using(alias).filter(pk=app.pk).update(seed=blob, created_at=old.created_at)
    old_apps.delete()

    CodeSet = apps.get_model("cases", "BackupCodeSet")
    Code = apps.get_model("cases", "BackupCode")
    old_sets = apps.get_model("otp_static", "StaticDevice").objects.using(alias)
    for old in old_sets.order_by("pk").iterator():
        code_set = CodeSet.objects.using(alias).create(
            user_id=old.user_id, **{f: getattr(old, f) for f in DEVICE})
        CodeSet.objects.using(alias).filter(pk=code_set.pk).update(created_at=old.created_at)
        Code.objects.using(alias).bulk_create(
            Code(code_set=code_set, hashed=two_factor_secrets.hash_code(_normal(t.token)))
            for t in old.token_set.all())
    apps.get_model("otp_static", "StaticToken").objects.using(alias).all().delete()
    old_sets.delete()
    migrating.settle(schema_editor)


def backwards(apps, schema_editor):
    alias = schema_editor.connection.alias
    Old = apps.get_model("otp_totp", "TOTPDevice")
    field = EncryptedBytesField().bind(*SEED)
    rows = apps.get_model("cases", "AuthenticatorApp").objects.using(alias).values(
        "id", "user_id", "seed", "step", "t0", "digits", "last_t", *DEVICE)
    with datakeys.key_scope():
        for row in rows.iterator():
            blob = getattr(row.pop("seed"), "blob", None)  # read sealed (EncryptedBytesField)
            seed = None if blob is None else field.open_value(blob, row_id=row.pop("id"),
                                                              subject_id=SUBJECT)
            if seed is None:  # the key was destroyed: nothing to give back
                continue
            old = Old.objects.using(alias).create(key=seed.hex(), **row)
            Old.objects.using(alias).filter(pk=old.pk).update(created_at=row["created_at"])
    migrating.settle(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0044_rate_limit_notifications'),
        ('otp_static', '0003_add_timestamps'),
        ('otp_totp', '0003_add_timestamps'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuthenticatorApp',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='The human-readable name of this device.', max_length=64)),
                ('confirmed', models.BooleanField(default=True, help_text='Is this device ready for use?')),
                ('throttling_failure_timestamp', models.DateTimeField(blank=True, default=None, help_text='A timestamp of the last failed verification attempt. Null if last attempt succeeded.', null=True)),
                ('throttling_failure_count', models.PositiveIntegerField(default=0, help_text='Number of successive failed attempts.')),
                ('created_at', models.DateTimeField(auto_now_add=True, help_text='The date and time when this device was initially created in the system.', null=True)),
                ('last_used_at', models.DateTimeField(blank=True, help_text='The most recent date and time this device was used.', null=True)),
                ('seed', cases.crypto.fields.EncryptedBytesField(blank=True, null=True, subject='seed_subject')),
                ('step', models.PositiveSmallIntegerField(default=30)),
                ('t0', models.BigIntegerField(default=0)),
                ('digits', models.PositiveSmallIntegerField(default=6)),
                ('last_t', models.BigIntegerField(default=-1)),
                ('user', models.ForeignKey(help_text='The user that this device belongs to.', on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'authenticator app',
            },
        ),
        migrations.CreateModel(
            name='BackupCodeSet',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='The human-readable name of this device.', max_length=64)),
                ('confirmed', models.BooleanField(default=True, help_text='Is this device ready for use?')),
                ('throttling_failure_timestamp', models.DateTimeField(blank=True, default=None, help_text='A timestamp of the last failed verification attempt. Null if last attempt succeeded.', null=True)),
                ('throttling_failure_count', models.PositiveIntegerField(default=0, help_text='Number of successive failed attempts.')),
                ('created_at', models.DateTimeField(auto_now_add=True, help_text='The date and time when this device was initially created in the system.', null=True)),
                ('last_used_at', models.DateTimeField(blank=True, help_text='The most recent date and time this device was used.', null=True)),
                ('user', models.ForeignKey(help_text='The user that this device belongs to.', on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'backup codes',
            },
        ),
        migrations.CreateModel(
            name='BackupCode',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('hashed', models.CharField(max_length=200)),
                ('code_set', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='codes', to='cases.backupcodeset')),
            ],
            options={
                'verbose_name': 'backup code',
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
