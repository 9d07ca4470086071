"""The auditor's dashboard: activity, refused requests and the chain, of their offices only."""

import pytest
from django.urls import reverse

from audit import chain
from cases import events

pytestmark = pytest.mark.django_db


def test_the_auditor_sees_refused_requests_of_their_offices_only(
        client, auditor, caseworker, other_caseworker, office, other_office):
    events.emit("case.view", actor=caseworker, outcome="denied", office_id=office.pk,
                object_type="cases.case", object_id="x")
    events.emit("case.view", actor=other_caseworker, outcome="denied", office_id=other_office.pk,
                object_type="cases.case", object_id="y")
    chain.link_all()
    client.force_login(auditor)

    page = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'id="audit-summary"' in page and "not available yet" not in page
    assert 'id="audit-refused-count">1<' in page
    assert caseworker.username in page and other_caseworker.username not in page
    assert "Case viewed" in page  # the action's label, not its code
    assert f'href="{reverse("audit_events")}?outcome=denied' in page


def test_a_missing_checkpoint_is_flagged(client, auditor):
    client.force_login(auditor)
    page = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="checkpoint-stale"' in page


def test_other_roles_get_no_audit_part(client, caseworker, office_admin):
    for user in (caseworker, office_admin):
        client.force_login(user)
        assert 'id="audit-summary"' not in client.get(reverse("dashboard")).content.decode()


def test_events_not_yet_chained_are_counted(client, auditor, caseworker, office, settings):
    settings.AMPARO_AUDIT_LINKER = "background"
    for _ in range(3):
        events.emit("case.list", actor=caseworker, office_id=office.pk, show="mine", cases=[])
    client.force_login(auditor)
    page = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # The auditor's own dashboard view is an event too, linked or not by the time it counts.
    assert int(page.split('id="audit-unlinked">', 1)[1].split("<", 1)[0].rstrip("+")) >= 3
    chain.link_all()
    page = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert int(page.split('id="audit-unlinked">', 1)[1].split("<", 1)[0]) <= 1
