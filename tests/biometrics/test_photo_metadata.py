"""Face photos and fingerprint images are stored without their metadata (ASVS V14.2.8): a
phone's EXIF (GPS position, camera) is gone; a print keeps its pixels and its resolution,
which the engine reads."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, PngImagePlugin

from biometrics import engine, services
from cases import services as case_services
from tests.biometrics.prints import face, impression
from tests.cases.test_upload_metadata import GPS_IFD, _exif

pytestmark = pytest.mark.usefixtures("file_root")

A = 11


@pytest.fixture
def person(caseworker, office, person_data):
    person = case_services.register_person(by=caseworker, office=office, data=person_data(
        given_names="Ana", family_names="Prueba", documents=[]))
    case_services.open_case(by=caseworker, person=person, kind="asylum", assign_to_me=True)
    return person


def _with_exif(data: bytes, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).save(buffer, format=fmt, exif=_exif(), **options)
    return buffer.getvalue()


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_a_face_photo_loses_its_gps_position_through_the_page(client, caseworker, person):
    original = _with_exif(face(size=(200, 160)), "JPEG", quality=95)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the test's premise
    client.force_login(caseworker)

    sent = client.post(reverse("biometrics:photo", kwargs={"person_id": person.pk}),
                       {"consent": "on", "photo": SimpleUploadedFile("cara.jpg", original)})

    assert sent.status_code == 302
    shown = client.get(reverse("biometrics:photo_image", kwargs={"person_id": person.pk}))
    img = Image.open(io.BytesIO(shown.content))
    assert img.size == Image.open(io.BytesIO(original)).size and not img.getexif()
    assert b"PhoneMaker" not in shown.content and b"SN-998877" not in shown.content
    assert (_pixels(shown.content) == _pixels(original)).all()


@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "JPEG"])
def test_a_fingerprint_image_keeps_its_pixels_and_resolution_not_its_metadata(
        caseworker, person, fmt):
    scan = impression(A, 1, fmt)
    extra = {"quality": 95} if fmt == "JPEG" else {}
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Station", "Frontera Norte 3")
        extra = {"pnginfo": info}
    original = _with_exif(scan, fmt, dpi=(500, 500), **extra)
    before = Image.open(io.BytesIO(original))
    assert before.getexif().get_ifd(GPS_IFD) or fmt == "TIFF"  # TIFF: the tags are its own

    capture = services.enrol_finger(by=caseworker, person=person, finger=1, data=original,
                                    dedupe=False)

    stored = services.read_print(capture)
    after = Image.open(io.BytesIO(stored))
    assert after.format == fmt and after.size == before.size
    assert (_pixels(stored) == _pixels(original)).all()
    assert engine._stated_ppi(after) == pytest.approx(engine._stated_ppi(before), abs=0.01)
    assert not after.getexif().get_ifd(GPS_IFD) and 0x010F not in after.getexif()
    for secret in (b"PhoneMaker", b"SN-998877", b"Frontera Norte"):
        assert secret not in stored
    # The stored image gives the template enrolled.
    assert engine.engine().extract(stored).template == capture.template


def test_a_print_whose_resolution_only_the_exif_states_keeps_it(caseworker, person):
    # A JPEG without JFIF, its resolution in the EXIF (as some scanners write it): 1000 ppi,
    # which the engine scales down. Removing the EXIF must not make it a 500 ppi print.
    scan = Image.open(io.BytesIO(impression(A, 1)))
    big = scan.resize((scan.width * 2, scan.height * 2))
    exif = _exif()
    exif[0x011A], exif[0x011B], exif[0x0128] = 1000.0, 1000.0, 2
    buffer = io.BytesIO()
    big.save(buffer, format="JPEG", quality=95, exif=exif)
    no_jfif = buffer.getvalue()
    assert round(Image.open(io.BytesIO(no_jfif)).info["dpi"][0]) == 1000

    capture = services.enrol_finger(by=caseworker, person=person, finger=1, data=no_jfif,
                                    dedupe=False)

    stored = services.read_print(capture)
    assert round(Image.open(io.BytesIO(stored)).info["dpi"][0]) == 1000
    assert b"PhoneMaker" not in stored
    assert (_pixels(stored) == _pixels(no_jfif)).all()
