"""The legal deadlines' rows of the statistics' summary table follow the workflow: a step
that starts or meets a period, and a transfer that moves the running ones (stats/facts.py);
they are what a rebuild from the deadlines gives."""

from __future__ import annotations

from django.utils import timezone

from cases import handovers
from cases.models import Case, CaseDeadline, Office
from stats import facts
from stats.indicators import BY_KEY, Filters, Period
from stats.models import Fact


def _rows(case: Case) -> set[tuple]:
    return set(Fact.objects.filter(case=case, kind=Fact.DEADLINE).values_list(
        "office_id", "a", "on", "until", "nationality", "sex", "birth_year"))


def _counts(*offices: Office) -> dict[str, int]:
    f = Filters(allowed=frozenset(o.pk for o in offices), period=Period(timezone.localdate().year))
    return BY_KEY["legal_deadlines"].count(f)


def test_a_step_starts_and_meets_periods_and_a_transfer_moves_the_running_ones(
        mx, mx_staff, mx_office, make_user):
    case = mx.at("registered")
    registered = CaseDeadline.objects.get(case=case, clock="decision")
    assert {(r[1], r[2], r[3]) for r in _rows(case)} == {
        ("interview", None, CaseDeadline.objects.get(case=case, clock="interview").due_on),
        ("decision", None, registered.due_on)}
    principal = case.principal
    assert {r[4:] for r in _rows(case)} == {((principal.nationalities or [""])[0],
                                             principal.sex, principal.birth_year)}

    mx.schedule(case)
    mx.hold_interview(case)  # the interview target met today
    today = timezone.localdate()
    assert {(r[1], r[2]) for r in _rows(case)} == {("interview", today), ("decision", None)}
    assert _counts(mx_office).get("interview_on_time") == 1

    # Transferred: the running decision period goes with the case, the interview target met
    # in Tapachula stays there.
    other = Office.objects.create(code="MX-CDMX", name="COMAR Ciudad de México", country="MX",
                                  city="Ciudad de México")
    receiving = make_user("supervisor", other)
    offer = handovers.offer(by=mx_staff.supervisor, case=Case.objects.get(pk=case.pk),
                            to_office=other, reason="Vive ahora en la capital")
    handovers.accept(by=receiving, handover=offer)
    assert {(r[0], r[1]) for r in _rows(case)} == {(mx_office.pk, "interview"),
                                                   (other.pk, "decision")}
    assert _counts(mx_office).get("interview_on_time") == 1
    assert set(CaseDeadline.objects.filter(case=case).values_list("office_id", "clock")) == {
        (mx_office.pk, "interview"), (other.pk, "decision")}

    # What the signals wrote is what the deadlines give.
    written = _rows(case)
    Fact.objects.filter(case=case).delete()
    facts.refresh([case.pk])
    assert _rows(case) == written


def test_an_appeal_lodged_has_its_row(mx, mx_staff):
    case = mx.at("appeal_lodged")
    rows = list(Fact.objects.filter(case=case, kind=Fact.APPEAL).values_list("a", "on"))
    appeal = case.appeals.get()
    assert rows == [("rejected", appeal.lodged_on)]
    # Deciding the appeal adds its decision's row, not a second appeal's.
    mx.decide_appeal(case, "rejected")
    assert Fact.objects.filter(case=case, kind=Fact.APPEAL).count() == 1
    assert Fact.objects.filter(case=case, kind=Fact.DECISION, a="ar_rejected").count() == 1
