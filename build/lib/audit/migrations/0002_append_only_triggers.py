"""On PostgreSQL the audit tables refuse UPDATE, DELETE and TRUNCATE, whoever asks."""

from django.conf import settings
from django.db import migrations

TABLES = ["audit_auditevent", "audit_chainlink", "audit_checkpoint"]

CREATE = """
CREATE OR REPLACE FUNCTION amparo_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""
TRIGGER = """
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION amparo_audit_append_only();
"""
NO_TRUNCATE = """
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION amparo_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE, params=None)  # no placeholders: the % are plpgsql's
    for table in TABLES:
        schema_editor.execute(TRIGGER.format(table=table))
        # The test suite empties tables between tests with TRUNCATE (settings.test only).
        if not getattr(settings, "AMPARO_AUDIT_ALLOW_TRUNCATE", False):
            schema_editor.execute(NO_TRUNCATE.format(table=table))


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(DROP.format(table=table))
    schema_editor.execute("DROP FUNCTION IF EXISTS amparo_audit_append_only();")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(install, remove)]
