"""Recording consent from the person page."""

from __future__ import annotations

from django.urls import reverse

from cases import consent


def test_a_caseworker_records_and_withdraws_consent_on_the_person_page(client, case, caseworker):
    person = case.principal
    client.force_login(caseworker)
    url = reverse("consent_record", args=[person.pk])

    client.post(url, {"purpose": "sharing", "given": "yes", "language": "es"})
    page = client.get(reverse("person_detail", args=[person.pk])).content.decode()
    assert consent.allows(person, "sharing")
    assert 'id="consent-sharing"' in page and "yes" in page.split('id="consent-sharing"')[1][:200]

    half = client.post(url, {"purpose": "sharing", "language": "es"}, follow=True)
    assert "Choose the purpose, the answer and the language." in half.content.decode()
    assert consent.allows(person, "sharing")  # nothing changed

    client.post(url, {"purpose": "sharing", "given": "no", "language": "en"})
    assert not consent.allows(person, "sharing")
