"""Case packages between installations: the envelope (real keys, no database)."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from cases.crypto import packages
from cases.crypto.packages import OfficeKeys, PackageRefused, PublicBundle

CONTENT = json.dumps({"case": "BZ-BMP-2026-000123", "narrative": "Salió de noche."}).encode()


@pytest.fixture
def belize():
    return OfficeKeys.generate("BZ-BMP")


@pytest.fixture
def mexico():
    return OfficeKeys.generate("MX-CDMX")


def _opener(receiver: OfficeKeys, *registered: PublicBundle):
    known = {b.fingerprint: b for b in registered}
    return {"own_keys": lambda code: receiver if code == receiver.office else None,
            "sender_bundle": known.get}


def _edit(package: bytes, change) -> bytes:
    data = json.loads(package)
    change(data)
    return json.dumps(data).encode()


def test_a_package_opens_at_its_recipient_and_nowhere_else(belize, mexico):
    package = packages.seal(CONTENT, sender=belize, recipient=mexico.bundle())

    opened = packages.open_package(package, **_opener(mexico, belize.bundle()))

    assert opened.content == CONTENT
    assert opened.sender.office == "BZ-BMP"
    assert opened.header["to_office"] == "MX-CDMX" and isinstance(opened.package_id, uuid.UUID)
    # Nothing of the content is readable in the file.
    assert b"Sali" not in package and b"000123" not in package
    with pytest.raises(PackageRefused) as refused:
        packages.open_package(package, **_opener(belize, belize.bundle()))
    assert refused.value.reason == "not_for_us"


def test_a_package_for_the_same_office_code_but_another_key_is_refused(belize, mexico):
    """An installation that made new keys for its office cannot read what was sealed to the old."""
    package = packages.seal(CONTENT, sender=belize, recipient=mexico.bundle())
    renewed = OfficeKeys.generate("MX-CDMX")

    with pytest.raises(PackageRefused) as refused:
        packages.open_package(package, **_opener(renewed, belize.bundle()))

    assert refused.value.reason == "not_for_us"


def test_an_unknown_sender_is_refused_even_with_a_valid_signature(belize, mexico):
    impostor = OfficeKeys.generate("BZ-BMP")  # claims Belize's code with keys nobody registered
    package = packages.seal(CONTENT, sender=impostor, recipient=mexico.bundle())

    with pytest.raises(PackageRefused) as refused:
        packages.open_package(package, **_opener(mexico, belize.bundle()))

    assert refused.value.reason == "unknown_sender"


def test_a_registered_key_cannot_speak_for_another_office(belize, mexico):
    other = OfficeKeys.generate("GT-GUA")
    package = packages.seal(CONTENT, sender=other, recipient=mexico.bundle())
    forged = _edit(package, lambda d: d["header"].update(from_office="BZ-BMP"))

    with pytest.raises(PackageRefused) as refused:
        packages.open_package(forged, **_opener(mexico, belize.bundle(), other.bundle()))

    assert refused.value.reason in ("unknown_sender", "bad_signature")


@pytest.mark.parametrize("change", [
    lambda d: d.update(ciphertext=base64.b64encode(
        bytes([base64.b64decode(d["ciphertext"])[0] ^ 1]) + base64.b64decode(d["ciphertext"])[1:]
    ).decode()),
    lambda d: d["header"].update(created_at="2020-01-01T00:00:00+00:00"),
    lambda d: d["header"].update(package=str(uuid.uuid4())),
    lambda d: d.update(signature=base64.b64encode(bytes(64)).decode()),
], ids=["ciphertext", "date", "package id", "signature"])
def test_a_tampered_package_is_refused(belize, mexico, change):
    package = _edit(packages.seal(CONTENT, sender=belize, recipient=mexico.bundle()), change)

    with pytest.raises(PackageRefused) as refused:
        packages.open_package(package, **_opener(mexico, belize.bundle()))

    assert refused.value.reason == "bad_signature"


def test_a_ciphertext_moved_into_another_package_is_refused(belize, mexico):
    first = json.loads(packages.seal(CONTENT, sender=belize, recipient=mexico.bundle()))
    second = json.loads(packages.seal(b"other", sender=belize, recipient=mexico.bundle()))
    second["ciphertext"] = first["ciphertext"]

    with pytest.raises(PackageRefused) as refused:
        packages.open_package(json.dumps(second).encode(), **_opener(mexico, belize.bundle()))

    assert refused.value.reason == "bad_signature"


def test_a_sender_who_signs_what_it_cannot_have_sealed_is_caught_by_decryption(belize, mexico):
    """The registered sender re-signs a header whose ephemeral key does not match the content."""
    data = json.loads(packages.seal(CONTENT, sender=belize, recipient=mexico.bundle()))
    data["header"]["ephemeral_key"] = base64.b64encode(
        OfficeKeys.generate("x").bundle().encryption).decode()
    ciphertext = base64.b64decode(data["ciphertext"])
    data["signature"] = base64.b64encode(belize.signing.sign(
        b"amparo-case-package-v1\x00" + packages.canonical(data["header"]) + ciphertext)).decode()

    with pytest.raises(PackageRefused) as refused:
        packages.open_package(json.dumps(data).encode(), **_opener(mexico, belize.bundle()))

    assert refused.value.reason == "undecryptable"


@pytest.mark.parametrize("data", [
    b"", b"not json", b"[]", b'{"format": "zip"}',
    b'{"format": "amparo-case-package", "version": 2}',
    b'{"format": "amparo-case-package", "version": 1, "header": {"package": "x"}}',
])
def test_what_is_not_a_package_is_unreadable(data, mexico, belize):
    with pytest.raises(PackageRefused) as refused:
        packages.open_package(data, **_opener(mexico, belize.bundle()))

    assert refused.value.reason == "unreadable"


def test_a_bundle_round_trips_and_its_fingerprint_guards_it(belize):
    bundle = belize.bundle(name="Oficina de Belmopán", country="BZ")

    again = PublicBundle.from_json(bundle.to_json())

    assert again == bundle
    assert len(bundle.fingerprint.replace(" ", "")) == 40
    assert bundle.fingerprint != OfficeKeys.generate("BZ-BMP").bundle().fingerprint
    data = json.loads(bundle.to_json())
    data["encryption_key"] = base64.b64encode(OfficeKeys.generate("x").bundle().encryption).decode()
    with pytest.raises(ValueError, match="fingerprint"):
        PublicBundle.from_json(json.dumps(data))
    with pytest.raises(ValueError):
        PublicBundle.from_json("{}")
    with pytest.raises(ValueError):
        PublicBundle.from_json(json.dumps({**json.loads(bundle.to_json()), "signing_key": "AAAA"}))


def test_private_keys_survive_being_written_out_and_read_back(belize, mexico):
    stored = OfficeKeys.from_raw("MX-CDMX", *mexico.raw())
    package = packages.seal(CONTENT, sender=belize, recipient=mexico.bundle())

    assert packages.open_package(package, **_opener(stored, belize.bundle())).content == CONTENT


# The office's keys in the key file, and `office_key`.

def test_office_key_makes_the_keys_once_and_prints_the_public_bundle(key_file, office, other_office):
    import io

    from django.core.management import call_command

    from audit.models import AuditEvent
    from cases import office_keys
    from cases.crypto import keyring

    first, second, err = io.StringIO(), io.StringIO(), io.StringIO()
    call_command("office_key", office.code, stdout=first, stderr=err)
    call_command("office_key", office.code, stdout=second, stderr=io.StringIO())

    bundle = PublicBundle.from_json(first.getvalue())
    assert first.getvalue() == second.getvalue()  # made once
    assert (bundle.office, bundle.country, bundle.name) == (office.code, "BZ", office.name)
    assert bundle.fingerprint in err.getvalue()
    stored = json.loads(key_file.read_text())
    assert set(stored["office_keys"]) == {office.code}
    # The file holds private keys, which the printed bundle does not.
    private = stored["office_keys"][office.code]["signing"]
    assert private not in first.getvalue()
    assert AuditEvent.objects.filter(action="key.office_keys").count() == 1
    # Another office's pair is its own; reading the file again gives the same keys.
    assert office_keys.bundle(other_office, create=True).fingerprint != bundle.fingerprint
    keyring.reset()
    assert office_keys.bundle(office).fingerprint == bundle.fingerprint


def test_an_office_without_keys_is_said_so_unless_they_are_made(key_file, office):
    from django.core.management import CommandError, call_command

    from cases import office_keys

    with pytest.raises(office_keys.NoOfficeKeys, match="office_key BZ-BMP"):
        office_keys.keys(office)
    with pytest.raises(CommandError, match="No office"):
        call_command("office_key", "XX-NONE")
