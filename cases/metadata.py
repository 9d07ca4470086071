"""Metadata removed from an uploaded file before it is sealed (ASVS V14.2.8).

A phone photo's EXIF can hold the GPS position where it was taken and the camera's serial
number, a PDF's document information and XMP its author and the software that made it.
`strip` returns the file without them; the picture and the pages stay as they were:

- JPEG and PNG lose their metadata segments and chunks (EXIF, XMP, IPTC, ICC profiles,
  comments, text chunks, times, anything after the image's end) without being decoded
  again, so their pixels are exact. A photo whose EXIF turns it (orientation) is turned
  first (`ImageOps.exif_transpose`) and saved again (JPEG at quality 95), so it does not
  rotate once the EXIF is gone.
- WebP loses its EXIF, XMP and ICC chunks the same way; TIFF is saved again by Pillow with
  its pixels, resolution and compression and no other tag.
- PDF: the document information dictionary and the XMP streams of the document and its
  pages are removed and the file written again (pypdf). A PDF pypdf cannot read, an
  encrypted one and a signed one (rewriting would break its signature) are kept as they
  are; so is a file with nothing to remove, byte for byte.

An image larger than `Image.MAX_IMAGE_PIXELS` is refused before its pixels are decoded,
and one Pillow cannot read is refused: neither is stored. Every step is bounded by the
upload's size limit, checked before.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Mapping
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

# PNG chunks kept: the image, its palette and transparency, and how to show it (resolution,
# gamma, chromaticities, sRGB, significant bits, background). Text, EXIF, ICC profile and
# time are dropped; so is any chunk not named here.
PNG_KEEP = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"pHYs", b"gAMA", b"cHRM", b"sRGB",
            b"sBIT", b"bKGD", b"acTL", b"fcTL", b"fdAT"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG markers kept before the scan: Adobe (APP14, colour transform), tables, frames,
# restart interval. APP1 (EXIF, XMP), APP2 (ICC, MPF), APP13 (IPTC) and every other
# application segment and comment are dropped; JFIF (APP0) is written again with the
# resolution alone (no thumbnail).
JPEG_KEEP_APP = {0xEE}
# The TIFF compressions Pillow writes without losing pixels.
TIFF_LOSSLESS = {"raw", "tiff_lzw", "tiff_deflate", "tiff_adobe_deflate", "packbits",
                 "group3", "group4"}

class _Unreadable(Exception):
    """The file's structure is not what its type says: Pillow decides (refuses or reads)."""


def refuse_too_big(field: str) -> ValidationError:
    return ValidationError({field: ValidationError(
        _("The image is too large to open: at most %(mp)d megapixels.")
        % {"mp": int(Image.MAX_IMAGE_PIXELS or 0) // 1_000_000}, code="too_big")})


def refuse_unreadable(field: str) -> ValidationError:
    return ValidationError({field: ValidationError(
        _("The image cannot be read: save or scan it again."), code="corrupt")})


def strip(data: bytes, content_type: str, *, field: str = "file",
          transpose: bool = True) -> bytes:
    """`data` without its metadata (content type as `uploads.check_upload` found it), or
    ValidationError keyed by `field` for an image too large or that cannot be read.
    `transpose=False` keeps the pixels exactly as they are (fingerprints: their template was
    read from them), only dropping the EXIF that would turn them."""
    if content_type == "application/pdf":
        return strip_pdf(data)
    if content_type.startswith("image/"):
        return strip_image(data, field=field, transpose=transpose)
    return data


# --- Images -----------------------------------------------------------------------------


def strip_image(data: bytes, *, field: str = "file", transpose: bool = True) -> bytes:
    limit = int(Image.MAX_IMAGE_PIXELS or 0)
    try:
        with Image.open(io.BytesIO(data)) as img:  # reads the header only
            width, height = img.size
            if limit and width * height > limit:
                raise refuse_too_big(field)
            kind = img.format
            # A PNG's EXIF may follow its pixels: read (decoding them) only when there is one.
            has_exif = kind != "PNG" or b"eXIf" in data
            orientation = img.getexif().get(0x0112, 1) if transpose and has_exif else 1
            # JFIF's resolution, else the EXIF's (Pillow reads both)
            jfif = _jfif(img.info)
            turn = orientation not in (None, 1) and getattr(img, "n_frames", 1) == 1
            if kind == "TIFF" or turn:
                return _resave(img, kind, limit=limit, field=field, transpose=transpose)
    except ValidationError:
        raise
    except Image.DecompressionBombError:
        raise refuse_too_big(field) from None
    except Exception:  # Pillow raises many kinds of error on broken files
        raise refuse_unreadable(field) from None
    try:
        if kind == "JPEG":
            return _strip_jpeg(data, jfif)
        if kind == "PNG":
            return _strip_png(data)
        if kind == "WEBP":
            return _strip_webp(data)
    except _Unreadable:
        raise refuse_unreadable(field) from None
    return data  # BMP and the like: no metadata to speak of


def _resave(img: Image.Image, kind: str | None, *, limit: int, field: str,
            transpose: bool) -> bytes:
    """The image decoded and saved again in its format with only its pixels, resolution and
    (TIFF) compression; turned upright by its EXIF orientation first."""
    frames: list[Image.Image] = []
    total = 0
    for index in range(getattr(img, "n_frames", 1)):
        img.seek(index)
        total += img.size[0] * img.size[1]
        if limit and total > limit:  # every page together
            raise refuse_too_big(field)
        frame = ImageOps.exif_transpose(img) if index == 0 and transpose else img.copy()
        frames.append(frame)
    options: dict[str, Any] = {}
    dpi = img.info.get("dpi")
    if dpi:
        options["dpi"] = dpi
    if "transparency" in img.info:
        options["transparency"] = img.info["transparency"]
    if kind == "JPEG":
        options.update(quality=95, subsampling=_jpeg_subsampling(img))
    elif kind == "TIFF":
        compression = img.info.get("compression", "raw")
        options["compression"] = compression if compression in TIFF_LOSSLESS else "tiff_lzw"
        if options["compression"] in ("group3", "group4") and frames[0].mode != "1":
            options["compression"] = "tiff_lzw"
    elif kind == "WEBP":
        options["quality"] = 95
    if len(frames) > 1:
        options.update(save_all=True, append_images=frames[1:])
    for frame in frames:
        frame.info = {key: value for key, value in frame.info.items() if key in ("dpi", "transparency")}
    buffer = io.BytesIO()
    frames[0].save(buffer, format=kind, **options)
    return buffer.getvalue()


def _jpeg_subsampling(img: Image.Image) -> int:
    from PIL import JpegImagePlugin

    try:
        value = JpegImagePlugin.get_sampling(img)
    except Exception:
        return 0
    return value if value in (0, 1, 2) else 0


def _jfif(info: Mapping[Any, Any]) -> bytes:
    """A JFIF segment with the image's resolution (dots per inch), or its aspect ratio only;
    empty when the file stated neither."""
    unit, density = 1, info.get("dpi") or ()
    if not density and "jfif_density" in info:
        unit, density = int(info.get("jfif_unit", 0)), info["jfif_density"]
    try:
        x, y = (max(1, min(65535, round(float(v)))) for v in density[:2])
    except (TypeError, ValueError, IndexError):
        return b""
    return b"\xff\xe0" + struct.pack(">H5sBBBHHBB", 16, b"JFIF\x00", 1, 1, unit, x, y, 0, 0)


def _strip_jpeg(data: bytes, jfif: bytes) -> bytes:
    """Keep the tables, frames and scans; drop the other segments and what follows the
    image's end. `jfif` takes the place of the JFIF segment (the resolution stays, also one
    only the EXIF stated)."""
    if data[:2] != b"\xff\xd8":
        raise _Unreadable
    out = [b"\xff\xd8", jfif]
    pos, size = 2, len(data)
    while pos < size:
        if data[pos] != 0xFF:
            raise _Unreadable
        marker = data[pos + 1] if pos + 1 < size else -1
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:  # end of image: anything after it goes
            out.append(b"\xff\xd9")
            break
        if marker < 0 or pos + 4 > size:
            raise _Unreadable
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        end = pos + 2 + length
        if length < 2 or end > size:
            raise _Unreadable
        segment = data[pos:end]
        if marker == 0xDA:  # start of scan: copy it and its entropy-coded data
            scan_end = _scan_end(data, end)
            out.append(data[pos:scan_end])
            pos = scan_end
            continue
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            if marker in JPEG_KEEP_APP:
                out.append(segment)
        else:
            out.append(segment)
        pos = end
    else:
        raise _Unreadable  # no end of image
    return b"".join(out)


def _scan_end(data: bytes, pos: int) -> int:
    """Where the entropy-coded data that starts at `pos` ends: at the next marker that is
    neither a stuffed byte nor a restart."""
    size = len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= size:
            raise _Unreadable
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1
            continue
        return pos


def _strip_png(data: bytes) -> bytes:
    if not data.startswith(PNG_SIGNATURE):
        raise _Unreadable
    out = [PNG_SIGNATURE]
    pos, size = len(PNG_SIGNATURE), len(data)
    while pos + 8 <= size:
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > size:
            raise _Unreadable
        if kind in PNG_KEEP:
            out.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            return b"".join(out)
    raise _Unreadable  # no IEND


def _strip_webp(data: bytes) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise _Unreadable
    out: list[bytes] = []
    pos, size = 12, len(data)
    while pos + 8 <= size:
        kind = data[pos:pos + 4]
        (length,) = struct.unpack("<I", data[pos + 4:pos + 8])
        end = pos + 8 + length + (length & 1)
        if pos + 8 + length > size:
            raise _Unreadable
        chunk = data[pos:min(end, size)]
        if kind == b"VP8X" and length >= 10:
            flags = chunk[8] & ~(0x20 | 0x08 | 0x04)  # ICC, EXIF, XMP
            chunk = chunk[:8] + bytes([flags]) + chunk[9:]
        if kind not in (b"EXIF", b"XMP ", b"ICCP"):
            out.append(chunk)
        pos = end
    body = b"WEBP" + b"".join(out)
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- PDF --------------------------------------------------------------------------------


def strip_pdf(data: bytes) -> bytes:
    """The PDF without its document information and XMP; `data` itself when pypdf cannot
    read it, when it is encrypted or signed, or when there is nothing to remove."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DictionaryObject, NameObject

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return data
        root = cast(DictionaryObject, reader.trailer["/Root"].get_object())
        form = root.get("/AcroForm")
        form = form.get_object() if form is not None else None
        if isinstance(form, DictionaryObject) and int(form.get("/SigFlags", 0)) & 1:
            return data  # signed: rewriting would break the signature
        pages = list(reader.pages)
        found = ("/Info" in reader.trailer or "/Metadata" in root
                 or any("/Metadata" in page or "/PieceInfo" in page for page in pages)
                 or "/PieceInfo" in root)
        if not found:
            return data
        writer = PdfWriter(clone_from=reader)
        writer.metadata = None
        writer.xmp_metadata = None
        for key in ("/PieceInfo",):
            if key in writer.root_object:
                del writer.root_object[NameObject(key)]
        for page in writer.pages:
            for key in ("/Metadata", "/PieceInfo"):
                if key in page:
                    del page[NameObject(key)]
        # the streams removed would still be written, unreferenced
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
        buffer = io.BytesIO()
        writer.write(buffer)
        return buffer.getvalue()
    except Exception:  # pypdf raises many kinds of error on broken files
        return data
