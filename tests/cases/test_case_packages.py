"""Case packages: who may register keys, send and receive; what a package creates; a round
trip between two installations (the second one a separate database and key file, driven
through its commands as an operator would)."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from faker import Faker
from PIL import Image

from audit.models import AuditEvent
from cases import case_packages, consent, office_keys, services
from cases.crypto import packages
from cases.crypto.packages import OfficeKeys, PackageRefused
from cases.models import Case, Document, Note, Person, ReceivedPackage, Transfer
from tests.conftest import pdf_bytes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def guatemala():
    """An office of another installation, whose private keys the test holds."""
    return OfficeKeys.generate("GT-GUA")


@pytest.fixture
def registered(key_file, office_admin, guatemala):
    key, _new = case_packages.register_partner_key(
        by=office_admin, bundle=guatemala.bundle(name="Comisión Nacional", country="GT"))
    return key


def _from_guatemala(guatemala, office, documents=None, **content) -> bytes:
    """A package from Guatemala; `documents` [(title, file name, bytes)] makes it version 2."""
    body = {"version": 1, "parts": ["history", "identity"], "reason": "Traslado solicitado",
            "case": {"reference": "GT-GUA-2026-000042", "kind": "asylum", "state": "registered",
                     "procedure": "", "opened_on": "2026-03-02", "closed_on": None},
            "person": {"given_names": "Ana Lucía", "family_names": "Pérez Gómez", "sex": "female",
                       "date_of_birth": "1991-04-12", "nationalities": ["GT"], "languages": ["es"],
                       "documents": [{"type": "passport", "number": "G1234567", "country": "GT"}]},
            "history": [{"number": 1, "transition": "register", "from": "open",
                         "to": "registered", "effective_on": "2026-03-02"}]}
    body.update(content)
    sealed = json.dumps(body).encode()
    if documents is not None:
        body.update(version=2, parts=[*body["parts"], "documents"], documents=[
            {"title": title, "filename": name, "content_type": "", "size": len(data),
             "added_on": "2026-03-03"} for title, name, data in documents])
        sealed = json.dumps(body).encode() + b"\n" + b"".join(d for _t, _n, d in documents)
    return packages.seal(sealed, sender=guatemala,
                         recipient=office_keys.bundle(office, create=True))


def png_noise(seed: int, side: int = 48) -> bytes:
    """A PNG of random pixels (no metadata: stored as it is), different for each seed."""
    pixels = bytes((seed * 7919 + i * 104729) % 251 for i in range(side * side * 3))
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(out, format="PNG")
    return out.getvalue()


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_only_an_administrator_registers_keys_and_never_for_an_office_of_here(
        key_file, supervisor, office_admin, office, guatemala):
    with pytest.raises(PermissionDenied):
        case_packages.register_partner_key(by=supervisor, bundle=guatemala.bundle(country="GT"))
    with pytest.raises(ValidationError):
        case_packages.register_partner_key(
            by=office_admin, bundle=OfficeKeys.generate(office.code).bundle(country="BZ"))

    first, new = case_packages.register_partner_key(by=office_admin,
                                                    bundle=guatemala.bundle(country="GT"))
    again, again_new = case_packages.register_partner_key(by=office_admin,
                                                          bundle=guatemala.bundle(country="GT"))

    assert new and not again_new and first == again
    assert AuditEvent.objects.filter(action="package.key_register").count() == 1


def test_a_received_package_creates_the_person_and_the_case_once(registered, guatemala, office,
                                                                 caseworker):
    data = _from_guatemala(guatemala, office)

    received, new = case_packages.import_package(by=caseworker, data=data)
    again, again_new = case_packages.import_package(by=caseworker, data=data)

    assert new and not again_new and again.pk == received.pk
    case = received.case
    assert case.office == office and case.kind == "asylum"
    assert case.principal.given_names == "Ana Lucía"
    assert case.principal.documents.get().number == "G1234567"
    note = Note.objects.get(case=case)
    assert "GT-GUA-2026-000042" in note.text and "register: open → registered" in note.text
    assert Case.objects.count() == 1 and Person.objects.count() == 1
    event = AuditEvent.objects.get(action="package.import", outcome="ok")
    assert "Ana" not in json.dumps(event.details)


def test_the_same_case_sent_again_in_a_new_package_finds_the_case_it_became(
        registered, guatemala, office, other_office, caseworker, other_caseworker):
    first, new = case_packages.import_package(by=caseworker, data=_from_guatemala(guatemala, office))
    resent = _from_guatemala(guatemala, office, reason="Reenvío")  # a new package id

    again, again_new = case_packages.import_package(by=caseworker, data=resent)

    assert new and not again_new and again.pk != first.pk
    assert (again.case_id, again.person_id) == (first.case_id, first.person_id)
    assert Case.objects.count() == 1 and Note.objects.count() == 1
    event = AuditEvent.objects.filter(action="package.import").latest("pk")
    assert event.details["again"] == str(first.pk) and event.object_id == str(first.case_id)
    assert case_packages.import_package(by=caseworker, data=resent) == (again, False)

    # Another person under the same reference (a sender's mistake) is not folded into it.
    other_person = _from_guatemala(guatemala, office, person={
        "given_names": "Marta", "family_names": "Choc", "sex": "female",
        "date_of_birth": "1988-09-30", "nationalities": ["GT"], "languages": ["es"],
        "documents": []})
    apart, apart_new = case_packages.import_package(by=caseworker, data=other_person)
    assert apart_new and apart.case_id != first.case_id
    assert apart.case.principal.given_names == "Marta" and Case.objects.count() == 2

    # Another office of here receiving the same case is a case of its own.
    elsewhere, elsewhere_new = case_packages.import_package(
        by=other_caseworker, data=_from_guatemala(guatemala, other_office))
    assert elsewhere_new and elsewhere.case_id != first.case_id and Case.objects.count() == 3


def test_a_second_package_about_a_person_already_here_finds_them(registered, guatemala, office,
                                                                 caseworker):
    case_packages.import_package(by=caseworker, data=_from_guatemala(guatemala, office))
    later = _from_guatemala(guatemala, office, case={
        "reference": "GT-GUA-2026-000099", "kind": "trafficking", "state": "open",
        "procedure": "", "opened_on": "2026-05-01", "closed_on": None})

    received, new = case_packages.import_package(by=caseworker, data=later)

    assert new and Person.objects.count() == 1 and Case.objects.count() == 2
    assert received.case.kind == "trafficking"


def test_refusals_write_nothing_but_their_event(registered, guatemala, office, other_office,
                                               caseworker, other_caseworker):
    good = _from_guatemala(guatemala, office)
    tampered = json.loads(good)
    tampered["header"]["to_office"] = other_office.code
    stranger = packages.seal(b"{}", sender=OfficeKeys.generate("SV-SAL"),
                             recipient=office_keys.bundle(office))

    for data, reason in [(json.dumps(tampered).encode(), "not_for_us"),
                         (stranger, "unknown_sender"), (b"PK\x03\x04 zip", "unreadable")]:
        with pytest.raises(PackageRefused) as refused:
            case_packages.import_package(by=caseworker, data=data)
        assert refused.value.reason == reason
    with pytest.raises(PermissionDenied):
        case_packages.import_package(by=other_caseworker, data=good)
    bad_person = _from_guatemala(guatemala, office, person={"given_names": "", "family_names": ""})
    with pytest.raises(ValidationError):
        case_packages.import_package(by=caseworker, data=bad_person)

    assert not Case.objects.exists() and not Person.objects.exists()
    assert not ReceivedPackage.objects.exists()
    assert AuditEvent.objects.filter(action="package.import").exclude(outcome="ok").count() == 4


def test_a_revoked_key_no_longer_speaks_for_its_office(registered, guatemala, office, caseworker):
    from django.utils import timezone

    registered.revoked_at = timezone.now()
    registered.save()

    with pytest.raises(PackageRefused) as refused:
        case_packages.import_package(by=caseworker, data=_from_guatemala(guatemala, office))

    assert refused.value.reason == "unknown_sender"


def test_only_a_supervisor_of_the_office_sends_a_case(registered, case, caseworker, supervisor,
                                                      other_supervisor, guatemala):
    with pytest.raises(PermissionDenied):
        case_packages.export_case(by=caseworker, case=case, to=registered, parts=set(), reason="x")
    with pytest.raises(PermissionDenied):
        case_packages.export_case(by=other_supervisor, case=case, to=registered, parts=set(),
                                  reason="x")
    with pytest.raises(ValidationError):
        case_packages.export_case(by=supervisor, case=case, to=registered, parts={"narrative"},
                                  reason="x")

    with pytest.raises(ValidationError, match="not consented"):
        case_packages.export_case(by=supervisor, case=case, to=registered, parts=set(),
                                  reason="x")
    consent.record(by=caseworker, person=case.principal, purpose="sharing", given=True,
                   language="es")
    with pytest.raises(office_keys.NoOfficeKeys):  # the web never makes them
        case_packages.export_case(by=supervisor, case=case, to=registered, parts=set(),
                                  reason="x")
    data = case_packages.export_case(by=supervisor, case=case, to=registered,
                                     parts={"identity"}, reason="Reunificación familiar",
                                     create_keys=True)

    opened = packages.open_package(
        data, own_keys=lambda code: guatemala if code == "GT-GUA" else None,
        sender_bundle=lambda fp: office_keys.bundle(case.office)
        if fp == office_keys.bundle(case.office).fingerprint else None)
    content = json.loads(opened.content)
    assert content["case"]["reference"] == case.reference
    assert content["person"]["given_names"] == case.principal.given_names
    assert "phone" not in content["person"] and "history" not in content  # not asked for
    entry = Transfer.objects.get(case=case)
    assert entry.to_organisation == registered.organisation
    assert str(opened.package_id) in entry.agreement


def test_the_commands_refuse_with_a_message_and_a_status(registered, case, supervisor, tmp_path):
    with pytest.raises(CommandError, match="No key is registered"):
        call_command("export_case_package", case.reference, "--to", "HN-TEG", "--user",
                     supervisor.username, "--out", str(tmp_path / "p.json"))
    with pytest.raises(CommandError, match="No case"):
        call_command("export_case_package", "BZ-BMP-1999-999999", "--to", "GT-GUA", "--user",
                     supervisor.username, "--out", str(tmp_path / "p.json"))
    (tmp_path / "junk").write_bytes(b"junk")
    with pytest.raises(CommandError, match="Refused"):
        call_command("import_case_package", str(tmp_path / "junk"), "--user", supervisor.username)
    with pytest.raises(CommandError, match="not an office key bundle"):
        call_command("register_office_key", str(tmp_path / "junk"), "--user", supervisor.username)


# Documents.

fake = Faker("es_MX")


@pytest.fixture
def two_documents(case, caseworker, file_root):
    """Two documents of the case: a photo and a PDF, with titles in Spanish."""
    Faker.seed(7)
    made = []
    for title, name, data in [(fake.sentence(nb_words=4), "foto.png", png_noise(1)),
                              (fake.sentence(nb_words=5), "acta.pdf",
                               pdf_bytes(fake.paragraph(nb_sentences=8)))]:
        services.add_document(by=caseworker, case=case, title=title, filename=name, data=data)
        made.append((title, name, data))
    return made


def _open_as_guatemala(data: bytes, guatemala, office) -> tuple[dict, bytes]:
    opened = packages.open_package(
        data, own_keys=lambda code: guatemala if code == "GT-GUA" else None,
        sender_bundle=lambda fp: office_keys.bundle(office))
    cut = opened.content.find(b"\n")
    if cut < 0:
        return json.loads(opened.content), b""
    return json.loads(opened.content[:cut]), opened.content[cut + 1:]


def test_documents_go_only_when_chosen(registered, guatemala, case, caseworker, supervisor,
                                       two_documents):
    consent.record(by=caseworker, person=case.principal, purpose="sharing", given=True,
                   language="es")
    without = case_packages.export_case(by=supervisor, case=case, to=registered,
                                        parts={"history"}, reason="Traslado", create_keys=True)
    sent = case_packages.export_case(by=supervisor, case=case, to=registered,
                                     parts={"documents"}, reason="Traslado")

    head, tail = _open_as_guatemala(without, guatemala, case.office)
    assert head["version"] == 1 and "documents" not in head and tail == b""
    assert two_documents[1][2] not in without
    head, tail = _open_as_guatemala(sent, guatemala, case.office)
    assert head["version"] == 2 and "documents" in head["parts"]
    by_title = {d["title"]: d for d in head["documents"]}
    assert set(by_title) == {title for title, _n, _d in two_documents}
    assert sorted(tail) == sorted(b"".join(d for _t, _n, d in two_documents))
    assert {d["filename"] for d in head["documents"]} == {"foto.png", "acta.pdf"}
    assert sorted(len(e.details["documents"]) for e in AuditEvent.objects.filter(
        action="package.export")) == [0, 2]
    assert sorted("files" in t.categories for t in Transfer.objects.filter(case=case)) == [
        False, True]


def test_received_documents_are_stored_sealed_for_the_new_person_once(
        registered, guatemala, office, caseworker, file_root):
    Faker.seed(11)
    title = fake.sentence(nb_words=4)
    documents = [(title, "pasaporte.png", png_noise(2)),
                 (fake.sentence(nb_words=3), "constancia.pdf", pdf_bytes(fake.paragraph()))]
    data = _from_guatemala(guatemala, office, documents=documents)

    received, new = case_packages.import_package(by=caseworker, data=data)
    again, again_new = case_packages.import_package(by=caseworker, data=data)

    assert new and not again_new and again.pk == received.pk
    stored = Document.objects.filter(case=received.case).order_by("created_at", "pk")
    assert stored.count() == 2 and Document.objects.count() == 2
    assert {d.title for d in stored} == {t for t, _n, _d in documents}
    for document in stored:
        assert document.person_id == received.person_id and document.uploaded_by == caseworker
        original = next(d for t, _n, d in documents if t == document.title)
        assert services.read_document(by=caseworker, document=document) == original
        reason = document.history.get().history_change_reason
        assert str(received.package_id) in reason
    on_disk = _files_under(file_root)
    assert len(on_disk) == 2
    for path in on_disk:
        blob = path.read_bytes()
        assert all(d not in blob and t.encode() not in blob for t, _n, d in documents)
    added = AuditEvent.objects.filter(action="document.add")
    assert {e.details["package"] for e in added} == {str(received.package_id)}
    assert AuditEvent.objects.get(action="package.import", outcome="ok").details["documents"] == 2
    assert "2 documents came with the package." in Note.objects.get(case=received.case).text


def test_a_document_that_cannot_be_stored_refuses_the_whole_package(
        registered, guatemala, office, caseworker, file_root):
    data = _from_guatemala(guatemala, office, documents=[
        ("Foto", "foto.png", png_noise(3)), ("Programa", "x.exe", b"MZ\x90\x00 not a scan")])

    with pytest.raises(ValidationError, match="Document 2 of the package"):
        case_packages.import_package(by=caseworker, data=data)

    assert not Case.objects.exists() and not Document.objects.exists()
    assert not ReceivedPackage.objects.exists()
    assert _files_under(file_root) == []  # the first document's file went with the rest


def test_a_changed_package_with_documents_is_refused(registered, guatemala, office, caseworker,
                                                     file_root):
    data = json.loads(_from_guatemala(guatemala, office, documents=[
        ("Foto", "foto.png", png_noise(4))]))
    ciphertext = bytearray(packages._unb64(data["ciphertext"]))
    ciphertext[-100] ^= 1  # a bit of the document
    data["ciphertext"] = packages._b64(bytes(ciphertext))

    with pytest.raises(PackageRefused) as refused:
        case_packages.import_package(by=caseworker, data=json.dumps(data).encode())

    assert refused.value.reason == "bad_signature"
    assert not Case.objects.exists() and not Document.objects.exists()
    assert _files_under(file_root) == []


def test_a_package_over_the_limit_is_refused_on_export_before_any_file_is_read(
        settings, registered, case, caseworker, supervisor, file_root, monkeypatch):
    settings.AMPARO_PACKAGE_MAX_BYTES = 1024 * 1024
    for number in range(2):  # twice 450 kB: over 1 MB once in base 64
        services.add_document(by=caseworker, case=case, title=f"Acta {number}", filename="a.pdf",
                              data=pdf_bytes(f"{number}" * 450_000))

    def no_reading(**kwargs):
        raise AssertionError("a document was read")

    monkeypatch.setattr(case_packages.services, "read_document", no_reading)
    with pytest.raises(ValidationError, match="more than the 1 MB a case package may be"):
        case_packages.export_case(by=supervisor, case=case, to=registered, parts={"documents"},
                                  reason="Traslado", create_keys=True, override="Urgente")

    assert not Transfer.objects.filter(case=case).exists()
    assert not AuditEvent.objects.filter(action__in=["package.export", "consent.override"]).exists()
    # Without the documents it goes.
    assert case_packages.export_case(by=supervisor, case=case, to=registered, parts=set(),
                                     reason="Traslado", create_keys=True, override="Urgente")


def test_a_package_over_the_limit_is_refused_on_import_before_it_is_opened(
        settings, registered, guatemala, office, caseworker, file_root, monkeypatch, tmp_path):
    data = _from_guatemala(guatemala, office, documents=[
        ("Acta", "acta.pdf", pdf_bytes("7" * 800_000))])
    settings.AMPARO_PACKAGE_MAX_BYTES = 1024 * 1024
    assert len(data) > 1024 * 1024

    def no_opening(*args, **kwargs):
        raise AssertionError("the package was opened")

    monkeypatch.setattr(case_packages.packages, "open_package", no_opening)
    with pytest.raises(PackageRefused) as refused:
        case_packages.import_package(by=caseworker, data=data)
    (tmp_path / "big.amparo").write_bytes(data)
    with pytest.raises(CommandError, match="at most 1 MB"):
        call_command("import_case_package", str(tmp_path / "big.amparo"), "--user",
                     caseworker.username)

    assert refused.value.reason == "too_large"
    assert "at most 1 MB" in case_packages.refusal_message(refused.value)
    assert not Case.objects.exists() and not Document.objects.exists()
    assert _files_under(file_root) == []
    assert [e.details["reason"] for e in AuditEvent.objects.filter(
        action="package.import")] == ["too_large", "too_large"]


# Two installations.


def _peer(tmp: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """manage.py of a second installation: its own database and key files."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.peer_settings",
           "DATABASE_URL": f"sqlite:///{tmp / 'peer.sqlite3'}",
           "AMPARO_KEY_FILE": str(tmp / "peer-keys.json"),
           "AMPARO_AUDIT_KEY_FILE": str(tmp / "peer-audit.pem"),
           "AMPARO_AUDIT_SINK": str(tmp / "peer-sink")}
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"peer {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return done


PEER_SETUP = """
from cases.models import Office, Role, User
from cases import services
mx = Office.objects.create(code="MX-CDMX", name="COMAR Ciudad de México", country="MX", city="CDMX")
for name, role in [("mx_admin", Role.OFFICE_ADMIN), ("mx_sup", Role.SUPERVISOR)]:
    user = User.objects.create_user(name, password="x")
    services.grant_membership(by=None, user=user, office=mx, role=role)
"""

PEER_REPORT = """
import json
from cases.models import Case
print(json.dumps([[c.reference, c.principal.given_names, c.principal.family_names, c.kind,
                   c.notes.count()] for c in Case.objects.all()]))
"""

PEER_DOCUMENTS = """
import base64, json
from cases import services
from cases.models import Document, User
by = User.objects.get(username="mx_sup")
print(json.dumps([[d.title, d.filename, d.uploaded_by.username, d.person_id == d.case.principal_id,
                   base64.b64encode(services.read_document(by=by, document=d)).decode()]
                  for d in Document.objects.all()]))
"""

PEER_REFUSALS = """
import json
from audit.models import AuditEvent
print(json.dumps([e.details.get("reason") for e in AuditEvent.objects.filter(
    action="package.import", outcome="refused")]))
"""


@pytest.mark.django_db(transaction=True)
def test_a_case_goes_to_another_installation_and_arrives_once(tmp_path, key_file, case, supervisor,
                                                              office_admin, two_documents):
    _peer(tmp_path, "migrate", "--noinput")
    _peer(tmp_path, "shell", "-c", PEER_SETUP)
    peer_bundle = tmp_path / "mx.json"
    peer_bundle.write_text(_peer(tmp_path, "office_key", "MX-CDMX").stdout)
    call_command("register_office_key", str(peer_bundle), "--user", office_admin.username,
                 stdout=io.StringIO())
    ours = tmp_path / "bz.json"
    out = io.StringIO()
    call_command("office_key", case.office.code, stdout=out, stderr=io.StringIO())
    ours.write_text(out.getvalue())
    package = tmp_path / "case.pkg"
    with pytest.raises(CommandError, match="not consented"):
        call_command("export_case_package", case.reference, "--to", "MX-CDMX", "--user",
                     supervisor.username, "--out", str(package))
    call_command("export_case_package", case.reference, "--to", "MX-CDMX", "--user",
                 supervisor.username, "--out", str(package), "--parts", "identity,history,documents",
                 "--reason", "Solicitud de traslado",
                 "--override-consent", "Riesgo inminente; la persona no puede ser contactada",
                 stdout=io.StringIO())
    assert AuditEvent.objects.filter(action="consent.override").count() == 1
    # The written reason is kept, sealed, with the register's entry.
    assert Transfer.objects.get(case=case).purpose == (
        "Solicitud de traslado\nShared without the person's consent: Riesgo inminente; la "
        "persona no puede ser contactada")
    assert case.principal.given_names.encode() not in package.read_bytes()

    # Not registered yet on the other side: refused, nothing written.
    unknown = _peer(tmp_path, "import_case_package", str(package), "--user", "mx_sup", check=False)
    assert unknown.returncode == 1 and "not registered here" in unknown.stderr
    registered = _peer(tmp_path, "register_office_key", str(ours), "--user", "mx_admin")
    assert "Registered: BZ-BMP" in registered.stdout
    tampered = tmp_path / "tampered.pkg"
    data = json.loads(package.read_bytes())
    data["header"]["created_at"] = "2020-01-01T00:00:00+00:00"
    tampered.write_text(json.dumps(data))
    refused = _peer(tmp_path, "import_case_package", str(tampered), "--user", "mx_sup", check=False)
    assert refused.returncode == 1 and "changed after it was signed" in refused.stderr
    # A package sealed to another installation's office is refused there too.
    elsewhere = OfficeKeys.generate("GT-GUA")
    case_packages.register_partner_key(by=office_admin,
                                       bundle=elsewhere.bundle(name="Guatemala", country="GT"))
    misdirected = tmp_path / "for-guatemala.pkg"
    call_command("export_case_package", case.reference, "--to", "GT-GUA", "--user",
                 supervisor.username, "--out", str(misdirected), "--reason", "Traslado",
                 "--override-consent", "Riesgo inminente", stdout=io.StringIO())
    other = _peer(tmp_path, "import_case_package", str(misdirected), "--user", "mx_sup",
                  check=False)
    assert other.returncode == 1 and "addressed to another office" in other.stderr

    first = _peer(tmp_path, "import_case_package", str(package), "--user", "mx_sup")
    second = _peer(tmp_path, "import_case_package", str(package), "--user", "mx_sup")

    assert "Imported as case MX-CDMX-" in first.stdout and "2 documents" in first.stdout
    assert "Already imported" in second.stdout
    # Nothing of the refused packages was written: one case, from the good one.
    cases = json.loads(_peer(tmp_path, "shell", "-c", PEER_REPORT).stdout.strip().splitlines()[-1])
    assert len(cases) == 1
    reference, given, family, kind, notes = cases[0]
    assert reference.startswith("MX-CDMX-") and kind == case.kind and notes == 1
    assert (given, family) == (case.principal.given_names, case.principal.family_names)
    assert Transfer.objects.filter(case=case, to_organisation__name__contains="MX-CDMX").exists()
    # The documents arrived once, readable with the new person's key, sealed on disk.
    arrived = json.loads(_peer(tmp_path, "shell", "-c", PEER_DOCUMENTS).stdout.strip()
                         .splitlines()[-1])
    assert sorted((t, n, u, own, base64.b64decode(d)) for t, n, u, own, d in arrived) == sorted(
        (t, n, "mx_sup", True, d) for t, n, d in two_documents)
    peer_files = _files_under(tmp_path / "peer-files")
    assert len(peer_files) == 2
    for path in peer_files:
        blob = path.read_bytes()
        assert all(d not in blob and t.encode() not in blob for t, _n, d in two_documents)
    refusals = json.loads(_peer(tmp_path, "shell", "-c", PEER_REFUSALS).stdout.strip()
                          .splitlines()[-1])
    assert sorted(refusals) == ["bad_signature", "not_for_us", "unknown_sender"]
    # Each installation holds its own offices' private keys only.
    assert set(json.loads(key_file.read_text())["office_keys"]) == {case.office.code}
