"""The asylum procedure of Belize (rsd.bz) driven through the real pages, as staff use them.

The caseworker and the supervisor each have their own browser context (their own cookies).
Steps are reached through the buttons of the case page's procedure card, not typed URLs.
"""

import datetime
import io
import re

import pytest
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from cases import services as case_services
from cases.models import Case, CaseStep, Role
from rsd import services
from rsd.models import Decision, EligibilityAssessment, Interview, InterviewStatus, Stage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONFLICT = "Someone else recorded a step on this case a moment ago"
# The steps of a recognition in Belize, as the timeline labels them (first to last).
RECOGNITION_STEPS = [
    "Record the application",
    "Schedule the interview",
    "Record the interview",
    "Submit the assessment for review",
    "Approve the assessment for the Committee",
    "Record the Committee's recommendation",
    "Record the Minister's decision",
    "Record the notification",
]
COMMITTEE_RECORDED = "The Committee's recommendation is recorded; the decision is the Minister's."
SUPERVISOR_STEPS = ("approve_assessment", "return_assessment", "record_committee_recommendation",
                    "record_minister_decision", "confirm_abandonment", "keep_open")


def field(page, field_id: str):
    """The block of one form field: its label, input and the error beside it."""
    return page.locator(".form-field", has=page.locator(f"#{field_id}"))


def action(page, name: str):
    """The procedure card's button for step `name` (a link to the step's form)."""
    return page.locator(f"#procedure-actions a[data-step='{name}']")


def take(page, name: str, title: str) -> None:
    """Click the step's button on the case page and wait for its form."""
    action(page, name).click()
    expect(page.locator("#step-title")).to_have_text(title)


def submit(page, title: str) -> None:
    page.locator("#step-form").get_by_role("button", name=title, exact=True).click()


def expect_case_page(page, case: Case, state: str, message: str | None = None) -> None:
    expect(page).to_have_url(re.compile(rf"/cases/{case.pk}/$"))
    expect(page.locator("#procedure-state")).to_have_text(state)
    if message:
        expect(page.locator(".alert-success")).to_have_text(message)


def shift_interview_into_the_past(case: Case) -> None:
    # A test-only time shift: the form only takes an interview in the future and the
    # interview can only be recorded from its day on; the test cannot wait a day.
    moved = Interview.objects.filter(case=case, status=InterviewStatus.SCHEDULED).update(
        scheduled_for=F("scheduled_for") - datetime.timedelta(days=2))
    assert moved == 1


@pytest.mark.parametrize("lang", ["en"])
def test_a_recognition_from_registration_to_notification(new_page, staff, login):
    today = timezone.localdate()
    caseworker, supervisor = staff["caseworker"], staff["supervisor"]

    # --- 1. The caseworker registers the applicant and opens an asylum case. ---------------
    page = new_page()
    login(page, caseworker)
    page.locator("nav").get_by_role("link", name="Register a person").click()
    page.fill("#id_given_names", "Yesenia Marisol")
    page.fill("#id_family_names", "Alvarado Núñez")
    page.fill("#id_date_of_birth", "1994-02-11")
    page.select_option("#id_sex", "female")
    page.select_option("#id_nationalities", ["HN"])
    page.select_option("#id_languages", ["es"])
    page.get_by_role("button", name="Register", exact=True).click()
    expect(page.locator("#person-name")).to_have_text("Yesenia Marisol Alvarado Núñez")

    form = page.locator("#open-case-form")
    form.locator("#id_kind").select_option("asylum")
    form.get_by_role("button", name="Open case").click()
    expect(page).to_have_url(re.compile(r"/cases/[0-9a-f-]{36}/$"))
    case = Case.objects.get()
    expect(page.locator("#case-reference")).to_contain_text(case.reference)
    expect(page.locator("#procedure-state")).to_have_text("Application to record")

    # The application, 30 days after arrival: late in Belize (14 days); refused without why.
    take(page, "register", "Record the application")
    expect(page.locator("#id_application_date")).to_have_value(today.isoformat())
    page.fill("#id_arrival_date", (today - datetime.timedelta(days=30)).isoformat())
    page.fill("#id_place_of_entry", "Benque Viejo del Carmen")
    page.select_option("#id_channel", "border")
    page.fill("#id_claim_summary", "Amenazada por una pandilla tras denunciar una extorsión.")
    submit(page, "Record the application")
    error = page.locator("#id_late_justification_error")
    expect(error).to_have_text("The application comes more than 14 days after arrival: record why.")
    expect(page.locator("#id_late_justification")).to_have_attribute("aria-invalid", "true")
    expect(field(page, "id_claim_summary").locator(".invalid-feedback")).to_have_count(0)
    expect(page.locator("#id_claim_summary")).to_have_value(
        "Amenazada por una pandilla tras denunciar una extorsión.")  # nothing lost
    assert CaseStep.objects.filter(case=case).count() == 0

    page.fill("#id_late_justification", "Estuvo hospitalizada las primeras semanas.")
    submit(page, "Record the application")
    expect_case_page(page, case, "Registered: interview to schedule", "Application recorded.")
    expect(page.locator("#late-flag")).to_be_visible()
    expect(page.locator("#application")).to_contain_text("Estuvo hospitalizada")

    # A child joins the application (which makes the case a priority).
    page.locator("#add-family").click()
    page.fill("#id_given_names", "Dulce María")
    page.fill("#id_family_names", "Alvarado")
    page.select_option("#id_sex", "female")
    page.fill("#id_date_of_birth", (today - datetime.timedelta(days=8 * 365)).isoformat())
    page.select_option("#id_relationship", "child")
    page.get_by_role("button", name="Add to the application").click()
    expect_case_page(page, case, "Registered: interview to schedule", "Family member added.")
    family = page.locator("#family tbody tr")
    expect(family).to_have_count(1)
    expect(family.first).to_contain_text("Dulce María Alvarado")
    expect(family.first).to_contain_text("Child")
    expect(page.locator("#priority-flag")).to_be_visible()

    # The interview, tomorrow morning.
    take(page, "schedule_interview", "Schedule the interview")
    tomorrow = today + datetime.timedelta(days=1)
    page.fill("#id_when", f"{tomorrow.isoformat()}T10:00")
    page.fill("#id_place", "Refugees Department, Belmopan, room 2")
    expect(page.locator("#id_interviewer")).to_have_value(str(caseworker.pk))
    expect(page.locator("#id_interpreter_language")).to_have_value("es")
    submit(page, "Schedule the interview")
    expect_case_page(page, case, "Interview scheduled", "Interview scheduled.")
    expect(page.locator("#interviews")).to_contain_text(f"{tomorrow.isoformat()} 10:00")

    # Before its day the interview is not offered for recording; once its day has come it is.
    expect(page.locator("#procedure-actions a[data-step='record_attendance']")).to_have_count(0)
    expect(page.locator("#procedure-actions a[data-step='reschedule_interview']")).to_have_count(1)
    shift_interview_into_the_past(case)
    page.reload()
    take(page, "record_attendance", "Record the interview")
    page.fill("#id_transcript", "P: ¿Por qué salió de Honduras?\nR: Me amenazaron de muerte.")
    page.fill("#id_notes", "Entrevista con intérprete; la solicitante estuvo tranquila.")
    submit(page, "Record the interview")
    expect_case_page(page, case, "Interviewed: assessment to write", "Interview recorded.")
    assert Interview.objects.get(case=case).transcript.splitlines() == [
        "P: ¿Por qué salió de Honduras?", "R: Me amenazaron de muerte."]

    # The assessment: first without the inclusion analysis, refused beside that field.
    take(page, "submit_assessment", "Submit the assessment for review")
    page.fill("#id_credibility", "Relato coherente y detallado, consistente con la información del país.")
    page.fill("#id_material_facts", "Amenazas de muerte de la pandilla tras la denuncia.")
    page.locator("#id_convention_grounds").get_by_label("Political opinion").check()
    page.select_option("#id_recommendation", "recognized")
    submit(page, "Submit the assessment for review")
    expect(page.locator("#id_inclusion_error")).to_have_text(
        "This part of the assessment is needed before review.")
    expect(field(page, "id_credibility").locator(".invalid-feedback")).to_have_count(0)
    expect(page.locator("#id_convention_grounds").get_by_label("Political opinion")).to_be_checked()
    assert not EligibilityAssessment.objects.exists()

    page.fill("#id_inclusion", "Temor fundado de persecución por opinión política imputada.")
    submit(page, "Submit the assessment for review")
    expect_case_page(page, case, "Assessment under review", "Assessment submitted for review.")
    # Supervisors' steps are not the caseworker's: no button, and the form is refused.
    for name in SUPERVISOR_STEPS:
        expect(action(page, name)).to_have_count(0)
    expect(page.locator("#procedure-actions a")).to_have_text(["Record a withdrawal"])
    expect(page.locator("#assessments")).to_contain_text("Submitted for review")
    response = page.goto(f"/asylum/cases/{case.pk}/steps/approve_assessment/")
    assert response.status == 403
    page.go_back()

    # --- 2. The supervisor approves, then records the Committee and the Minister. ----------
    boss = new_page()
    login(boss, supervisor)
    boss.locator("nav").get_by_role("link", name="Review queue").click()
    row = boss.locator(f"#review-queue tr[data-case='{case.pk}']")
    expect(row).to_contain_text("Assessment under review")
    expect(row).to_contain_text("Recognize refugee status")
    row.get_by_role("link", name=case.reference).click()
    expect_case_page(boss, case, "Assessment under review")

    take(boss, "approve_assessment", "Approve the assessment for the Committee")
    expect(boss.locator(".assessment")).to_contain_text("Temor fundado de persecución")
    boss.fill("#id_comments", "Bien fundamentada.")
    submit(boss, "Approve the assessment for the Committee")
    expect_case_page(boss, case, "Awaiting the Refugee Eligibility Committee", "Assessment approved.")

    take(boss, "record_committee_recommendation", "Record the Committee's recommendation")
    meeting = today - datetime.timedelta(days=1)
    boss.select_option("#id_outcome", "recognized")
    boss.select_option("#id_legal_basis", "convention")
    boss.locator("#id_grounds").get_by_label("Political opinion").check()
    boss.fill("#id_reasons", "The Committee recommends recognition.")
    boss.fill("#id_meeting_date", meeting.isoformat())
    submit(boss, "Record the Committee's recommendation")
    expect_case_page(boss, case, "Awaiting the Minister's decision", COMMITTEE_RECORDED)

    # Four-eyes in Belize concerns the assessment's author: this supervisor may decide.
    take(boss, "record_minister_decision", "Record the Minister's decision")
    expect(boss.locator("#committee-recommendation")).to_contain_text(meeting.isoformat())
    expect(boss.locator("#id_decided_on")).to_have_value(today.isoformat())
    boss.select_option("#id_outcome", "recognized")
    boss.select_option("#id_legal_basis", "convention")
    boss.locator("#id_grounds").get_by_label("Political opinion").check()
    boss.fill("#id_reasons", "Se reconoce la condición de refugiada por su opinión política.")
    submit(boss, "Record the Minister's decision")
    expect_case_page(boss, case, "Decided: to notify", "Decision recorded.")
    decision = Decision.objects.get(case=case, stage=Stage.FIRST_INSTANCE)
    assert (decision.outcome, decision.legal_basis, decision.grounds) == (
        "recognized", "convention", ["political_opinion"])
    assert decision.recorded_by == supervisor

    # --- 3. The caseworker prints the Spanish letter and records its delivery. -------------
    page.locator("nav").get_by_role("link", name="Dashboard").click()
    page.locator("#my-cases").get_by_role("link", name=case.reference).click()
    expect_case_page(page, case, "Decided: to notify")
    with page.expect_download() as download_info:
        page.locator("#letters").get_by_role("link", name="Decision letter (PDF), Spanish").click()
    download = download_info.value
    assert download.suggested_filename == f"{case.reference}.pdf"
    with open(download.path(), "rb") as fh:
        reader = PdfReader(io.BytesIO(fh.read()))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert case.reference in text
    assert "Resolución sobre su solicitud de la condición de refugiado" in text
    assert "Su solicitud ha sido aceptada: se le reconoce la condición de refugiado." in text
    assert "Yesenia Marisol Alvarado Núñez" in text
    assert "Dulce María Alvarado" in text  # the child shares the recognition

    take(page, "notify_recognition", "Record the notification")
    expect(page.locator("#id_delivered_on")).to_have_value(today.isoformat())
    expect(page.locator("#id_language")).to_have_value("es")
    submit(page, "Record the notification")
    expect_case_page(page, case, "Recognized", "Notification recorded.")
    expect(page.locator("#procedure-actions")).to_have_text("The procedure is closed.")
    case.refresh_from_db()
    assert case.state == "recognized"
    assert case.closed_at is not None
    # The timeline lists every step, newest first.
    timeline = page.locator("#timeline tbody tr")
    expect(timeline).to_have_count(len(RECOGNITION_STEPS))
    expect(timeline.locator("td:nth-child(2)")).to_have_text(list(reversed(RECOGNITION_STEPS)))
    actors = [caseworker] * 4 + [supervisor] * 3 + [caseworker]
    expect(timeline.locator("td:nth-child(3)")).to_have_text([str(u) for u in reversed(actors)])


# --- Set up through the services: these tests are about one page, not the whole way there. --

def _fresh(case: Case) -> Case:
    case.refresh_from_db()
    return case


@pytest.fixture
def asylum_case(staff, office, person_data):
    """An asylum case of the caseworker; `advance(case, to)` takes it to a later state."""
    caseworker = staff["caseworker"]
    person = case_services.register_person(by=caseworker, office=office, data=person_data())
    return case_services.open_case(by=caseworker, person=person, kind="asylum")


def advance(case: Case, to: str, *, caseworker, supervisor) -> Case:
    today = timezone.localdate()
    services.record_application(by=caseworker, case=case, data=services.ApplicationData(
        application_date=today, arrival_date=today - datetime.timedelta(days=3), channel="office",
        claim_summary="Amenazada por una pandilla."))
    if to == "registered":
        return _fresh(case)
    services.schedule_interview(by=caseworker, case=_fresh(case), place="Belmopan",
                                when=timezone.now() + datetime.timedelta(hours=2),
                                interviewer=caseworker)
    shift_interview_into_the_past(case)
    services.record_interview(by=caseworker, case=_fresh(case), attended=True,
                              transcript="P: ¿Por qué salió?\nR: Me amenazaron.")
    services.submit_assessment(by=caseworker, case=_fresh(case), data=services.AssessmentData(
        credibility="Creíble.", material_facts="Amenazas.", inclusion="Opinión política.",
        convention_grounds=["political_opinion"], recommendation="recognized"))
    if to == "under_review":
        return _fresh(case)
    services.review_assessment(by=supervisor, case=_fresh(case), approve=True)
    assert to == "committee"
    return _fresh(case)


@pytest.mark.parametrize("lang", ["en"])
def test_two_supervisors_record_the_same_step_and_the_second_is_told(
        new_page, staff, asylum_case, make_user, office, login):
    first = staff["supervisor"]
    second = make_user(Role.SUPERVISOR, office, preferred_language="en")
    case = advance(asylum_case, "committee", caseworker=staff["caseworker"], supervisor=first)
    title = "Record the Committee's recommendation"

    pages = []
    for who, reasons in ((first, "Recommends recognition."), (second, "Recognition, unanimously.")):
        page = new_page()
        login(page, who)
        page.locator("nav").get_by_role("link", name="Review queue").click()
        page.locator("#review-queue").get_by_role("link", name=case.reference).click()
        expect_case_page(page, case, "Awaiting the Refugee Eligibility Committee")
        take(page, "record_committee_recommendation", title)
        page.select_option("#id_outcome", "recognized")
        page.select_option("#id_legal_basis", "convention")
        page.locator("#id_grounds").get_by_label("Political opinion").check()
        page.fill("#id_reasons", reasons)
        page.fill("#id_meeting_date", timezone.localdate().isoformat())
        pages.append(page)

    submit(pages[0], title)
    expect_case_page(pages[0], case, "Awaiting the Minister's decision", COMMITTEE_RECORDED)

    with pages[1].expect_navigation() as navigation:
        submit(pages[1], title)
    assert navigation.value.status == 409
    expect(pages[1].locator("#form-errors")).to_have_text(
        f"{CONFLICT} (it is now: Awaiting the Minister's decision). Nothing was recorded; "
        "look at the case again before you go on.")
    expect(pages[1].locator("#id_reasons")).to_have_value("Recognition, unanimously.")

    # Back on the case page: one recommendation, the first one.
    pages[1].locator(".breadcrumb").get_by_role("link", name=case.reference).click()
    expect_case_page(pages[1], case, "Awaiting the Minister's decision")
    steps = pages[1].locator("#timeline tbody tr")
    expect(steps.filter(has_text=title)).to_have_count(1)
    expect(steps.filter(has_text=title)).to_contain_text(str(first))
    assert CaseStep.objects.filter(case=case, transition="record_committee_recommendation").count() == 1
    recommendation = Decision.objects.get(case=case)
    assert (recommendation.stage, recommendation.reasons) == (Stage.RECOMMENDATION,
                                                              "Recommends recognition.")


@pytest.mark.parametrize("lang", ["es"])
def test_the_procedure_card_speaks_spanish(page, staff, asylum_case, login):
    # Spanish texts as locale/es/LC_MESSAGES/django.po has them.
    case = advance(asylum_case, "registered", caseworker=staff["caseworker"],
                   supervisor=staff["supervisor"])
    login(page, staff["caseworker"])
    page.locator("#my-cases").get_by_role("link", name=case.reference).click()
    expect(page.locator("#case-reference")).to_contain_text(case.reference)

    card = page.locator("#procedure")
    expect(card.locator("h2")).to_have_text("Belice: Ley de Refugiados")
    expect(card.locator("#procedure-state")).to_have_text("Registrado: entrevista por programar")
    expect(card.locator("#deadlines")).to_contain_text("Entrevista (plazo objetivo)")
    expect(card.locator("#deadlines")).to_contain_text("vence en 183 días")
    expect(action(page, "schedule_interview")).to_have_text("Programar la entrevista")
    expect(action(page, "withdraw")).to_have_text("Registrar un desistimiento")
    expect(card.get_by_role("heading", name="Trámites realizados")).to_be_visible()
    expect(card.locator("#timeline thead")).to_contain_text("Trámite")
    expect(card.locator("#timeline tbody tr")).to_have_text(re.compile("Registrar la solicitud"))
    expect(card.locator("#application h3")).to_have_text("Solicitud")
    expect(card.locator("#family h3")).to_have_text("Familiares")
    expect(card.locator("#add-family")).to_have_text("Agregar un familiar")
    expect(card.locator("#decisions")).to_contain_text("Aún no hay resoluciones.")

    # The step's own page, reached by its button, speaks Spanish too.
    take(page, "schedule_interview", "Programar la entrevista")
    expect(page.locator("#step-state")).to_have_text("Registrado: entrevista por programar")
    expect(page.get_by_label("Fecha y hora")).to_be_visible()
    expect(page.locator("#step-form").get_by_role("button", name="Programar la entrevista")
           ).to_be_visible()
