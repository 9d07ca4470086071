"""The asylum procedure's part of a person's copy of their data (rsd/subject_export.py)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import subject_requests
from rsd.models import Application, EligibilityAssessment, Interview

pytestmark = pytest.mark.usefixtures("file_root")


def _copy(client, user, case, **params) -> dict:
    asked = subject_requests.record_request(
        by=case.assigned_to, person=case.principal, kind="access", channel="writing",
        received_on=timezone.localdate())
    client.force_login(user)
    response = client.post(reverse("subject_request_export", args=[asked.pk]),
                          {"format": "json", "language": "es", **params})
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_copy_holds_the_claim_in_spanish_and_leaves_out_the_assessment(client, bz):
    case = bz.at("under_review")
    application = Application.objects.get(case=case)
    assessment = EligibilityAssessment.objects.get(case=case)

    data = _copy(client, bz.staff.caseworker, case)

    sections = {s["key"]: s for s in data["sections"]}
    claim = sections["rsd.applications"]["records"][0]
    assert claim["narrative"] == application.narrative and claim["case"] == case.reference
    assert sections["rsd.applications"]["labels"]["narrative"] == "Relato"
    interview = sections["rsd.interviews"]["records"][0]
    assert interview["place"] == Interview.objects.get(case=case).place
    assert "rsd.assessments" not in sections
    assert assessment.credibility not in json.dumps(data, ensure_ascii=False)
    assert "La evaluación de elegibilidad de su solicitud." in data["withheld"]


def test_a_supervisor_includes_the_assessment(client, bz):
    case = bz.at("under_review")
    assessment = EligibilityAssessment.objects.get(case=case)

    data = _copy(client, bz.staff.supervisor, case, internal="1")

    sections = {s["key"]: s for s in data["sections"]}
    assert sections["rsd.assessments"]["records"][0]["credibility"] == assessment.credibility
    assert data["withheld"] == []
