"""Uploads lose their metadata before they are sealed (ASVS V14.2.8, `cases/metadata.py`):
a photo's EXIF (its GPS position, the camera), a PNG's text, a PDF's author and XMP. The
picture and the pages stay as they were; an image too large to open is refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageChops, PngImagePlugin
from pypdf import PdfReader, PdfWriter

from cases import consent, handovers, services
from cases.models import ConsentPurpose, Document, MessageAttachment, MessageThread

pytestmark = pytest.mark.usefixtures("file_root")

EN = {"Accept-Language": "en"}
GPS_IFD, ORIENTATION, MAKE, SERIAL = 0x8825, 0x0112, 0x010F, 0xA431
XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
       b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>Rosalia Quispe'
       b'</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')


def _picture(size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A picture whose halves differ, so that a turn shows."""
    img = Image.new("RGB", size, (200, 30, 30))
    img.paste((20, 20, 220), (0, 0, size[0] // 2, size[1]))
    return img


def _exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE] = "PhoneMaker"
    exif[ORIENTATION] = orientation
    exif.get_ifd(0x8769)[SERIAL] = "SN-998877"
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (40.0, 26.0, 46.3), 3: "W", 4: (3.0, 42.0, 9.1)})
    return exif


def gps_jpeg(orientation: int = 1, size: tuple[int, int] = (320, 240)) -> bytes:
    buffer = io.BytesIO()
    _picture(size).save(buffer, format="JPEG", quality=90, exif=_exif(orientation),
                        comment=b"Casa 12, Las Flores")
    return buffer.getvalue()


def text_png() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Rosalia Quispe")
    info.add_itxt("Location", "Colonia Las Flores")
    buffer = io.BytesIO()
    _picture().save(buffer, format="PNG", pnginfo=info, exif=_exif(), dpi=(300, 300))
    return buffer.getvalue()


def authored_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 300)
    writer.add_metadata({"/Author": "Rosalia Quispe", "/Creator": "Scanner HQ-7",
                         "/Producer": "PhoneScan 2.1"})
    writer.xmp_metadata = XMP
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _download(client, document: Document) -> bytes:
    response = client.get(reverse("document_download", kwargs={
        "case_id": document.case_id, "document_id": document.pk}))
    assert response.status_code == 200
    return response.content


def _files(root) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()]


def test_a_photos_gps_position_is_gone_after_the_upload_page(client, caseworker, case):
    original = gps_jpeg()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the test's premise
    client.force_login(caseworker)

    response = client.post(reverse("document_upload", kwargs={"case_id": case.pk}),
                           {"title": "Foto", "file": SimpleUploadedFile("foto.jpg", original)})

    assert response.status_code == 302
    stored = _download(client, Document.objects.get())
    img = Image.open(io.BytesIO(stored))
    assert img.format == "JPEG" and img.size == (320, 240)
    assert not img.getexif() and "exif" not in img.info and "comment" not in img.info
    for secret in (b"PhoneMaker", b"SN-998877", b"Las Flores", b"Exif\x00\x00"):
        assert secret not in stored
    # Not saved again: the very same pixels.
    before = Image.open(io.BytesIO(original)).convert("RGB")
    assert ImageChops.difference(before, img.convert("RGB")).getbbox() is None
    assert Document.objects.get().size == len(stored) < len(original)


def test_a_turned_photo_is_stored_upright(caseworker, case):
    # Orientation 6: shown turned 90 degrees clockwise; without the EXIF it must be so already.
    doc = services.add_document(by=caseworker, case=case, title="x", filename="x.jpg",
                                data=gps_jpeg(orientation=6))

    img = Image.open(io.BytesIO(services.read_document(by=caseworker, document=doc)))

    assert img.size == (240, 320) and not img.getexif()
    red, blue = img.convert("RGB").getpixel((120, 300)), img.convert("RGB").getpixel((120, 20))
    assert red[0] > 150 and blue[2] > 150  # the left (blue) half is now on top


def test_a_pdfs_author_and_xmp_are_gone(client, caseworker, case):
    original = authored_pdf()
    assert b"Rosalia Quispe" in original
    doc = services.add_document(by=caseworker, case=case, title="x", filename="x.pdf",
                                data=original)
    client.force_login(caseworker)

    stored = _download(client, doc)

    reader = PdfReader(io.BytesIO(stored))
    assert len(reader.pages) == 1 and reader.pages[0].mediabox.height == 300
    assert reader.metadata is None and reader.xmp_metadata is None
    for secret in (b"Rosalia Quispe", b"Scanner HQ-7", b"PhoneScan", b"xmpmeta"):
        assert secret not in stored


def _clean_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 300)
    writer.metadata = None  # not even pypdf's own name
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_a_file_with_nothing_to_remove_is_kept_byte_for_byte(caseworker, case):
    from tests.conftest import PNG_BYTES, pdf_bytes

    clean = _clean_pdf()
    assert PdfReader(io.BytesIO(clean)).metadata is None
    for name, data in (("x.png", PNG_BYTES), ("x.pdf", clean), ("y.pdf", pdf_bytes("scan"))):
        doc = services.add_document(by=caseworker, case=case, title="x", filename=name,
                                    data=data)
        assert services.read_document(by=caseworker, document=doc) == data


@pytest.mark.parametrize("fmt", ["TIFF", "WEBP"])
def test_tiff_and_webp_lose_their_exif_and_xmp(caseworker, case, fmt):
    buffer = io.BytesIO()
    options = {"description": "Rosalia Quispe"} if fmt == "TIFF" else {"xmp": XMP}
    _picture().save(buffer, format=fmt, exif=_exif(), **options)

    doc = services.add_document(by=caseworker, case=case, title="x", filename="x",
                                data=buffer.getvalue())

    stored = services.read_document(by=caseworker, document=doc)
    img = Image.open(io.BytesIO(stored))
    assert img.format == fmt and img.size == (320, 240)
    assert not img.getexif().get_ifd(GPS_IFD) and MAKE not in img.getexif()
    assert b"Rosalia Quispe" not in stored and b"PhoneMaker" not in stored


def test_a_png_attachment_loses_its_text(client, case, caseworker, supervisor, other_office,
                                          other_caseworker):
    consent.record(by=supervisor, person=case.principal, purpose=ConsentPurpose.SHARING,
                   given=True, language="es")
    handovers.offer(by=supervisor, case=case, to_office=other_office, reason="Se muda")
    original = text_png()
    assert Image.open(io.BytesIO(original)).text  # the test's premise
    client.force_login(caseworker)

    sent = client.post(reverse("case_messages", kwargs={"case_id": case.pk}),
                       {"offices": [other_office.pk], "subject": "Informe", "body": "Adjunto.",
                        "file": SimpleUploadedFile("informe.png", original)})

    assert sent.status_code == 302
    client.force_login(other_caseworker)
    download = client.get(reverse("message_attachment", kwargs={
        "thread_id": MessageThread.objects.get().pk,
        "attachment_id": MessageAttachment.objects.get().pk}))
    assert download.status_code == 200
    img = Image.open(io.BytesIO(download.content))
    assert img.size == (320, 240) and not img.text and not img.getexif()
    assert round(img.info["dpi"][0]) == 300  # how to print it stays
    assert b"Rosalia" not in download.content and b"Las Flores" not in download.content
    assert MessageAttachment.objects.get().size == len(download.content)


def _bomb() -> bytes:
    """A PNG of a few KB that would take 400 million pixels in memory."""
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_decompression_bomb_is_refused_and_nothing_is_written(client, file_root, caseworker,
                                                                 case):
    bomb = _bomb()
    assert len(bomb) < 100_000
    client.force_login(caseworker)

    response = client.post(reverse("document_upload", kwargs={"case_id": case.pk}),
                           {"title": "Foto", "file": SimpleUploadedFile("foto.png", bomb)},
                           headers=EN)

    assert response.status_code in (200, 400)
    assert "The image is too large to open: at most 89 megapixels." in response.content.decode()
    assert not Document.objects.exists() and _files(file_root) == []
    with pytest.raises(ValidationError, match="too large to open") as exc:
        services.add_document(by=caseworker, case=case, title="x", filename="x.png", data=bomb)
    assert "file" in exc.value.error_dict


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_bomb_just_over_the_limit_is_refused_not_only_warned(caseworker, case):
    # Pillow only warns between MAX_IMAGE_PIXELS and twice that; the upload is refused there.
    limit = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = 100 * 100
        with pytest.raises(ValidationError, match="too large to open"):
            services.add_document(by=caseworker, case=case, title="x", filename="x.jpg",
                                  data=gps_jpeg(size=(120, 100)))
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    assert not Document.objects.exists()


def test_a_broken_image_is_refused_with_a_reason(caseworker, case):
    broken = gps_jpeg()[:600]  # the header and EXIF, not the picture

    with pytest.raises(ValidationError, match="cannot be read"):
        services.add_document(by=caseworker, case=case, title="x", filename="x.jpg",
                              data=broken)
    assert not Document.objects.exists()
