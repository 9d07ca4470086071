"""Generated prints for the biometrics tests, each made once per test run (a finger takes
seconds to grow)."""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image

from biometrics import synthetic


@functools.cache
def _finger(seed: int) -> synthetic.Finger:
    return synthetic.finger(seed)


@functools.cache
def impression(seed: int, n: int, fmt: str = "PNG") -> bytes:
    """Impression `n` of the generated finger `seed`, as an image file."""
    return synthetic.png(synthetic.impression(_finger(seed), 1000 * seed + n), fmt)


def face(seed: int = 0, fmt: str = "JPEG", size: tuple[int, int] = (160, 120)) -> bytes:
    """A photo-sized image (not a real face: nobody's): smooth shapes and a little noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size[0], 0:size[1]]
    blob = 90 * np.exp(-((xx - size[1] / 2) ** 2 + (yy - size[0] / 2.2) ** 2) / (size[0] * size[1] / 12))
    grey = 110 + blob[..., None] + rng.normal(0, 4, (*size, 3))
    pixels = grey.clip(0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()
