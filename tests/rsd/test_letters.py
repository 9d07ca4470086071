"""Decision letters render in the applicant's language and read back as text."""

import dataclasses
import datetime
import io

import pytest
from faker import Faker
from pypdf import PdfReader

from rsd.letters import LetterContent, render_decision_letter

APPLICANT = "José Núñez Peñaloza"  # made up


def content(**changes: object) -> LetterContent:
    base = LetterContent(
        language="en",
        office_name="Refugees Department",
        office_country="BZ",
        reference="BZ-BMP-2026-000042",
        applicant_name=APPLICANT,
        family_names=["Ana Núñez Ríos", "Iñaki Núñez Ríos"],
        issued_on=datetime.date(2026, 11, 22),
        authority="Minister responsible for immigration",
        outcome="rejected",
        legal_basis="none",
        grounds=[],
        reasons="The account of events was not consistent with country information.",
        decided_on=datetime.date(2026, 11, 20),
        delivered_on=None,
        appeal_due_on=datetime.date(2026, 12, 24),
        appeal_body="Administrative Migration Tribunal",
    )
    return dataclasses.replace(base, **changes)


def read(pdf: bytes) -> PdfReader:
    assert pdf.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(pdf))


def text_of(reader: PdfReader) -> str:
    """All pages' text with line breaks folded, so wrapped sentences compare whole."""
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_english_rejection_states_outcome_and_appeal_deadline():
    text = text_of(read(render_decision_letter(content())))

    assert "Refugees Department Belize" in text
    assert "Reference: BZ-BMP-2026-000042" in text
    assert f"Applicant: {APPLICANT}" in text
    assert "Decision on your application for refugee status" in text
    assert "Your application has been rejected: you are not recognized as a refugee." in text
    assert "No ground for international protection was found to apply." in text
    assert (
        "You may appeal this decision to Administrative Migration Tribunal until 24 December 2026 "
        "(inclusive)." in text
    )
    assert "may still be accepted if you justify the delay" in text
    assert "• Ana Núñez Ríos • Iñaki Núñez Ríos" in text
    assert "Delivered on: ____" in text


def test_spanish_rejection_is_written_in_spanish_with_spanish_dates():
    letter = content(
        language="es",
        authority="Ministro responsable de migración",
        appeal_body="el Tribunal Administrativo de Migración",
        legal_basis="cartagena",
        grounds=["generalized_violence", "massive_hr_violations"],
        delivered_on=datetime.date(2026, 11, 25),
        office_address="Calle Ficticia 12\nBelmopán",
    )
    text = text_of(read(render_decision_letter(letter)))

    # Letterhead, every label and the signature block in Spanish.
    assert text.index("Refugees Department Calle Ficticia 12 Belmopán Belice") < text.index("Referencia")
    assert "Fecha de la resolución: 20 de noviembre de 2026" in text
    assert "Autoridad que resuelve: Ministro responsable de migración" in text
    assert "Nombre, firma y sello En nombre de: Ministro responsable de migración" in text
    for english in ("Date of decision", "Decided by", "On behalf of", "Reference", "signature"):
        assert english not in text

    assert "Referencia: BZ-BMP-2026-000042" in text
    assert "Fecha: 22 de noviembre de 2026" in text
    assert f"Solicitante: {APPLICANT}" in text
    assert "Resolución sobre su solicitud de la condición de refugiado" in text
    assert "Su solicitud ha sido denegada: no se le reconoce la condición de refugiado." in text
    assert (
        "la definición ampliada de refugiado de la Declaración de Cartagena de 1984, por los siguientes "
        "motivos: violencia generalizada, violación masiva de los derechos humanos." in text
    )
    assert (
        "Puede interponer un recurso contra esta resolución ante el Tribunal Administrativo de Migración "
        "hasta el 24 de diciembre de 2026 (inclusive)." in text
    )
    assert "Fecha de entrega: 25 de noviembre de 2026" in text
    assert "appeal" not in text.lower()
    assert "Page" not in text


@pytest.mark.parametrize(
    ("language", "granted", "appeal_word"),
    [
        ("en", "Your application has been accepted: you are recognized as a refugee.", "appeal"),
        ("es", "Su solicitud ha sido aceptada: se le reconoce la condición de refugiado.", "recurso"),
    ],
)
def test_recognition_lists_rights_and_has_no_appeal(language: str, granted: str, appeal_word: str):
    letter = content(
        language=language,
        outcome="recognized",
        legal_basis="convention",
        grounds=["political_opinion"],
        appeal_due_on=None,
        appeal_body="",
    )
    text = text_of(read(render_decision_letter(letter)))

    assert granted in text
    assert "1951" in text
    assert appeal_word not in text.lower()
    assert "2026 (inclusive)" not in text
    assert ("family reunification" if language == "en" else "reunificación familiar") in text


def test_complementary_protection_can_be_appealed():
    letter = content(outcome="complementary", legal_basis="complementary", grounds=["internal_conflict"])
    text = text_of(read(render_decision_letter(letter)))

    assert "but you are granted complementary protection." in text
    assert "until 24 December 2026 (inclusive)." in text


def test_reasons_are_shown_literally_not_as_markup():
    letter = content(reasons="The officer wrote <b>& bold</b> & <i>notes</i>.\n\nA second paragraph.")
    text = text_of(read(render_decision_letter(letter)))

    assert "The officer wrote <b>& bold</b> & <i>notes</i>." in text
    assert "A second paragraph." in text


def test_long_reasons_continue_on_numbered_pages():
    fake = Faker("es_MX")
    fake.seed_instance(2026)
    reasons = "\n\n".join(fake.paragraph(nb_sentences=8) for _ in range(30))
    reader = read(render_decision_letter(content(reasons=reasons)))

    pages = len(reader.pages)
    assert pages >= 2
    for number, page in enumerate(reader.pages, start=1):
        assert f"BZ-BMP-2026-000042 — Page {number} of {pages}" in page.extract_text()
    assert "until 24 December 2026 (inclusive)" in " ".join(reader.pages[-1].extract_text().split())


def test_metadata_carries_no_personal_data():
    reader = read(render_decision_letter(content(language="es")))
    metadata = {key: str(value) for key, value in (reader.metadata or {}).items()}

    assert metadata["/Title"] == "Notificación de resolución"
    assert metadata.get("/Author", "") == ""
    for value in metadata.values():
        assert "Núñez" not in value
        assert "BZ-BMP-2026-000042" not in value


def test_rejection_without_appeal_deadline_is_refused():
    with pytest.raises(ValueError, match="appeal_due_on"):
        render_decision_letter(content(appeal_due_on=None))


# --- Decisions on appeal --------------------------------------------------------------------

def appeal_content(outcome: str, **changes: object) -> LetterContent:
    basis, grounds = {"recognized": ("convention", ["religion"]), "rejected": ("none", [])}[outcome]
    values: dict[str, object] = dict(appeal=True, outcome=outcome, legal_basis=basis, grounds=grounds,
                                     authority="Refugee appeal authority", appeal_due_on=None,
                                     appeal_body="")
    values.update(changes)
    return content(**values)


def test_an_allowed_appeal_recognizes_and_lists_rights():
    text = text_of(read(render_decision_letter(appeal_content("recognized"))))

    assert "Decision on your appeal" in text
    assert "Your appeal has been allowed: you are recognized as a refugee." in text
    assert "Decided by: Refugee appeal authority" in text
    assert "on the following grounds: religion." in text
    assert "family reunification" in text
    assert "Decision on your application for refugee status" not in text
    assert "(inclusive)" not in text
    assert "This decision on your appeal is final." not in text


def test_a_dismissed_appeal_is_final_and_names_no_deadline():
    # The appeal_due_on a caller might still pass is not printed: there is nothing to appeal.
    text = text_of(read(render_decision_letter(appeal_content("rejected",
                                                              appeal_due_on=datetime.date(2026, 12, 24)))))

    assert "Decision on your appeal" in text
    assert "Your appeal has been dismissed: the decision on your application stands." in text
    assert "This decision on your appeal is final." in text
    assert "You may appeal" not in text
    assert "(inclusive)" not in text
    assert "may still be accepted if you justify the delay" not in text
    assert "Your application has been rejected" not in text


def test_an_appeal_decided_with_complementary_protection_is_refused():
    with pytest.raises(ValueError, match=r"allowed \(recognized\) or dismissed"):
        render_decision_letter(content(appeal=True, outcome="complementary", legal_basis="complementary",
                                       appeal_due_on=None, appeal_body=""))


# --- The letter of the decision that stands (rsd.services.decision_letter) -------------------

@pytest.mark.django_db
def test_the_letter_after_a_dismissed_appeal_is_the_appeal_decision(cr):
    from rsd import selectors, services

    case = cr.at("appeal_decided")
    appeal = selectors.appeal_decision(case)
    assert selectors.governing_decision(case) == appeal

    text = text_of(read(services.decision_letter(by=cr.staff.caseworker, case=case, language="en")))

    assert "Decision on your appeal" in text
    assert "Your appeal has been dismissed: the decision on your application stands." in text
    assert "This decision on your appeal is final." in text
    assert "Decided by: Administrative Migration Tribunal" in text   # Costa Rica's appeal body
    assert "(inclusive)" not in text
    assert "Delivered on: ____" in text


@pytest.mark.django_db
def test_the_letter_after_an_allowed_appeal_recognizes(unhcr):
    from rsd import services

    case = unhcr.at("appeal_decided", appeal_outcome="recognized")
    unhcr.notify(case)

    text = text_of(read(services.decision_letter(by=unhcr.staff.caseworker, case=case, language="en")))

    assert "Your appeal has been allowed: you are recognized as a refugee." in text
    assert "Decided by: Appeal eligibility officer" in text
    assert "Delivered on: " in text and "Delivered on: ____" not in text
    assert "family reunification" in text


@pytest.mark.django_db
def test_before_the_appeal_is_decided_the_first_decision_stands(bz):
    from rsd import selectors, services

    case = bz.at("appeal_lodged")
    first = selectors.first_instance_decision(case)
    assert selectors.governing_decision(case) == first
    assert selectors.appeal_decision(case) is None

    text = text_of(read(services.decision_letter(by=bz.staff.caseworker, case=case, language="en")))

    assert "Decision on your application for refugee status" in text
    assert "Decision on your appeal" not in text
    assert "You may appeal this decision to Refugee appeal authority until" in text


@pytest.mark.django_db
def test_a_reopened_file_decided_again_prints_the_new_first_decision(mx):
    from django.utils import timezone

    from rsd import selectors, services

    # Given an appeal dismissed, then the file reopened and decided again at first instance
    case = mx.at("rejected_final")
    mx.step(case, "reopen", ground="new_evidence")
    mx.schedule(case)
    mx.hold_interview(case, on=timezone.localdate())
    mx.submit(case, "recognized")
    new = mx.first_decision(case, "recognized", by=mx.staff.supervisor2, decided_on=timezone.localdate())

    assert selectors.governing_decision(case) == new
    text = text_of(read(services.decision_letter(by=mx.staff.caseworker, case=case, language="en")))
    assert "Your application has been accepted: you are recognized as a refugee." in text


@pytest.mark.django_db
def test_a_dismissed_appeal_against_complementary_protection_does_not_deny_all_protection(cr):
    from rsd import services

    case = cr.at("complementary")

    text = text_of(read(services.decision_letter(by=cr.staff.caseworker, case=case, language="en")))

    assert "Your appeal has been dismissed: the decision on your application stands." in text
    assert "No ground for international protection was found to apply." not in text


def test_a_spanish_letter_on_appeal_is_all_spanish():
    text = text_of(read(render_decision_letter(appeal_content(
        "rejected", language="es", authority="Tribunal Administrativo de Migración"))))

    for english in ("Decision on your appeal", "Your appeal has been dismissed", "is final"):
        assert english not in text


@pytest.mark.django_db
def test_the_office_names_its_own_appeal_body_and_address_on_its_letters(bz):
    from rsd import services

    case = bz.at("decided", outcome="rejected")
    office = case.office
    office.address = "Calle Ficticia 12\nBelmopán"
    office.appeal_body = "Tribunal de Apelaciones de Ejemplo"
    office.save()
    case.refresh_from_db()

    text = text_of(read(services.decision_letter(by=bz.staff.caseworker, case=case, language="es")))

    assert "Calle Ficticia 12 Belmopán" in text
    assert "ante Tribunal de Apelaciones de Ejemplo hasta el" in text
    assert "Refugee appeal authority" not in text
