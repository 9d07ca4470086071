"""A trafficking event's form with a malformed date is recorded as `form.invalid` (the one
place: cases/forms.py RecordsInvalid), without the place or the dates typed."""

from __future__ import annotations

import json

from django.urls import reverse
from faker import Faker

from audit.models import AuditEvent
from tip.models import TraffickingEvent
from tip.procedures import States

fake = Faker(["es_MX", "es"])


def test_a_malformed_date_on_the_event_page_is_recorded_without_what_was_typed(tip, client):
    case = tip.at(States.ACTIVE)
    client.force_login(tip.caseworker)
    place = fake.city()

    response = client.post(reverse("tip:event_add", args=[case.pk]),
                           {"kind": "Transit", "country": "ZZ", "place": place,
                            "started_on": "2024-13-45", "ended_on": "ayer"})

    assert response.status_code == 400
    [event] = AuditEvent.objects.filter(action="form.invalid")
    assert event.details["form"] == "tip.forms.EventForm"
    assert event.details["fields"] == {"country": ["invalid_choice"], "started_on": ["invalid"],
                                       "ended_on": ["invalid"]}
    assert event.actor_id == tip.caseworker.pk and event.office_id == case.office_id
    recorded = json.dumps(event.details, ensure_ascii=False)
    assert place not in recorded and "2024-13-45" not in recorded and "ayer" not in recorded
    assert not TraffickingEvent.objects.filter(case=case).exists()
