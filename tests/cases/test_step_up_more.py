"""Step-up before the exports and key operations that came after the first ones: the CTDC
file, registering another office's key for case packages. Downloads carry the file headers
(sandbox, nosniff, no-store)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from cases.crypto.packages import OfficeKeys
from cases.models import PartnerKey
from tests.cases.test_two_factor import age_verification, code, enrol, login, next_code, verify
from tests.tip.test_ctdc_screen import victims  # noqa: F401  (a fixture)

CTDC = "/trafficking/statistics/ctdc/"


def _sandboxed(response) -> None:
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"


def test_the_ctdc_download_needs_a_recent_code(client, supervisor, victims):  # noqa: F811
    device = enrol(supervisor)
    login(client, supervisor)
    verify(client, code(device))
    age_verification(client, minutes=11)

    checked = client.post(CTDC, {"k": 11, "action": "check"})
    refused = client.post(CTDC, {"k": 11, "action": "download"})

    assert checked.status_code == 200 and checked.context["report"].records_out == 12
    assert refused.status_code == 302
    assert refused.url == reverse("two_factor") + "?next=" + CTDC.replace("/", "%2F")
    assert [e.details["download"] for e in AuditEvent.objects.filter(
        action="tip.export_ctdc")] == [False]
    verify(client, next_code(device))
    download = client.post(CTDC, {"k": 11, "action": "download"})
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    _sandboxed(download)


def test_the_audit_export_is_a_sandboxed_file(client, auditor):
    client.force_login(auditor)

    export = client.get(reverse("audit_export"))

    assert export.status_code == 200
    _sandboxed(export)


def _bundle() -> SimpleUploadedFile:
    keys = OfficeKeys.generate("GT-GUA")
    return SimpleUploadedFile("gt.json", keys.bundle(name="Comisión", country="GT")
                              .to_json().encode(), "application/json")


@pytest.mark.usefixtures("key_file")
def test_registering_another_office_s_key_needs_a_recent_code(client, office_admin):
    device = enrol(office_admin)
    login(client, office_admin)
    verify(client, code(device))
    age_verification(client, minutes=11)

    refused = client.post(reverse("package_key_register"), {"bundle": _bundle()})

    assert refused.status_code == 302 and refused.url.startswith(reverse("two_factor"))
    assert not PartnerKey.objects.exists()
    verify(client, next_code(device))
    done = client.post(reverse("package_key_register"), {"bundle": _bundle()})
    assert done.status_code == 302 and PartnerKey.objects.count() == 1
    key = PartnerKey.objects.get()
    age_verification(client, minutes=11)
    client.post(reverse("package_key_revoke", args=[key.pk]))
    key.refresh_from_db()
    assert key.revoked_at is None  # the revocation waits for a code too
