"""The fingerprint engine behind an interface of ours (docs/architecture.md#biometrics).

`Engine` is what the rest of the app knows: `check_image` (the file itself), `extract` (a
template and its quality, or a refusal an operator understands), `compare` (1:1, a score),
and the 1:N half: a gallery in this process's memory that `enrol` fills (with what
`features` computed at the enrolment, so a restart need not compute it again), `remove`
empties and `search` searches with one or more probe fingers. `NbisEngine` implements it
with NIST's NBIS (MINDTCT, Bozorth3) and NFIQ 2 through the `nbis-py` binding and our
Minutia Cylinder-Code index (biometrics/index.py, biometrics/gallery.py); another engine or
a vendor's SDK replaces it by implementing the same protocol (setting BIOMETRICS_ENGINE).
biometrics/worker.py keeps the gallery current with the database.
"""

from __future__ import annotations

import functools
import io
import warnings
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from PIL import Image

from biometrics import index
from biometrics.gallery import Gallery, Result

# The formats a scanner or a scanned ten-print card comes in (read from the content).
FORMATS = frozenset({"PNG", "JPEG", "BMP", "TIFF"})
MAX_BYTES = 8 * 1024 * 1024
# A finger at 500 ppi is a few hundred pixels a side; a ten-print card's box well under 2000.
MIN_SIDE = 150
MAX_SIDE = 2000
MAX_PIXELS = MAX_SIDE * MAX_SIDE
# The engine reads 500 ppi. A scan that says it is finer (a card at 1000 ppi) is scaled to
# 500; one coarser than MIN_PPI loses ridge detail and is refused. A resolution at or below
# UNSTATED_PPI is a file's default (72 or 96 dpi), not a scanner's: taken as 500.
PPI = 500
MIN_PPI = 400
UNSTATED_PPI = 100

# Refusal codes and the words an operator reads at the scanner.
REASONS: dict[str, Any] = {
    "empty": _("The file is empty."),
    "too_large": _("The image file is too large."),
    "format": _("Upload the fingerprint as a PNG, JPEG, BMP or TIFF image."),
    "corrupt": _("The image cannot be read: scan it again."),
    "too_small": _("The image is too small for a fingerprint at 500 ppi: scan it again at 500 ppi."),
    "low_resolution": _("The scan's resolution is too low for fingerprints: scan it again at 500 ppi."),
    "too_big": _("The image is too big for one fingerprint: crop it to the finger."),
    "not_fingerprint": _("This does not look like a fingerprint: wrong finger? Check what was scanned."),
    "low_contrast": _("The print is faint or smudged: clean the sensor and the finger, then capture again."),
    "small_area": _("Too little of the finger touched the sensor: press flatter and capture again."),
    "few_minutiae": _("Too few ridge details were found: press flatter, roll the finger slightly, "
                      "and capture again."),
    "low_quality": _("The print quality is too low: clean the sensor, press flatter, and capture again."),
    "bad_template": _("The minutiae template cannot be read: export it again from the device."),
    "other_finger": _("This print matches another finger already enrolled for this person: "
                      "wrong finger?"),
}


class Refused(Exception):
    """A capture the engine will not enrol, with a code and the operator's reason."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(str(REASONS[code]))

    @property
    def reason(self) -> str:
        return str(REASONS[self.code])


@dataclass(frozen=True)
class Extraction:
    """A template (ISO/IEC 19794-2:2005 bytes), its quality (NFIQ 2, 0-100) and minutiae."""

    template: bytes
    quality: int
    minutiae: np.ndarray  # (n, 3) float32: x, y, angle in radians


@dataclass(frozen=True)
class Enrolment:
    """One finger of one person for the gallery: its template, what `Engine.features` gave
    for it at the enrolment (None: the engine computes it) and when it was captured."""

    person: Any
    finger: int
    template: bytes
    features: bytes | None = None
    at: Any = None


class Engine(Protocol):
    def extract(self, image: bytes) -> Extraction: ...

    def load_template(self, template: bytes) -> Extraction: ...

    def compare(self, a: bytes, b: bytes) -> int: ...

    def comparator(self, probe: bytes) -> Any: ...

    # The 1:N gallery of this process (an SDK's own gallery, for a vendor's engine).

    def features(self, template: bytes) -> bytes | None:
        """What the gallery keeps of a template, computed once at the enrolment and sealed
        beside it (None if the engine keeps nothing of its own)."""
        ...

    def enrol(self, enrolments: Iterable[Enrolment]) -> None:
        """Into the gallery (replacing a person's finger, not by a capture taken earlier)."""
        ...

    def remove(self, person: Any, finger: int | None = None, *, unless_newer: Any = None) -> None:
        """Out of the gallery: one finger, or every finger of the person."""
        ...

    def search(self, probe: dict[int, bytes], *, exclude: Any = None) -> Result:
        """The gallery's candidates for these fingers (position -> template), best first,
        with exact scores; `exclude` is a person left out (the one enrolling)."""
        ...

    def gallery_people(self) -> int: ...

    def clear(self) -> None:
        """An empty gallery, as after a restart."""
        ...


def min_minutiae() -> int:
    return int(getattr(settings, "BIOMETRICS_MIN_MINUTIAE", 12))


def min_quality() -> int:
    return int(getattr(settings, "BIOMETRICS_MIN_QUALITY", 20))


def check_image(data: bytes) -> np.ndarray:
    """The grey pixels of an uploaded image, or Refused: type from the content, size and
    dimensions capped before decoding (no decompression bomb), then a look at the pixels."""
    if not data:
        raise Refused("empty")
    if len(data) > MAX_BYTES:
        raise Refused("too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.format not in FORMATS:
                    raise Refused("format")
                width, height = img.size
                if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                    raise Refused("too_big")
                ppi = _stated_ppi(img)
                if ppi is not None and ppi < MIN_PPI:
                    raise Refused("low_resolution")
                grey = img.convert("L")
                if ppi is not None and ppi > PPI * 1.1:
                    scale = PPI / ppi
                    grey = grey.resize((round(width * scale), round(height * scale)),
                                       Image.Resampling.LANCZOS)
                if min(grey.size) < MIN_SIDE:
                    raise Refused("too_small")
                pixels = np.asarray(grey, dtype=np.uint8)
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused("too_big") from None
    except Exception:  # Pillow raises many kinds of error on broken files
        raise Refused("corrupt") from None
    if float(pixels.std()) < 8.0:
        raise Refused("low_contrast")
    if not looks_like_ridges(pixels):
        raise Refused("not_fingerprint")
    return pixels


def _stated_ppi(img: Image.Image) -> float | None:
    """The horizontal resolution the file states, in pixels per inch; None when it states
    none, or only a file's default."""
    dpi = img.info.get("dpi")
    try:
        ppi = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        return None
    return ppi if ppi > UNSTATED_PPI else None


def looks_like_ridges(pixels: np.ndarray) -> bool:
    """Whether the image's energy sits at ridge frequencies (periods of about 5 to 15 px at
    500 ppi) and, block by block, in one dominant orientation, as a fingerprint's does; a
    photo, a document or noise spreads it."""
    grey = pixels.astype(np.float64)
    grey -= grey.mean()
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(grey))) ** 2
    height, width = grey.shape
    fy = np.fft.fftshift(np.fft.fftfreq(height))[:, None]
    fx = np.fft.fftshift(np.fft.fftfreq(width))[None, :]
    radius = np.sqrt(fy ** 2 + fx ** 2)
    band = (radius > 1 / 15) & (radius < 1 / 5)
    total = float(spectrum[radius > 1 / 60].sum()) or 1.0
    if float(spectrum[band].sum()) / total < 0.35:
        return False
    # Coherence of the gradient orientation in 16-px blocks where there is texture.
    gy, gx = np.gradient(grey)
    gxx, gyy, gxy = np.asarray(gx * gx), np.asarray(gy * gy), np.asarray(gx * gy)
    b = 16
    h, w = (height // b) * b, (width // b) * b

    def blocks(a: np.ndarray) -> np.ndarray:
        return np.asarray(a[:h, :w].reshape(h // b, b, w // b, b).sum(axis=(1, 3)))

    sxx, syy, sxy = blocks(gxx), blocks(gyy), blocks(gxy)
    energy = sxx + syy
    textured = energy > 0.25 * float(np.median(energy[energy > 0])) if (energy > 0).any() else energy > 0
    if textured.sum() < 12:
        return False
    coherence = np.sqrt((sxx - syy) ** 2 + 4 * sxy ** 2) / (energy + 1e-9)
    return float(np.median(coherence[textured])) > 0.45


def _area(pixels: np.ndarray) -> float:
    """The share of 16-px blocks with ridge texture: how much of the finger touched."""
    b = 16
    h, w = (pixels.shape[0] // b) * b, (pixels.shape[1] // b) * b
    blocks = pixels[:h, :w].astype(np.float64).reshape(h // b, b, w // b, b)
    return float((blocks.std(axis=(1, 3)) > 20).mean())


class NbisEngine:
    """MINDTCT minutiae, NFIQ 2 quality and Bozorth3 scores through `nbis-py`."""

    def __init__(self) -> None:
        import nbis

        self._nbis = nbis
        self._extractor = nbis.new_nbis_extractor(nbis.NbisExtractorSettings(
            min_quality=0.0, get_center=False, check_fingerprint=False, compute_nfiq2=True,
            ppi=500.0))
        self.gallery = Gallery()

    def _points(self, found: Any) -> np.ndarray:
        points = [(m.x(), m.y(), np.deg2rad(m.angle())) for m in found.get()]
        return np.asarray(points, dtype=np.float32).reshape(-1, 3)

    def extract(self, image: bytes) -> Extraction:
        pixels = check_image(image)
        buffer = io.BytesIO()
        Image.fromarray(pixels, mode="L").save(buffer, format="PNG", dpi=(500, 500))
        try:
            found = self._extractor.extract_minutiae(buffer.getvalue())
        except self._nbis.NbisError.Nfiq2ComputeFailed:
            raise Refused("low_quality") from None
        except self._nbis.NbisError:
            raise Refused("corrupt") from None
        quality = found.quality()
        score = int(quality.score) if quality is not None else 0
        points = self._points(found)
        if _area(pixels) < 0.15:
            raise Refused("small_area")
        if len(points) < min_minutiae():
            raise Refused("few_minutiae")
        if score < min_quality():
            raise Refused("low_quality")
        return Extraction(template=bytes(found.to_iso_19794_2_2005()), quality=score, minutiae=points)

    def _load(self, template: bytes) -> Any:
        try:
            return self._extractor.load_iso_19794_2_2005(template)
        except self._nbis.NbisError:
            raise Refused("bad_template") from None

    def load_template(self, template: bytes) -> Extraction:
        """A device's ISO/IEC 19794-2:2005 template, checked (no image: quality unknown, 0)."""
        found = self._load(template)
        points = self._points(found)
        if len(points) < min_minutiae():
            raise Refused("few_minutiae")
        return Extraction(template=bytes(found.to_iso_19794_2_2005()), quality=0, minutiae=points)

    def compare(self, a: bytes, b: bytes) -> int:
        return int(self._load(a).compare(self._load(b)))

    def comparator(self, probe: bytes) -> Any:
        """A callable scoring gallery templates against one probe loaded once."""
        loaded = self._load(probe)

        def score(template: bytes) -> int:
            return int(loaded.compare(self._load(template)))

        return score

    def _minutiae(self, template: bytes) -> np.ndarray:
        return self._points(self._load(template))

    def features(self, template: bytes) -> bytes | None:
        """The template's cylinders, hash keys and directions (index.pack): what a restarted
        worker would otherwise compute again for every template."""
        return index.pack(index.describe(self._minutiae(template)))

    def enrol(self, enrolments: Iterable[Enrolment]) -> None:
        """Into the gallery. Many at once (a worker's start) go in a chunk at a time and the
        hash tables are built once at the end; a few into a gallery already built (a catch-up)
        go to its small recent tables, without rebuilding the large ones."""
        chunk: dict[int, list[tuple[Any, index.Described, bytes]]] = defaultdict(list)
        g = self.gallery
        bulk, pending = not g.templates, 0
        for enrolment in enrolments:
            described = index.unpack(enrolment.features) or index.describe(
                self._minutiae(enrolment.template))
            if g.holds(enrolment.person, enrolment.finger):
                g.add(enrolment.person, enrolment.finger, described, enrolment.template, at=enrolment.at)
                continue
            chunk[enrolment.finger].append((enrolment.person, described, enrolment.template))
            if enrolment.at is not None:
                g.taken[(g.number(enrolment.person), enrolment.finger)] = enrolment.at
            pending += 1
            if pending >= ENROL_CHUNK:
                bulk = True
                self._add_chunk(chunk, bulk=True)
                pending = 0
        self._add_chunk(chunk, bulk=bulk)
        if bulk:
            g.merge()

    def _add_chunk(self, chunk: dict[int, list[tuple[Any, index.Described, bytes]]], *,
                   bulk: bool) -> None:
        for finger, rows in chunk.items():
            if bulk:
                self.gallery.add_many(finger, rows, merge=False)
            else:
                for person, described, template in rows:
                    self.gallery.add(person, finger, described, template)
        chunk.clear()

    def remove(self, person: Any, finger: int | None = None, *, unless_newer: Any = None) -> None:
        if finger is None:
            self.gallery.remove_person(person)
        else:
            self.gallery.remove_finger(person, finger, unless_newer=unless_newer)

    def search(self, probe: dict[int, bytes], *, exclude: Any = None) -> Result:
        """The index's best people, put in order by their cylinders, the first confirmed with
        Bozorth3 (gallery.Gallery.search)."""
        return self.gallery.search({f: (self._minutiae(t), t) for f, t in probe.items()},
                                   self.comparator, exclude=exclude)

    def gallery_people(self) -> int:
        return self.gallery.enrolled_people()

    def clear(self) -> None:
        self.gallery = Gallery()


# Enrolments described before their keys go into the pending tables together.
ENROL_CHUNK = 500


@functools.cache
def engine() -> Engine:
    """The configured engine (setting BIOMETRICS_ENGINE, a dotted path; NBIS by default)."""
    path = getattr(settings, "BIOMETRICS_ENGINE", "biometrics.engine.NbisEngine")
    return import_string(path)()  # type: ignore[no-any-return]
