"""Index features sealed at the enrolment, the gallery built from them, the engine's 1:N
half and the queues (docs/architecture.md#biometrics)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection

from biometrics import engine, gallery, index, services, synthetic, worker
from biometrics.models import FingerprintCapture
from cases import services as case_services
from settings.celery import app
from tests.biometrics.prints import impression

pytestmark = pytest.mark.usefixtures("file_root")

# The same generated fingers as test_enrolment.py (each grows once per run).
A, B = 11, 12
FINGERS = 4
FILLERS = 150


@pytest.fixture
def make_person(person_data):
    def make(by, office, name):
        return case_services.register_person(by=by, office=office, data=person_data(
            given_names=name, family_names="Prueba", documents=[]))
    return make


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture(scope="module")
def enrolled():
    """Templates of a few generated fingers (two impressions each) and of filler people with
    random minutiae, so that the index has a crowd to rank."""
    e = engine.engine()
    real = []
    for f in range(FINGERS):
        finger = synthetic.finger(8100 + f)
        real.append([e.extract(synthetic.png(synthetic.impression(finger, 10 * f + i))).template
                     for i in (1, 2)])
    rng = np.random.default_rng(4)
    fillers = []
    for _n in range(FILLERS):
        points = np.column_stack([rng.uniform(20, 330, 40), rng.uniform(20, 400, 40),
                                  rng.uniform(-np.pi, np.pi, 40)]).astype(np.float32)
        fillers.append(points)
    return real, fillers


def test_features_pack_and_unpack_exactly_and_refuse_what_is_not_theirs(enrolled):
    real, _fillers = enrolled
    described = index.describe(engine.engine().load_template(real[0][0]).minutiae)
    packed = index.pack(described)

    again = index.unpack(packed)

    assert again is not None
    for a, b in ((again.keys, described.keys), (again.bits, described.bits),
                 (again.angles, described.angles)):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert index.unpack(None) is None and index.unpack(b"") is None
    assert index.unpack(packed[:-1]) is None  # cut short
    other_version = np.array([(index.FEATURES_VERSION + 1, len(described.keys))],
                             dtype=index._HEADER).tobytes() + packed[index._HEADER.itemsize:]
    assert index.unpack(other_version) is None


def test_the_index_built_from_features_in_chunks_gives_the_same_candidates(enrolled, monkeypatch):
    """One gallery filled a template at a time from the minutiae (as before features were
    kept), the engine's filled in many chunks from sealed-and-opened features: the same
    index scores, cylinder similarities, candidates and exact scores."""
    real, fillers = enrolled
    e = engine.engine()
    e.clear()
    monkeypatch.setattr(engine, "ENROL_CHUNK", 16)
    one_by_one = gallery.Gallery()
    enrolments = []
    for n, points in enumerate(fillers):
        template = real[n % FINGERS][0]
        one_by_one.add(f"filler-{n}", 1, points, template)
        enrolments.append(engine.Enrolment(f"filler-{n}", 1, template, index.pack(index.describe(points))))
    for f in range(FINGERS):
        template = real[f][0]
        one_by_one.add(f"person-{f}", 1, e.load_template(template).minutiae, template)
        enrolments.append(engine.Enrolment(f"person-{f}", 1, template, e.features(template)))

    e.enrol(enrolments)

    assert e.gallery_people() == one_by_one.enrolled_people() == FILLERS + FINGERS
    for f in range(FINGERS):
        probe_template = real[f][1]
        minutiae = e.load_template(probe_template).minutiae
        described = {1: index.describe(minutiae)}
        assert np.array_equal(e.gallery.index_scores(described), one_by_one.index_scores(described))
        people = list(range(FILLERS + FINGERS))
        assert np.array_equal(e.gallery.local_scores(described, people),
                              one_by_one.local_scores(described, people))
        ours = e.search({1: probe_template})
        theirs = one_by_one.search({1: (minutiae, probe_template)}, e.comparator)
        assert [(c.person, c.score, c.index_score) for c in ours.candidates] == [
            (c.person, c.score, c.index_score) for c in theirs.candidates]
        assert ours.candidates[0].person == f"person-{f}"
    # A catch-up's enrolment goes to the small recent tables: the large ones are not rebuilt.
    large = e.gallery.fingers[1]._main
    e.enrol([engine.Enrolment("late", 1, real[0][0], e.features(real[0][0]))])
    assert e.gallery.fingers[1]._main is large
    found = e.search({1: real[0][1]})
    assert {c.person for c in found.candidates[:2]} == {"person-0", "late"}
    e.clear()


def test_an_enrolment_seals_its_features_and_a_replacement_drops_them(caseworker, office, make_person):
    person = make_person(caseworker, office, "Ana")
    first = services.enrol_finger(by=caseworker, person=person, finger=1, data=impression(A, 1))
    capture = FingerprintCapture.objects.get(pk=first.pk)

    assert capture.features == engine.engine().features(capture.template)
    with connection.cursor() as cursor:
        cursor.execute("SELECT features FROM biometrics_fingerprintcapture WHERE id = %s",
                       [capture.pk.hex if connection.vendor == "sqlite" else capture.pk])
        stored = bytes(cursor.fetchone()[0])
    # Sealed, never in clear: not one of the packed keys' bytes runs appear in the column.
    assert stored != capture.features and capture.features[6:70] not in stored

    services.enrol_finger(by=caseworker, person=person, finger=1, data=impression(A, 2))

    assert FingerprintCapture.objects.get(pk=first.pk).features is None


def test_erasure_removes_the_features_and_a_rebuild_goes_without(caseworker, supervisor, office,
                                                                make_person, committed):
    person = make_person(caseworker, office, "Ana")
    capture = services.enrol_finger(by=caseworker, person=person, finger=1, data=impression(A, 1))
    with committed():
        case_services.erase_person(by=supervisor, person=person, code="request")

    with connection.cursor() as cursor:
        cursor.execute("SELECT features FROM biometrics_fingerprintcapture WHERE id = %s",
                       [capture.pk.hex if connection.vendor == "sqlite" else capture.pk])
        assert cursor.fetchone()[0] is None
    worker.forget()
    assert worker.gallery().gallery_people() == 0


def test_the_command_seals_missing_features_resumably_and_skips_erased_people(
        caseworker, supervisor, office, make_person, committed):
    ana, berta, carla = (make_person(caseworker, office, n) for n in ("Ana", "Berta", "Carla"))
    captures = [services.enrol_finger(by=caseworker, person=p, finger=1, data=impression(seed, 1),
                                      dedupe=False) for p, seed in ((ana, A), (berta, B))]
    services.enrol_finger(by=caseworker, person=carla, finger=2, data=impression(A, 2), dedupe=False)
    # Enrolled before features were kept.
    FingerprintCapture.objects.update(features=None)
    with committed():
        case_services.erase_person(by=supervisor, person=carla, code="request")

    first = services.seal_missing_features(batch=1)
    assert next(first) == 1  # stopped after one batch
    first.close()
    out = io.StringIO()
    call_command("seal_fingerprint_features", stdout=out)

    assert "1 captures have no index features yet" in out.getvalue()
    for capture in captures:
        fresh = FingerprintCapture.objects.get(pk=capture.pk)
        assert fresh.features == engine.engine().features(fresh.template)
    assert FingerprintCapture.objects.get(person=carla).features is None
    again = io.StringIO()
    call_command("seal_fingerprint_features", stdout=again)
    assert "Done: 0 captures" in again.getvalue()
    # A rebuild reads them: the same people found as by computing them.
    worker.forget()
    found = services.search(by=caseworker, images={1: impression(B, 2)})
    assert found.gallery_people == 2 and found.candidates[0].person_id == berta.pk


def test_a_rebuild_with_a_stale_feature_computes_it_again(caseworker, office, make_person):
    person = make_person(caseworker, office, "Ana")
    capture = services.enrol_finger(by=caseworker, person=person, finger=1, data=impression(A, 1))
    capture.features = b"\x07\x00 not features of this version"
    capture.save(update_fields=["features"])
    worker.forget()

    found = services.search(by=caseworker, images={1: impression(A, 2)})

    assert found.candidates[0].person_id == person.pk and found.candidates[0].decision == "match"


def test_searches_have_a_queue_of_their_own_beside_the_deduplication():
    route = app.amqp.router.route

    assert route({}, "biometrics.search")["queue"].name == "biometrics_search"
    assert route({}, "biometrics.dedupe")["queue"].name == "biometrics"
    assert route({}, "biometrics.shred_stale_searches")["queue"].name == "biometrics"
