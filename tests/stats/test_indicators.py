"""Each indicator on a hand-built set of cases, with the expected numbers worked out here."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from cases import consent, handovers
from cases.models import Case, ConsentPurpose, Handover, Office
from stats import indicators
from stats.indicators import Filters, Period
from stats.suppression import DIFFERENCE, MASK
from tests.stats.build import D, asylum, trafficking
from tip.models import Referral, SupportOrganisation, SupportPlan, SupportService

OFF = 0  # no suppression: the exact numbers


@pytest.fixture
def gt_office(db):
    return Office.objects.create(code="GT-GUA", name="Oficina de Guatemala", country="GT")


@pytest.fixture
def built(caseworker, office, gt_office, make_user):
    cw = caseworker
    # A1: Honduras, woman, regular, at an office; recognized after 90 days, closed.
    a1 = asylum(cw, office, nationality="HN", applied=D(2026, 2, 1))
    a1.decide("first_instance", "recognized", D(2026, 5, 2))
    a1.close("recognized", D(2026, 5, 20))
    # A2: Honduras, boy of 16, accelerated, at the border; rejected after 60 days, appealed,
    # complementary protection on appeal, closed.
    a2 = asylum(cw, office, nationality="HN", applied=D(2026, 3, 1), sex="male",
                born=D(2010, 6, 1), modality="accelerated", channel="border")
    a2.decide("first_instance", "rejected", D(2026, 4, 30))
    a2.appeal(D(2026, 5, 10))
    a2.decide("appeal", "complementary", D(2026, 8, 1))
    a2.close("complementary", D(2026, 8, 20))
    # A3: El Salvador, woman; withdrawn before the interview.
    a3 = asylum(cw, office, nationality="SV", applied=D(2026, 4, 1), born=D(1985, 1, 1))
    a3.close("withdrawn", D(2026, 6, 1))
    # A4: Nicaragua, woman, simplified, referred; pending (169 days at the end of 2026).
    asylum(cw, office, nationality="NI", applied=D(2026, 7, 15), modality="simplified",
           channel="referral", born=D(2000, 1, 1))
    # A5: applied in 2025, pending (456 days).
    asylum(cw, office, nationality="HN", applied=D(2025, 10, 1), born=D(1970, 1, 1))
    # A7: pending, 41 days.
    asylum(cw, office, nationality="HN", applied=D(2026, 11, 20))
    # Another office's case: never in this office's numbers.
    gt = make_user("caseworker", gt_office)
    asylum(gt, gt_office, nationality="HN", applied=D(2026, 2, 1), procedure="rsd.unhcr")
    # Trafficking: two screened in 2026, one identified, one possible; one screened in 2025.
    trafficking(cw, office, screened=D(2026, 3, 1),
                identified=("ActualVictimOfTrafficking", D(2026, 4, 1)))
    trafficking(cw, office, screened=D(2026, 5, 1),
                identified=("PossibleVictimOfTrafficking", D(2026, 6, 1)))
    trafficking(cw, office, screened=D(2025, 5, 1))
    return office


def _filters(office, **kw) -> Filters:
    period = kw.pop("period", Period(2026))
    return Filters(allowed=frozenset([office.pk]), period=period, **kw)


def _values(result) -> dict:
    out = {r.key: r.shown for r in result.rows if r.shown != "0"}
    if result.total is not None:
        out["total"] = result.total.shown
    return out


def _compute(key, filters, threshold=OFF):
    return indicators.BY_KEY[key].compute(filters, threshold)


def test_applications_by_procedure_modality_and_channel(built):
    f = _filters(built)
    assert _values(_compute("applications_by_procedure", f)) == {"rsd.bz": "5", "total": "5"}
    assert _values(_compute("applications_by_modality", f)) == {
        "regular": "3", "accelerated": "1", "simplified": "1", "total": "5"}
    assert _values(_compute("applications_by_channel", f)) == {
        "office": "3", "border": "1", "referral": "1", "total": "5"}


def test_disaggregation_filters(built):
    def total(**kw):
        return _compute("applications_by_modality", _filters(built, **kw)).total.shown

    assert total(sex="female") == "4"  # A1, A3, A4, A7
    assert total(nationality="HN") == "3"  # A1, A2, A7
    assert total(age_band="12-17") == "1"  # A2, 16 at the end of 2026
    assert total(period=Period(2026, "Q1")) == "2"  # A1, A2
    assert total(period=Period(2026, "H2")) == "2"  # A4, A7
    assert total(offices=frozenset([built.pk])) == "5"


def test_backlog_and_its_age(built):
    assert _values(_compute("backlog", _filters(built))) == {
        "under_3": "1", "3_to_6": "1", "over_12": "1", "total": "3"}
    # At the end of the first half: A2 open (121 days; closed in August), A5 (272 days); A3
    # withdrawn on 1 June, A4 and A7 not applied yet.
    assert _values(_compute("backlog", _filters(built, period=Period(2026, "H1")))) == {
        "3_to_6": "1", "6_to_12": "1", "total": "2"}


def test_decisions_by_outcome(built):
    assert _values(_compute("decisions_by_outcome", _filters(built))) == {
        "fi_recognized": "1", "fi_rejected": "1", "fi_closed": "1", "ar_complementary": "1",
        "total": "4"}


def test_recognition_rates(built):
    rows = {r.key: r.shown for r in _compute("recognition_rates", _filters(built)).rows}
    assert rows == {"fi_rate": "50.0 %", "fi_total_rate": "50.0 %",
                    "ar_rate": "0.0 %", "ar_total_rate": "100.0 %"}


def test_processing_times(built):
    rows = {r.key: r.shown for r in _compute("processing_times", _filters(built)).rows}
    assert rows == {"n": "2", "median": "75", "p90": "90"}


def test_victims_screened_and_identified(built):
    assert _values(_compute("victims", _filters(built))) == {
        "screened": "2", "ActualVictimOfTrafficking": "1", "PossibleVictimOfTrafficking": "1"}


def test_the_trafficking_figures_leave_out_who_does_not_allow_statistics(built, caseworker):
    cw = caseworker
    # Never asked: not counted.
    trafficking(cw, built, screened=D(2026, 2, 1), identified=("ActualVictimOfTrafficking",
                                                                D(2026, 2, 2)), statistics=False)
    assert _values(_compute("victims", _filters(built)))["screened"] == "2"
    # A withdrawal takes effect at once.
    victim = Case.objects.filter(office=built, kind="trafficking").order_by("opened_at").first()
    consent.record(by=cw, person=victim.principal, purpose=ConsentPurpose.STATISTICS, given=False,
                   language="es")
    assert _values(_compute("victims", _filters(built))) == {
        "screened": "1", "PossibleVictimOfTrafficking": "1"}


def test_with_the_threshold_every_small_number_is_hidden(built):
    f = _filters(built)
    for result in indicators.compute_all(f, 6):  # the largest count here is 5
        for row in [*result.rows, *([result.total] if result.total else [])]:
            assert row.shown in (MASK, "0", "—"), (result.indicator.key, row)


def test_an_empty_scope_counts_nothing(db, office):
    f = Filters(allowed=frozenset(), period=Period(2026))
    assert _values(_compute("applications_by_modality", f)) == {"total": "0"}


@pytest.fixture
def many(caseworker, office):
    """Twelve applications from Honduras: ten women, two men; twenty from El Salvador."""
    for i in range(12):
        asylum(caseworker, office, nationality="HN", applied=D(2026, 2, 1 + i),
               sex="female" if i < 10 else "male")
    for i in range(20):
        asylum(caseworker, office, nationality="SV", applied=D(2026, 3, 1 + i), sex="female")
    return office


@pytest.mark.usefixtures("many")
def test_differencing_attack_on_two_exports_that_differ_by_the_sex_filter(office):
    everyone = _compute("applications_by_modality",
                        _filters(office, nationality="HN"), threshold=5)
    women = _compute("applications_by_modality",
                     _filters(office, nationality="HN", sex="female"), threshold=5)
    men = _compute("applications_by_modality",
                   _filters(office, nationality="HN", sex="male"), threshold=5)

    assert everyone.total.shown == "12"
    assert men.total.shown == MASK
    # 12 - 10 would be the two men: the women's count is hidden, and so is every count that
    # would give it back.
    assert women.total.shown == MASK
    assert women.total.reason == DIFFERENCE
    assert {r.shown for r in women.rows} <= {MASK, "0"}


@pytest.mark.usefixtures("many")
def test_a_filter_whose_difference_is_large_enough_is_shown(office):
    # All applications 32; from El Salvador 20: the difference (12 from Honduras) is no small cell.
    salvadorans = _compute("applications_by_modality", _filters(office, nationality="SV"),
                           threshold=5)
    assert salvadorans.total.shown == "20"


@pytest.mark.usefixtures("many")
def test_differencing_by_period_a_quarter_against_its_half_and_year(office):
    # Q1: 32 (all of them, February and March); H1 and the year: 32 as well: no difference.
    q1 = _compute("applications_by_modality", _filters(office, period=Period(2026, "Q1")),
                  threshold=5)
    assert q1.total.shown == "32"


# --- Trafficking support and between offices -----------------------------------------------

def _noon(day) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(12), datetime.UTC)


@pytest.fixture
def supported(built, caseworker):
    """The first 2026 victim: a shelter given, psychosocial support given late, medical care
    owed, legal aid cancelled; a referral for legal aid. A victim who never allowed statistics:
    a shelter given and a referral."""
    first = (Case.objects.filter(office=built, kind="trafficking").order_by("opened_at").first())
    refused = trafficking(caseworker, built, screened=D(2026, 2, 1), statistics=False).case
    org = SupportOrganisation.objects.create(office=built, name="Casa Refugio", org_type="NGO",
                                             country="BZ")
    for case, services in (
        (first, [("shelter", "delivered", D(2026, 3, 1), D(2026, 4, 10)),
                 ("psychosocial", "delivered", D(2026, 3, 1), D(2026, 8, 1)),
                 ("medical", "planned", D(2026, 5, 1), None),
                 ("legal", "cancelled", D(2026, 2, 1), None)]),
        (refused, [("shelter", "delivered", D(2026, 3, 1), D(2026, 4, 10))]),
    ):
        plan = SupportPlan.objects.create(case=case, person=case.principal,
                                          recorded_by=caseworker)
        for kind, status, planned_end, actual_end in services:
            SupportService.objects.create(plan=plan, case=case, person=case.principal, kind=kind,
                                          status=status, planned_end=planned_end,
                                          actual_end=actual_end, recorded_by=caseworker)
        Referral.objects.create(case=case, person=case.principal, organisation=org,
                                service_kind="legal", referred_on=D(2026, 4, 1),
                                referred_by=caseworker)
    return built


def test_support_services_delivered_and_overdue_and_referrals(supported):
    year, first_half = _filters(supported), _filters(supported, period=Period(2026, "H1"))
    assert _values(_compute("services_delivered", year)) == {
        "shelter": "1", "psychosocial": "1", "total": "2"}
    assert _values(_compute("services_delivered", first_half)) == {"shelter": "1", "total": "1"}
    # At the end of June the psychosocial support was still owed; at the end of the year only
    # the medical care. A cancelled service is never overdue.
    assert _values(_compute("services_overdue", first_half)) == {
        "psychosocial": "1", "medical": "1", "total": "2"}
    assert _values(_compute("services_overdue", year)) == {"medical": "1", "total": "1"}
    assert _values(_compute("trafficking_referrals", year)) == {"legal": "1", "total": "1"}
    assert _values(_compute("trafficking_referrals", _filters(supported, period=Period(2025)))) == {
        "total": "0"}


def test_services_are_overdue_as_of_today_in_a_period_not_over_yet(caseworker, office):
    today = timezone.localdate()
    case = trafficking(caseworker, office, screened=None).case
    plan = SupportPlan.objects.create(case=case, person=case.principal, recorded_by=caseworker)
    for kind, planned_end in (("shelter", today - datetime.timedelta(days=1)),
                              ("medical", today + datetime.timedelta(days=1))):
        SupportService.objects.create(plan=plan, case=case, person=case.principal, kind=kind,
                                      status="planned", planned_end=planned_end,
                                      recorded_by=caseworker)
    this_year = _filters(office, period=Period(today.year))
    assert _values(_compute("services_overdue", this_year)) == {"shelter": "1", "total": "1"}


@pytest.fixture
def handed(built, supervisor, make_user):
    """The three open asylum cases (A4 Nicaragua, A5 and A7 Honduras) offered to another
    office of Belize: accepted in 3 days, rejected in 10, pending; the first one offered back
    in December 2025 and accepted on 2 January 2026 (13 days)."""
    orange_walk = Office.objects.create(code="BZ-OWK", name="Orange Walk", country="BZ")
    boss = make_user("supervisor", orange_walk)
    a4, a5, a7 = Case.objects.filter(office=built, kind="asylum",
                                     closed_at__isnull=True).order_by("opened_at")
    dated = []
    h = handovers.offer(by=supervisor, case=a4, to_office=orange_walk, reason="Cercanía")
    dated.append((handovers.accept(by=boss, handover=h), D(2026, 3, 1), D(2026, 3, 4)))
    h = handovers.offer(by=supervisor, case=a5, to_office=orange_walk, reason="Cercanía")
    dated.append((handovers.reject(by=boss, handover=h, answer="Sin cupo"), D(2026, 6, 1),
                  D(2026, 6, 11)))
    dated.append((handovers.offer(by=supervisor, case=a7, to_office=orange_walk, reason="Otra"),
                  D(2026, 9, 1), None))
    back = handovers.offer(by=boss, case=Case.objects.get(pk=a4.pk), to_office=built,
                           reason="Regresa")
    dated.append((handovers.accept(by=supervisor, handover=back), D(2025, 12, 20), D(2026, 1, 2)))
    for handover, started, answered in dated:
        Handover.objects.filter(pk=handover.pk).update(
            started_at=_noon(started), answered_at=answered and _noon(answered))
    return orange_walk


def test_transfers_by_outcome_and_their_turnaround(built, handed):
    year = _filters(built)
    assert _values(_compute("transfers", year)) == {
        "pending": "1", "accepted": "1", "rejected": "1", "total": "3"}
    assert _values(_compute("transfers", _filters(built, nationality="HN"))) == {
        "pending": "1", "rejected": "1", "total": "2"}
    assert _values(_compute("transfer_turnaround", year)) == {
        "n": "3", "median": "10", "p90": "13"}
    # The office that received them counts the same transfers.
    assert _values(_compute("transfers", _filters(handed))) == _values(_compute("transfers", year))
    # Three answers are too few to show a time at a threshold of 5.
    hidden = _compute("transfer_turnaround", year, threshold=5)
    assert [r.shown for r in hidden.rows] == [MASK, MASK, MASK]


def test_first_interviews_within_six_months(caseworker, office):
    soon = asylum(caseworker, office, nationality="HN", applied=D(2026, 1, 10))
    soon.interview(D(2026, 3, 1), status="no_show")  # not heard: the next one counts
    soon.interview(D(2026, 7, 12))  # 183 days: within
    late = asylum(caseworker, office, nationality="SV", applied=D(2025, 11, 1))
    late.interview(D(2026, 5, 4))  # 184 days
    late.interview(D(2026, 6, 1))  # a second interview: not the first
    earlier = asylum(caseworker, office, nationality="HN", applied=D(2025, 6, 1))
    earlier.interview(D(2025, 9, 1))  # first heard in 2025
    earlier.interview(D(2026, 2, 1))
    asylum(caseworker, office, nationality="HN", applied=D(2026, 2, 1))  # not heard yet

    assert _values(_compute("interviews_within_6_months", _filters(office))) == {
        "within": "1", "later": "1", "total": "2"}
    assert _values(_compute("interviews_within_6_months", _filters(office, nationality="SV"))) == {
        "later": "1", "total": "1"}
    assert _values(_compute("interviews_within_6_months",
                            _filters(office, period=Period(2025)))) == {"within": "1", "total": "1"}


def _times_shown(result) -> dict[str, str]:
    return {r.key: r.shown for r in result.rows}


def test_time_to_interview_and_to_notification(caseworker, office):
    # Heard after 30, 60 and 200 days; the first interview only (a no-show does not count).
    for applied, heard in ((D(2026, 1, 1), D(2026, 1, 31)), (D(2026, 2, 1), D(2026, 4, 2)),
                           (D(2025, 12, 1), D(2026, 6, 19))):
        built = asylum(caseworker, office, nationality="HN", applied=applied)
        built.interview(applied + datetime.timedelta(days=5), status="no_show")
        built.interview(heard)
        built.interview(heard + datetime.timedelta(days=40))  # a second hearing: not counted
    assert _times_shown(_compute("time_to_interview", _filters(office))) == {
        "n": "3", "median": "60", "p90": "200"}
    # Delivered 10 and 100 days after the application; one decided and not delivered yet; one
    # delivered in 2025 is another year's.
    for applied, decided, delivered in ((D(2026, 1, 1), D(2026, 1, 5), D(2026, 1, 11)),
                                        (D(2026, 1, 1), D(2026, 3, 1), D(2026, 4, 11)),
                                        (D(2026, 2, 1), D(2026, 3, 1), None),
                                        (D(2025, 1, 1), D(2025, 3, 1), D(2025, 3, 2))):
        built = asylum(caseworker, office, nationality="SV", applied=applied)
        built.decide("first_instance", "rejected", decided, delivered=delivered)
    assert _times_shown(_compute("time_to_notification", _filters(office))) == {
        "n": "2", "median": "55", "p90": "100"}
    # Two notifications are below a threshold of 5: the count and the times are hidden.
    assert {r.shown for r in _compute("time_to_notification", _filters(office), 5).rows} == {MASK}


def _deadline(built, clock: str, starts, due, met=None) -> None:
    from cases.models import CaseDeadline, CaseStep

    step = CaseStep.objects.filter(case=built.case).first()
    CaseDeadline.objects.create(
        case=built.case, clock=clock, starts_on=starts, due_on=due, started_by_step=step,
        office=built.case.office,
        met_at=timezone.make_aware(datetime.datetime.combine(met, datetime.time(12)))
        if met else None)


def test_legal_deadlines_met_on_time_late_and_overdue(caseworker, office):
    a = asylum(caseworker, office, nationality="HN", applied=D(2026, 1, 5))
    _deadline(a, "interview", D(2026, 1, 5), D(2026, 7, 7), met=D(2026, 7, 7))  # last day: on time
    _deadline(a, "decision", D(2026, 1, 5), D(2026, 3, 9), met=D(2026, 3, 10))  # a day late
    b = asylum(caseworker, office, nationality="SV", applied=D(2026, 2, 1))
    _deadline(b, "interview", D(2026, 2, 1), D(2026, 8, 3))  # running past its end
    _deadline(b, "appeal", D(2026, 2, 1), D(2026, 3, 3))  # the applicant's period: not counted
    c = asylum(caseworker, office, nationality="SV", applied=D(2025, 1, 5))
    _deadline(c, "decision", D(2025, 1, 5), D(2025, 3, 9), met=D(2025, 3, 1))  # 2025
    # Met in 2027 after running past its end in 2026: overdue at the end of 2026.
    _deadline(c, "contact", D(2026, 9, 1), D(2026, 10, 13), met=D(2027, 1, 4))
    # Due at the end of 2026 but not past it on its last day.
    _deadline(c, "interview", D(2026, 6, 30), D(2026, 12, 31))

    year = _compute("legal_deadlines", _filters(office))
    assert _values(year) == {"interview_on_time": "1", "decision_late": "1",
                             "interview_overdue": "1", "contact_overdue": "1"}
    assert "Decision due: met late" in {r.label for r in year.rows}
    assert _values(_compute("legal_deadlines", _filters(office, period=Period(2025)))) == {
        "decision_on_time": "1"}
    # Only applicants from El Salvador (through the summary table): b's, and c's.
    assert _values(_compute("legal_deadlines", _filters(office, nationality="SV"))) == {
        "interview_overdue": "1", "contact_overdue": "1"}
    # The first quarter: the decision met late; nothing had run past its end by March 31.
    assert _values(_compute("legal_deadlines", _filters(office, period=Period(2026, "Q1")))) == {
        "decision_late": "1"}


def test_applications_from_children_and_in_the_priority_queue(caseworker, office):
    # 17 in the year of the application (born 2009, applied 2026): a child, priority.
    asylum(caseworker, office, nationality="HN", applied=D(2026, 3, 1), born=D(2009, 12, 31),
           priority=True)
    # 18 in that year: not a child; a specific need noted: priority.
    asylum(caseworker, office, nationality="HN", applied=D(2026, 3, 1), born=D(2008, 1, 1),
           priority=True)
    asylum(caseworker, office, nationality="SV", applied=D(2026, 4, 1))  # an adult, no need
    # A child who applied in 2025: another year's.
    asylum(caseworker, office, nationality="SV", applied=D(2025, 4, 1), born=D(2015, 1, 1),
           priority=True)

    result = _compute("applications_children_priority", _filters(office))
    assert _values(result) == {"children": "1", "priority": "2"}
    assert result.total is None  # the two overlap: no total
    assert _values(_compute("applications_children_priority",
                            _filters(office, period=Period(2025)))) == {"children": "1",
                                                                       "priority": "1"}


def test_recognitions_by_definition(caseworker, office):
    a = asylum(caseworker, office, nationality="HN", applied=D(2026, 1, 5))
    a.decide("first_instance", "recognized", D(2026, 3, 1), basis="convention")
    b = asylum(caseworker, office, nationality="HN", applied=D(2026, 1, 5))
    b.decide("first_instance", "recognized", D(2026, 3, 1), basis="cartagena")
    c = asylum(caseworker, office, nationality="SV", applied=D(2026, 1, 5))
    c.decide("first_instance", "rejected", D(2026, 3, 1))
    c.appeal(D(2026, 3, 20))
    c.decide("appeal", "recognized", D(2026, 6, 1), basis="cartagena")
    d = asylum(caseworker, office, nationality="SV", applied=D(2026, 1, 5))
    d.decide("first_instance", "complementary", D(2026, 3, 1))  # not a recognition

    assert _values(_compute("recognitions_by_basis", _filters(office))) == {
        "fi_convention": "1", "fi_cartagena": "1", "ar_cartagena": "1", "total": "3"}
    labels = {r.key: r.label for r in _compute("recognitions_by_basis", _filters(office)).rows}
    assert labels["ar_cartagena"] == "Appeal: Cartagena Declaration"


def test_appeals_lodged_by_the_outcome_appealed(caseworker, office):
    for outcome, lodged in (("rejected", D(2026, 3, 1)), ("rejected", D(2026, 4, 1)),
                            ("complementary", D(2026, 5, 1)), ("rejected", D(2025, 12, 1))):
        built = asylum(caseworker, office, nationality="HN", applied=D(2025, 6, 1))
        built.decide("first_instance", outcome, lodged - datetime.timedelta(days=10))
        built.appeal(lodged)
    assert _values(_compute("appeals_lodged", _filters(office))) == {
        "rejected": "2", "complementary": "1", "total": "3"}
    assert _values(_compute("appeals_lodged", _filters(office, sex="male"))) == {"total": "0"}


def test_victims_identified_by_type_of_exploitation(caseworker, office):
    from tip.models import VictimProfile

    def victim(kinds, status="ActualVictimOfTrafficking", on=None, statistics=True):
        built = trafficking(caseworker, office, screened=D(2026, 3, 1),
                            identified=(status, on or D(2026, 4, 1)), statistics=statistics)
        VictimProfile.objects.create(case=built.case, person=built.case.principal,
                                     exploitation_types=kinds, recorded_by=caseworker)

    victim(["ForcedLabour", "ForcedBegging"])
    victim(["SexualExploitation"])
    victim(["SexualExploitation", "SexualExploitation"])  # counted once
    victim(["ForcedLabour"], status="PossibleVictimOfTrafficking")  # not identified
    victim(["ForcedLabour"], on=D(2025, 4, 1))  # another year
    victim(["ForcedLabour"], statistics=False)  # does not allow statistics

    result = _compute("victims_by_exploitation", _filters(office))
    assert _values(result) == {"ForcedLabour": "1", "ForcedBegging": "1",
                               "SexualExploitation": "2"}
    assert result.total is None


@pytest.mark.parametrize("narrow", [False, True])
def test_the_screen_counts_shared_rows_once_and_gives_each_indicators_numbers(
        built, gt_office, narrow, django_assert_max_num_queries):
    """The screen counts the applications' indicators together, and the decisions' (with the
    wider tables protection compares them with): the same numbers, and what it hides, as each
    indicator counted on its own."""
    f = Filters(allowed=frozenset([built.pk, gt_office.pk]), period=Period(2026), sex="female",
                **({"offices": frozenset([built.pk]), "nationality": "HN"} if narrow else {}))
    for threshold in (OFF, 2):
        alone = [i.compute(f, threshold) for i in indicators.INDICATORS]
        together = indicators.compute_all(f, threshold)
        assert [(r.indicator.key, [(x.key, x.shown, x.reason) for x in r.rows],
                 r.total and (r.total.shown, r.total.reason)) for r in together] == [
            (r.indicator.key, [(x.key, x.shown, x.reason) for x in r.rows],
             r.total and (r.total.shown, r.total.reason)) for r in alone]
    # The four applications' indicators and the three decisions' make one query each.
    applications = {"applications_by_procedure", "applications_by_modality",
                    "applications_by_channel", "applications_children_priority"}
    decisions = {"decisions_by_outcome", "recognitions_by_basis", "recognition_rates"}
    which = tuple(i for i in indicators.INDICATORS if i.key in applications | decisions)
    with django_assert_max_num_queries(2):
        indicators.compute_all(f, 2, which)
