"""The fingerprint engine, the synthetic prints and the 1:N index (docs/architecture.md#biometrics)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from biometrics import engine, gallery, index, synthetic

FINGERS = 6


@pytest.fixture(scope="module")
def extracted():
    """Two impressions of each of a few generated fingers, extracted."""
    e = engine.engine()
    out = {}
    for f in range(FINGERS):
        finger = synthetic.finger(7000 + f)
        out[f] = [e.extract(synthetic.png(synthetic.impression(finger, 10 * f + i))) for i in (1, 2)]
    return out


def test_genuine_scores_far_above_impostor_scores(extracted):
    e = engine.engine()
    genuine = [e.compare(extracted[f][0].template, extracted[f][1].template) for f in range(FINGERS)]
    impostor = [e.compare(extracted[f][0].template, extracted[g][1].template)
                for f in range(FINGERS) for g in range(FINGERS) if f != g]

    assert min(genuine) > 2 * max(impostor), (genuine, impostor)
    assert min(genuine) >= 40


def test_extraction_gives_a_template_and_a_quality(extracted):
    x = extracted[0][0]

    assert 0 < x.quality <= 100
    assert len(x.minutiae) >= engine.min_minutiae()
    assert engine.engine().load_template(x.template).minutiae.shape == x.minutiae.shape


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "TIFF"])
def test_the_four_formats_are_read(fmt):
    data = synthetic.png(synthetic.impression(synthetic.finger(3), 1), fmt)

    assert engine.engine().extract(data).quality > 0


def _png(pixels, fmt="PNG"):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "code"), [
    (b"", "empty"),
    (b"not an image at all", "corrupt"),
    (_png(np.zeros((40, 40), np.uint8)), "too_small"),
    (_png(np.zeros((60, 2400), np.uint8)), "too_big"),
    (_png(np.full((400, 350), 200, np.uint8)), "low_contrast"),
    (_png(np.random.default_rng(0).integers(0, 255, (400, 350)).astype(np.uint8)), "not_fingerprint"),
    (_png(np.zeros((300, 300), np.uint8) + 50, "GIF"), "format"),
])
def test_bad_images_are_refused_with_a_reason(data, code):
    with pytest.raises(engine.Refused) as refused:
        engine.engine().extract(data)

    assert refused.value.code == code
    assert str(refused.value)


def test_a_photo_is_not_a_fingerprint():
    yy, xx = np.mgrid[0:400, 0:350]
    photo = (128 + 80 * np.exp(-((xx - 175) ** 2 + (yy - 180) ** 2) / 8000.0)
             + np.random.default_rng(1).normal(0, 6, (400, 350)))

    with pytest.raises(engine.Refused) as refused:
        engine.engine().extract(_png(photo.clip(0, 255).astype(np.uint8)))

    assert refused.value.code in {"not_fingerprint", "low_contrast"}


def test_a_decompression_bomb_is_refused_before_decoding():
    header = _png(np.zeros((20000, 20000), np.uint8)[:1, :1])  # a real PNG, then its size forged
    forged = header[:16] + (30000).to_bytes(4, "big") + (30000).to_bytes(4, "big") + header[24:]

    with pytest.raises(engine.Refused) as refused:
        engine.check_image(forged)

    assert refused.value.code in {"too_big", "corrupt"}


def test_a_broken_template_is_refused():
    with pytest.raises(engine.Refused) as refused:
        engine.engine().load_template(b"FMR\x00 broken")

    assert refused.value.code == "bad_template"


def test_the_index_puts_the_genuine_person_first_and_the_matcher_confirms(extracted):
    g = gallery.Gallery()
    for f in range(FINGERS):
        g.add(f"person-{f}", 1, extracted[f][0].minutiae, extracted[f][0].template)
    hits = 0
    for f in range(FINGERS):
        probe = {1: (extracted[f][1].minutiae, extracted[f][1].template)}
        result = g.search(probe, engine.engine().comparator, rerank=3)
        assert result.rescored <= 3
        assert result.gallery_people == FINGERS
        hits += bool(result.candidates) and result.candidates[0].person == f"person-{f}"

    assert hits >= FINGERS - 1


def test_cylinder_similarity_puts_each_genuine_template_first(extracted):
    enrolled = [index.describe(extracted[f][0].minutiae) for f in range(FINGERS)]
    for f in range(FINGERS):
        probe = index.describe(extracted[f][1].minutiae)

        local = index.similarities(probe, enrolled)

        assert local.shape == (FINGERS,) and ((local >= 0) & (local <= 1)).all()
        assert int(np.argmax(local)) == f, local
    # The same cylinders with their minutiae turned half a circle: the corresponding pairs no
    # longer count, so the template is no longer the probe's best.
    turned = index.Described(enrolled[0].keys, enrolled[0].bits, enrolled[0].angles + np.pi)
    probe = index.describe(extracted[0][1].minutiae)
    as_turned = index.similarities(probe, [turned, *enrolled[1:]])
    assert int(np.argmax(as_turned)) != 0
    assert as_turned[0] < index.similarities(probe, enrolled[:1])[0]


def test_the_index_only_shortlists_then_cylinders_and_the_matcher_order(extracted):
    g = gallery.Gallery()
    for f in range(FINGERS):
        g.add(f"person-{f}", 1, extracted[f][0].minutiae, extracted[f][0].template)
    for f in range(FINGERS):
        probe = {1: (extracted[f][1].minutiae, extracted[f][1].template)}

        # Bozorth3 confirms one person only: the cylinders chose them among the shortlist.
        result = g.search(probe, engine.engine().comparator, rerank=1, shortlist=FINGERS)

        assert result.rescored == 1
        assert result.candidates[0].person == f"person-{f}"
    g.remove_person("person-0")
    result = g.search({1: (extracted[0][1].minutiae, extracted[0][1].template)},
                      engine.engine().comparator, rerank=1, shortlist=FINGERS)
    assert all(c.person != "person-0" for c in result.candidates)


def test_a_small_gallery_is_compared_whole_and_one_person_enrolled_twice_comes_out_twice(extracted):
    g = gallery.Gallery()
    for f in range(FINGERS):
        g.add(f"person-{f}", 1, extracted[f][0].minutiae, extracted[f][0].template)
    g.add("alias-of-0", 1, extracted[0][0].minutiae, extracted[0][0].template)
    probe = {1: (extracted[0][1].minutiae, extracted[0][1].template)}

    result = g.search(probe, engine.engine().comparator)

    assert result.rescored == FINGERS + 1
    best = [c for c in result.candidates if c.score == result.candidates[0].score]
    assert {c.person for c in best} == {"person-0", "alias-of-0"}


def test_an_erased_person_leaves_the_gallery(extracted):
    g = gallery.Gallery()
    for f in range(FINGERS):
        g.add(f"person-{f}", 1, extracted[f][0].minutiae, extracted[f][0].template)
    g.remove_person("person-0")
    probe = {1: (extracted[0][1].minutiae, extracted[0][1].template)}

    result = g.search(probe, engine.engine().comparator, exhaustive=True)

    assert "person-0" not in [c.person for c in result.candidates]
    assert result.gallery_people == FINGERS - 1


def _scan(pixels, ppi, scale=1.0, fmt="PNG"):
    """A scan stating `ppi`, its pixels resampled by `scale` (a finer or coarser scanner)."""
    img = Image.fromarray(pixels)
    if scale != 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)),
                         Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, dpi=(ppi, ppi))
    return buffer.getvalue()


def test_a_card_scanned_at_1000_ppi_is_read_at_500_and_still_matches():
    finger = synthetic.finger(5)
    enrolled = engine.engine().extract(synthetic.png(synthetic.impression(finger, 1)))
    fine = _scan(synthetic.impression(finger, 2), 1000, scale=2.0)

    assert engine.check_image(fine).shape == synthetic.impression(finger, 2).shape
    again = engine.engine().extract(fine)
    assert engine.engine().compare(enrolled.template, again.template) >= 40
    # The same pixels said to be 500 ppi: ridges twice as far apart as a finger's.
    with pytest.raises(engine.Refused) as refused:
        engine.check_image(_scan(synthetic.impression(finger, 2), 500, scale=2.0))
    assert refused.value.code == "not_fingerprint"


@pytest.mark.parametrize(("ppi", "fmt"), [(300, "PNG"), (250, "TIFF"), (399, "JPEG")])
def test_a_scan_coarser_than_400_ppi_is_refused(ppi, fmt):
    with pytest.raises(engine.Refused) as refused:
        engine.engine().extract(_scan(synthetic.impression(synthetic.finger(5), 2), ppi,
                                      scale=ppi / 500, fmt=fmt))

    assert refused.value.code == "low_resolution"
    assert "500 ppi" in refused.value.reason


@pytest.mark.parametrize("ppi", [72, 96])
def test_a_file_s_default_resolution_is_taken_for_500_ppi(ppi):
    pixels = synthetic.impression(synthetic.finger(5), 2)

    assert engine.check_image(_scan(pixels, ppi, fmt="JPEG")).shape == pixels.shape
