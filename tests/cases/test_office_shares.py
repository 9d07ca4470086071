"""Shares with an office: its caseworkers and supervisors of the day and those who join later
see the chosen parts while the share lasts; who leaves loses them (cases/shares.py)."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from cases import access, consent, selectors, services, shares
from cases.models import CaseUserObjectPermission, Office, OfficeShare, Role, User
from tests.conftest import pdf_bytes

pytestmark = pytest.mark.usefixtures("file_root")

SOON = timezone.localdate() + datetime.timedelta(days=10)


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def sees(user: User, case) -> bool:
    return selectors.visible_cases(fresh(user)).filter(pk=case.pk).exists()


@pytest.fixture
def full_case(case, caseworker):
    services.add_note(by=caseworker, case=case, text="Teme a su expareja, que la buscó en Tegucigalpa")
    services.add_document(by=caseworker, case=case, title="Denuncia", filename="denuncia.pdf",
                          data=pdf_bytes("denuncia"))
    consent.record(by=caseworker, person=case.principal, purpose="sharing", given=True,
                   language="es")
    return case


@pytest.fixture
def other_admin(make_user, other_office) -> User:
    return make_user("office_admin", other_office)


@pytest.fixture
def shared(full_case, supervisor, other_office, other_caseworker) -> OfficeShare:
    return shares.share_with_office(by=supervisor, case=full_case, office=other_office,
                                    parts=["procedure"], until=SOON, reason="Remisión regional")


def test_who_joins_the_office_later_sees_the_shared_parts_and_only_those(
        client, full_case, shared, other_office, other_admin, make_user):
    newcomer = make_user()
    assert not sees(newcomer, full_case)

    services.grant_membership(by=other_admin, user=newcomer, office=other_office,
                              role=Role.CASEWORKER)

    reader = fresh(newcomer)
    assert selectors.get_case(reader, full_case.pk) == full_case
    assert access.case_parts(reader, full_case) == {"procedure"}
    grants = CaseUserObjectPermission.objects.filter(content_object=full_case, user=newcomer)
    assert {g.permission.codename for g in grants} == {"view_case", "view_case_procedure"}
    assert {g.office_share_id for g in grants} == {shared.pk}
    assert {g.expires_at for g in grants} == {shared.expires_at}
    assert grants.first().history.latest().history_user == other_admin
    event = AuditEvent.objects.filter(action="case.share", details__user=newcomer.pk).get()
    assert event.actor_id == other_admin.pk and event.details["office"] == other_office.pk
    client.force_login(newcomer)
    html = client.get(reverse("case_detail", args=[full_case.pk])).content.decode()
    assert 'id="procedure"' in html
    assert 'id="notes"' not in html and "Tegucigalpa" not in html and 'id="documents"' not in html


def test_an_auditor_or_an_inactive_account_joining_gets_nothing(full_case, shared, other_office,
                                                                other_admin, make_user):
    auditor = make_user()
    services.grant_membership(by=other_admin, user=auditor, office=other_office, role=Role.AUDITOR)
    gone = make_user(is_active=False)
    services.grant_membership(by=other_admin, user=gone, office=other_office, role=Role.CASEWORKER)
    assert not sees(auditor, full_case) and not sees(gone, full_case)
    assert not CaseUserObjectPermission.objects.filter(user__in=[auditor, gone]).exists()


def test_who_leaves_the_office_or_the_role_loses_it(full_case, shared, other_office,
                                                    other_admin, other_caseworker, make_user):
    both = make_user("caseworker", other_office)
    services.grant_membership(by=other_admin, user=both, office=other_office, role=Role.SUPERVISOR)
    assert sees(other_caseworker, full_case) and sees(both, full_case)

    services.revoke_membership(by=other_admin, membership=other_caseworker.memberships.get())
    # One of two case roles there taken away: still a supervisor of the office.
    services.revoke_membership(by=other_admin,
                               membership=both.memberships.get(role=Role.CASEWORKER))

    assert not sees(other_caseworker, full_case)
    assert access.case_parts(fresh(other_caseworker), full_case) == frozenset()
    assert not CaseUserObjectPermission.objects.filter(user=other_caseworker).exists()
    event = AuditEvent.objects.get(action="case.unshare", details__user=other_caseworker.pk)
    assert event.actor_id == other_admin.pk and event.details["office"] == other_office.pk
    removed = CaseUserObjectPermission.history.filter(user=other_caseworker, history_type="-")
    assert removed.count() == 2 and {h.history_user for h in removed} == {other_admin}
    assert access.case_parts(fresh(both), full_case) == {"procedure"}
    # Back in the office while the share lasts: it reaches them again.
    services.grant_membership(by=other_admin, user=other_caseworker, office=other_office,
                              role=Role.CASEWORKER)
    assert access.case_parts(fresh(other_caseworker), full_case) == {"procedure"}


def test_a_deactivated_account_loses_it_and_gets_it_back_when_reactivated(
        full_case, shared, other_admin, other_caseworker):
    services.set_staff_active(by=other_admin, user=other_caseworker, active=False, reason="Baja")
    assert not CaseUserObjectPermission.objects.filter(user=other_caseworker).exists()
    services.set_staff_active(by=other_admin, user=other_caseworker, active=True)
    assert access.case_parts(fresh(other_caseworker), full_case) == {"procedure"}


def test_ending_the_office_share_removes_every_member_s_grants(
        client, full_case, shared, supervisor, caseworker, other_office, other_supervisor,
        other_caseworker, other_admin, make_user):
    url = reverse("case_office_unshare", args=[full_case.pk, shared.pk])
    client.force_login(caseworker)  # not a supervisor
    assert client.post(url).status_code == 403
    client.force_login(other_supervisor)  # a supervisor of the office it is shared with
    assert client.post(url).status_code == 403
    assert sees(other_caseworker, full_case) and sees(other_supervisor, full_case)

    client.force_login(supervisor)
    assert client.post(url).status_code == 302

    for user in (other_caseworker, other_supervisor):
        assert not sees(user, full_case)
    assert not CaseUserObjectPermission.objects.filter(content_object=full_case).exists()
    assert not OfficeShare.objects.exists()
    assert AuditEvent.objects.filter(action="case.unshare", actor_id=supervisor.pk).count() == 2
    assert AuditEvent.objects.filter(action="case.office_unshare").count() == 1
    assert OfficeShare.history.filter(history_type="-").get().history_user == supervisor
    later = make_user()
    services.grant_membership(by=other_admin, user=later, office=other_office, role=Role.CASEWORKER)
    assert not sees(later, full_case)
    assert client.post(url).status_code == 404  # nothing left to end


def test_the_office_share_expires_with_all_its_grants(full_case, shared, other_office,
                                                     other_admin, other_caseworker,
                                                     other_supervisor, make_user):
    assert shares.expire(now=shared.expires_at - datetime.timedelta(seconds=1)) == 0
    assert sees(other_caseworker, full_case)

    assert shares.expire(now=shared.expires_at) == 2

    assert not CaseUserObjectPermission.objects.filter(content_object=full_case).exists()
    assert not OfficeShare.objects.exists()
    expired = AuditEvent.objects.filter(action="case.share_expire")
    assert {e.details["user"] for e in expired} == {other_caseworker.pk, other_supervisor.pk}
    assert all(e.actor_id is None for e in expired)
    assert AuditEvent.objects.filter(action="case.office_share_expire").count() == 1
    later = make_user()
    services.grant_membership(by=other_admin, user=later, office=other_office, role=Role.CASEWORKER)
    assert not sees(later, full_case)
    assert shares.expire(now=shared.expires_at) == 0


def test_an_ended_office_share_reaches_no_one_joining_before_the_task_runs(
        full_case, shared, other_office, other_admin, make_user):
    OfficeShare.objects.update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    CaseUserObjectPermission.objects.update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    later = make_user()
    services.grant_membership(by=other_admin, user=later, office=other_office, role=Role.CASEWORKER)
    assert not CaseUserObjectPermission.objects.filter(user=later).exists()
    assert shares.office_shares(full_case) == []


def test_another_office_s_staff_never_get_it(full_case, shared, make_user):
    third = Office.objects.create(code="GT-GUA", name="Oficina de Guatemala", country="GT")
    admin = make_user("office_admin", third)
    there = make_user("caseworker", third)
    services.grant_membership(by=admin, user=make_user(), office=third, role=Role.SUPERVISOR)
    assert not sees(there, full_case)
    assert not CaseUserObjectPermission.objects.filter(user__memberships__office=third).exists()


def test_who_sees_the_case_already_is_not_granted_twice(
        full_case, supervisor, caseworker, office, other_office, other_caseworker, other_admin):
    # A named share with a staff member of the office: it stays theirs.
    shares.share(by=supervisor, case=full_case, user=other_caseworker, parts=["notes"],
                 until=SOON, reason="Acompañamiento")
    # A supervisor of the case's office who also works in the other office sees all of it.
    services.grant_membership(by=None, user=supervisor, office=other_office, role=Role.CASEWORKER)

    made = shares.share_with_office(by=supervisor, case=full_case, office=other_office,
                                    parts=["procedure"], until=SOON, reason="Remisión regional")

    assert not made.grants.filter(user__in=[other_caseworker, supervisor]).exists()
    assert access.case_parts(fresh(other_caseworker), full_case) == {"notes"}
    assert access.case_parts(fresh(supervisor), full_case) == access.ALL_PARTS
    # The named share ended, the office's reaches them.
    shares.revoke(by=supervisor, case=full_case, user=other_caseworker)
    assert access.case_parts(fresh(other_caseworker), full_case) == {"procedure"}
    assert made.grants.filter(user=other_caseworker).count() == 2
    # A named share again replaces the office's grants for them.
    shares.share(by=supervisor, case=full_case, user=other_caseworker, parts=["documents"],
                 until=SOON, reason="Acompañamiento")
    assert access.case_parts(fresh(other_caseworker), full_case) == {"documents"}
    assert not made.grants.filter(user=other_caseworker).exists()


def test_sharing_with_the_office_again_replaces_parts_and_end(full_case, shared, supervisor,
                                                             other_office, other_caseworker):
    later = SOON + datetime.timedelta(days=5)
    again = shares.share_with_office(by=supervisor, case=full_case, office=other_office,
                                     parts=["notes", "documents"], until=later, reason="Más")
    assert again.pk == shared.pk
    assert access.case_parts(fresh(other_caseworker), full_case) == {"notes", "documents"}
    assert {g.expires_at for g in again.grants.all()} == {again.expires_at}
    assert OfficeShare.objects.count() == 1


def test_a_closed_office_or_a_wrong_end_is_refused(full_case, supervisor, other_office):
    other_office.is_active = False
    other_office.save()
    with pytest.raises(ValidationError) as refused:
        shares.share_with_office(by=supervisor, case=full_case, office=other_office,
                                 parts=["procedure"], until=timezone.localdate(), reason="x")
    assert {"office", "until"} <= set(refused.value.error_dict)
    assert not OfficeShare.objects.exists()


def test_the_share_page_lists_the_office_as_one_entry(client, full_case, shared, supervisor,
                                                      other_office):
    client.force_login(supervisor)
    html = client.get(reverse("case_share", args=[full_case.pk])).content.decode()
    assert html.count('class="card card-body mb-2 office-share"') == 1
    assert f'data-office="{other_office.code}"' in html
    assert 'class="card card-body mb-2 share"' not in html  # its members are not listed one by one
    assert reverse("case_office_unshare", args=[full_case.pk, shared.pk]) in html
    assert (SOON).isoformat() in html


def test_the_recipients_take_the_same_queries_however_many_staff(full_case, other_office,
                                                                  make_user):
    make_user("caseworker", other_office)

    def count(call) -> int:
        with CaptureQueriesContext(connection) as queries:
            call()
        return len(queries)

    few_office = count(lambda: shares.office_recipients(full_case, other_office))
    few_all = count(lambda: shares.recipients(full_case))
    for _ in range(6):
        make_user("caseworker", other_office)
    make_user("supervisor", other_office)
    assert len(shares.office_recipients(full_case, other_office)) == 8
    assert count(lambda: shares.office_recipients(full_case, other_office)) == few_office
    assert count(lambda: shares.recipients(full_case)) == few_all


def test_the_case_timeline_shows_the_office_share_made_and_ended(client, full_case, shared,
                                                                supervisor, auditor):
    shares.revoke_office(by=supervisor, case=full_case, office_share_id=shared.pk, reason="Fin")
    client.force_login(auditor)
    answer = client.get(reverse("audit_case_timeline", kwargs={"reference": full_case.reference}),
                        headers={"Accept-Language": "en"})
    assert answer.status_code == 200
    whats = [e.what for e in answer.context["entries"] if e.kind == "change"]
    assert "share with an office · created" in whats
    assert "share with an office · deleted" in whats


def test_messages_may_go_to_an_office_the_case_is_shared_with(full_case, supervisor):
    from cases import secure_messages
    empty = Office.objects.create(code="PA-PTY", name="Oficina de Panamá", country="PA")
    assert empty not in secure_messages.recipient_offices(full_case)
    made = shares.share_with_office(by=supervisor, case=full_case, office=empty, parts=[],
                                    until=SOON, reason="Remisión")
    assert not made.grants.exists()  # nobody works there yet
    assert empty in secure_messages.recipient_offices(full_case)
    shares.revoke_office(by=supervisor, case=full_case, office_share_id=made.pk)
    assert empty not in secure_messages.recipient_offices(full_case)


def test_closing_the_office_ends_its_shares_and_reopening_brings_none_back(
        client, full_case, shared, other_office, other_caseworker, system_admin, make_user):
    from tests.cases.test_configuration import office_form

    kept = make_user(Role.CASEWORKER, other_office)  # a member of the day
    assert sees(other_caseworker, full_case) and sees(kept, full_case)
    client.force_login(system_admin)
    url = reverse("admin:cases_office_change", args=[other_office.pk])
    form = office_form(other_office)
    del form["is_active"]  # the box unticked

    assert client.post(url, form).status_code == 302

    assert not Office.objects.get(pk=other_office.pk).is_active
    assert not OfficeShare.objects.filter(office=other_office).exists()
    assert not CaseUserObjectPermission.objects.filter(content_object=full_case).exists()
    assert not sees(other_caseworker, full_case) and not sees(kept, full_case)
    ended = AuditEvent.objects.get(action="case.office_unshare")
    assert (ended.actor_id, ended.details["office"], ended.details["closed"]) == (
        system_admin.pk, other_office.pk, True)
    assert AuditEvent.objects.filter(action="case.unshare").count() == 2  # one per member

    assert client.post(url, office_form(other_office)).status_code == 302  # reopened
    assert Office.objects.get(pk=other_office.pk).is_active
    assert not sees(other_caseworker, full_case) and not sees(kept, full_case)


def test_a_change_that_leaves_the_office_open_keeps_its_shares(client, full_case, shared,
                                                                other_office, other_caseworker,
                                                                system_admin):
    from tests.cases.test_configuration import office_form

    client.force_login(system_admin)
    url = reverse("admin:cases_office_change", args=[other_office.pk])
    assert client.post(url, office_form(other_office, city="Orange Walk")).status_code == 302
    assert OfficeShare.objects.filter(pk=shared.pk).exists() and sees(other_caseworker, full_case)
