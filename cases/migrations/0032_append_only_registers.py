"""On PostgreSQL the breach log and the register of transfers refuse what must never happen
to them, whoever asks (docs/architecture.md#registers): no row is deleted; a transfer entry
is never changed (a correction is a new entry); a breach keeps what was reported (office,
discovery, nature, what happened, who reported it and when) while its assessment and
response are updated. TRUNCATE is refused too, except where the test settings empty tables
between tests (`AMPARO_AUDIT_ALLOW_TRUNCATE`, as for the audit tables)."""

from django.conf import settings
from django.db import migrations

REFUSE = """
CREATE OR REPLACE FUNCTION amparo_register_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the register is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""
# What a breach's report said stays as it was reported.
BREACH_FIXED = ("id", "office_id", "discovered_at", "nature", "office_key", "description",
                "reported_by_id", "reported_at")
BREACH = """
CREATE OR REPLACE FUNCTION amparo_breach_report_fixed() RETURNS trigger AS $$
BEGIN
    IF ({new}) IS DISTINCT FROM ({old}) THEN
        RAISE EXCEPTION 'what a breach report said is never changed: UPDATE on % refused',
            TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
""".format(new=", ".join(f"NEW.{c}" for c in BREACH_FIXED),
           old=", ".join(f"OLD.{c}" for c in BREACH_FIXED))
TRIGGERS = [
    "CREATE TRIGGER cases_transfer_append_only BEFORE UPDATE OR DELETE ON cases_transfer "
    "FOR EACH ROW EXECUTE FUNCTION amparo_register_append_only();",
    "CREATE TRIGGER cases_breach_no_delete BEFORE DELETE ON cases_breach "
    "FOR EACH ROW EXECUTE FUNCTION amparo_register_append_only();",
    "CREATE TRIGGER cases_breach_report_fixed BEFORE UPDATE ON cases_breach "
    "FOR EACH ROW EXECUTE FUNCTION amparo_breach_report_fixed();",
]
NO_TRUNCATE = [
    "CREATE TRIGGER cases_transfer_no_truncate BEFORE TRUNCATE ON cases_transfer "
    "FOR EACH STATEMENT EXECUTE FUNCTION amparo_register_append_only();",
    "CREATE TRIGGER cases_breach_no_truncate BEFORE TRUNCATE ON cases_breach "
    "FOR EACH STATEMENT EXECUTE FUNCTION amparo_register_append_only();",
]
DROP = [
    "DROP TRIGGER IF EXISTS cases_transfer_append_only ON cases_transfer;",
    "DROP TRIGGER IF EXISTS cases_transfer_no_truncate ON cases_transfer;",
    "DROP TRIGGER IF EXISTS cases_breach_no_delete ON cases_breach;",
    "DROP TRIGGER IF EXISTS cases_breach_report_fixed ON cases_breach;",
    "DROP TRIGGER IF EXISTS cases_breach_no_truncate ON cases_breach;",
    "DROP FUNCTION IF EXISTS amparo_breach_report_fixed();",
    "DROP FUNCTION IF EXISTS amparo_register_append_only();",
]


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # No placeholders: the % are plpgsql's.
    schema_editor.execute(REFUSE, params=None)
    schema_editor.execute(BREACH, params=None)
    for sql in TRIGGERS:
        schema_editor.execute(sql)
    if not getattr(settings, "AMPARO_AUDIT_ALLOW_TRUNCATE", False):
        for sql in NO_TRUNCATE:
            schema_editor.execute(sql)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in DROP:
        schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0031_breach_people"),
    ]

    operations = [migrations.RunPython(install, remove)]
