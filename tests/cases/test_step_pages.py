"""The step-page framework (cases/steps.py) with a procedure of no app: what a new procedure
app gets without writing it (who may open and take a step, stale forms, refusals on the
record, service errors onto the form)."""

from __future__ import annotations

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from audit.models import AuditEvent
from cases import steps, workflow
from cases.models import Case, CaseStep, Role
from cases.steps import Step, StepForm, StepPage
from cases.workflow import ProcedureOptions, State, Transition, Workflow

CW, SUP = Role.CASEWORKER, Role.SUPERVISOR


class NoteForm(StepForm):
    note = forms.CharField(required=False)


def _form(step: Step, data) -> forms.Form:
    return NoteForm(data, initial=step.initial())


def _run(step: Step, form) -> tuple[str, str]:
    if form.cleaned_data["note"] == "refuse":
        raise ValidationError({"note": "The service says no."})
    workflow.fire(case=step.case, name=step.name, by=step.user, reason=form.cleaned_data["note"],
                  expected_step=step.expected)
    return "Done.", ""


TOY = Workflow(
    name="toy.pages", kind="trafficking", label="Toy with pages",
    states={"open": State("open", "Open"), "screened": State("screened", "Screened"),
            "closed": State("closed", "Closed", closed=True)},
    transitions={
        "screen": Transition("screen", "Screen", ("open",), "screened", (CW,)),
        "close": Transition("close", "Close", ("screened",), "closed", (SUP,)),
    },
    options=ProcedureOptions(step_url="toy_step"),
)


@pytest.fixture
def toy_case(use_workflow, case, caseworker, settings) -> Case:
    settings.ROOT_URLCONF = "tests.cases.step_urls"
    use_workflow(TOY)
    steps.register_pages("toy_step", {"screen": StepPage(_form, _run), "close": StepPage(_form, _run)})
    Case.objects.filter(pk=case.pk).update(procedure=TOY.name, assigned_to=caseworker)
    case.refresh_from_db()
    return case


def url(case: Case, name: str) -> str:
    return reverse("toy_step", kwargs={"case_id": case.pk, "name": name})


def test_the_assigned_caseworker_opens_and_takes_the_step(client, toy_case, caseworker):
    client.force_login(caseworker)

    page = client.get(url(toy_case, "screen"))
    assert page.status_code == 200
    assert b"Screen" in page.content

    done = client.post(url(toy_case, "screen"), {"expected_step": 0, "note": "seen"})
    assert done.status_code == 302
    assert Case.objects.get(pk=toy_case.pk).state == "screened"
    assert AuditEvent.objects.filter(action="case.view", object_id=str(toy_case.pk)).exists()


def test_a_role_the_step_does_not_name_is_refused_and_recorded(client, toy_case, supervisor):
    client.force_login(supervisor)

    assert client.get(url(toy_case, "screen")).status_code == 403
    assert client.post(url(toy_case, "screen"), {"expected_step": 0}).status_code == 403
    assert AuditEvent.objects.filter(action="case.transition", outcome="denied").count() == 1
    assert not CaseStep.objects.filter(case=toy_case).exists()


def test_another_office_gets_a_404(client, toy_case, other_caseworker):
    client.force_login(other_caseworker)

    assert client.get(url(toy_case, "screen")).status_code == 404


def test_a_step_the_case_is_not_at_sends_the_user_back(client, toy_case, supervisor):
    client.force_login(supervisor)

    response = client.get(url(toy_case, "close"))

    assert response.status_code == 302
    assert response["Location"] == reverse("case_detail", args=[toy_case.pk])


def test_a_stale_form_records_nothing_and_says_why(client, toy_case, caseworker):
    client.force_login(caseworker)
    workflow.fire(case=toy_case, name="screen", by=caseworker)

    response = client.post(url(toy_case, "screen"), {"expected_step": 0, "note": "late"})

    assert response.status_code == 409
    assert b"Someone else recorded a step" in response.content
    assert CaseStep.objects.filter(case=toy_case).count() == 1


def test_service_errors_land_on_the_form(client, toy_case, caseworker):
    client.force_login(caseworker)

    response = client.post(url(toy_case, "screen"), {"expected_step": 0, "note": "refuse"})

    assert response.status_code == 400
    assert b"The service says no." in response.content
    assert Case.objects.get(pk=toy_case.pk).state == "open"


def test_an_unknown_step_is_a_404(client, toy_case, caseworker):
    client.force_login(caseworker)

    assert client.get(url(toy_case, "fly")).status_code == 404


def test_a_page_reads_a_record_once_for_the_form_and_what_it_shows(rf, toy_case, caseworker):
    request = rf.get("/")
    request.user = caseworker
    step = Step(request=request, case=toy_case, wf=TOY, transition=TOY.transitions["screen"])
    reads = []

    def read():
        reads.append(1)
        return len(reads)

    assert step.once("record", read) == 1
    assert step.once("record", read) == 1
    assert step.once("other", read) == 2
    assert len(reads) == 2
