"""The fingerprint demo: enrolled through the real services, a pair across offices, samples that
the search finds, and a second run that adds nothing and leaves hand-made captures alone."""

from io import StringIO

import pytest
from django.core.management import call_command

from biometrics import services, synthetic
from biometrics.models import FingerprintCapture, MatchEvidence
from cases.crypto.datakeys import key_scope
from cases.models import Case, DuplicateSource, Membership, PossibleDuplicate, Role

pytestmark = pytest.mark.django_db


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_biometrics_demo", stdout=out, **options)
    return out.getvalue()


def test_demo_fingerprints_are_found_paired_across_offices_and_seeded_once(
        settings, tmp_path, django_capture_on_commit_callbacks):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", people=120, stdout=StringIO())
    call_command("seed_asylum_demo", stdout=StringIO())

    with django_capture_on_commit_callbacks(execute=True):  # the 1:N search after enrolment
        first = seed(per_office=2)
    assert "fingers enrolled" in first
    captures = FingerprintCapture.objects.filter(replaced_at__isnull=True)
    people = set(captures.values_list("person_id", flat=True))
    offices = set(captures.values_list("person__office__code", flat=True))
    assert len(offices) >= 3 and len(people) == 2 * len(offices)
    assert captures.count() == 2 * len(people)
    assert set(captures.values_list("finger", flat=True)) == {2, 7}

    # The one person enrolled twice, under two names in two offices, is in the queue as the
    # one match (generated fingers of different people may score a "possible" now and then).
    pairs = PossibleDuplicate.objects.filter(source=DuplicateSource.BIOMETRIC)
    matches = MatchEvidence.objects.filter(pair__in=pairs, score__gte=services.match_score())
    assert matches.count() == 1
    pair = matches.get().pair
    raised = pairs.count()
    assert {pair.person.office.code, pair.other.office.code} == {"BZ-BMP", "BZ-BQV"}

    # Each sample is a fresh impression, and the search finds its owner first (the person
    # enrolled twice: both records, equally).
    samples = sorted((tmp_path / "demo" / "fingerprints").glob("*-finger2.png"))
    assert len(samples) == len(people)
    twice = {pair.person_id, pair.other_id}
    for sample in samples:
        case = Case.objects.get(reference=sample.name.removesuffix("-finger2.png"))
        supervisor = Membership.objects.filter(role=Role.SUPERVISOR, office=case.office).first().user
        with key_scope():
            found = services.search(by=supervisor, images={2: sample.read_bytes()})
        best = [c for c in found.candidates if c.score == found.candidates[0].score]
        owners = twice if case.principal.pk in twice else {case.principal.pk}
        assert {c.person_id for c in best} == owners, sample.name
        assert {c.decision for c in best} == {"match"}
        assert case.reference in next(c for c in best if c.person_id == case.principal.pk).cases

    # Someone re-takes a finger on a real scanner: a second run leaves it and adds nothing.
    person = case.principal
    with key_scope():
        services.enrol_finger(by=supervisor, person=person, finger=2, device="Scanner A",
                              data=synthetic.png(synthetic.impression(synthetic.finger(991), 1)),
                              dedupe=False)
    count = FingerprintCapture.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        second = seed(per_office=2)
    assert "nothing added" in second
    assert FingerprintCapture.objects.count() == count
    assert FingerprintCapture.objects.filter(person=person, replaced_at__isnull=True,
                                             finger=2, device="Scanner A").exists()
    assert PossibleDuplicate.objects.filter(source=DuplicateSource.BIOMETRIC).count() == raised
