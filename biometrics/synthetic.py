"""Synthetic fingerprints for tests and the benchmark (docs/architecture.md#biometrics).

A finger is a ridge pattern grown by iterative Gabor filtering of sparse noise along an
orientation field made from core and delta points (the Sherlock-Monro model), with a ridge
period near 9 px (500 ppi). An impression of it is the pattern rotated, shifted, elastically
distorted, partly in contact and noisy, as a grey-scale image (dark ridges on light paper).
Made for functional tests and timing, never for calibrating thresholds.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

PERIOD = 9.0
ANGLES = 16
SIZE = (416, 352)  # height, width of a finger's pattern: about 21 x 18 mm at 500 ppi


@dataclass(frozen=True)
class Finger:
    """One generated finger: its ridge pattern, values in [-1, 1]."""

    ridges: np.ndarray


def _orientation(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    z = xx + 1j * yy
    kind = rng.choice(["loop", "whorl", "arch"], p=[0.6, 0.3, 0.1])
    cx, cy = width / 2 + rng.uniform(-30, 30), height * 0.42 + rng.uniform(-30, 30)
    cores: list[complex] = []
    deltas: list[complex] = []
    if kind == "loop":
        side = rng.choice([-1, 1])
        cores = [complex(cx, cy)]
        deltas = [complex(cx + side * rng.uniform(90, 140), cy + rng.uniform(110, 170))]
    elif kind == "whorl":
        cores = [complex(cx, cy - 22), complex(cx, cy + 22)]
        deltas = [complex(cx - rng.uniform(110, 150), cy + rng.uniform(120, 170)),
                  complex(cx + rng.uniform(110, 150), cy + rng.uniform(120, 170))]
    else:
        cores = [complex(cx, cy + 40)]
        deltas = [complex(cx + rng.uniform(-5, 5), cy + 60)]
    theta = np.zeros_like(xx)
    for d in deltas:
        theta -= np.angle(z - d)
    for c in cores:
        theta += np.angle(z - c)
    theta = 0.5 * theta + rng.uniform(-0.2, 0.2)
    if kind == "arch":
        theta = 0.35 * np.sin(np.pi * (xx - cx) / width) * np.exp(-((yy - cy) / height) ** 2) + np.pi / 2
        theta = theta * 0 + np.arctan(0.6 * np.sin(2 * np.pi * (xx - cx) / (1.6 * width)) *
                                      np.exp(-((yy - cy) / (0.6 * height)) ** 2))
    return np.asarray(np.mod(theta, np.pi))


def _gabor_bank(height: int, width: int) -> np.ndarray:
    """The FFTs of ANGLES even Gabor filters tuned to ridges across each orientation."""
    half = 12
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
    sigma = 4.0
    bank = np.empty((ANGLES, height, width), dtype=np.complex128)
    for i in range(ANGLES):
        a = np.pi * i / ANGLES
        # ridges run along angle a; the wave runs across them
        u = -xx * np.sin(a) + yy * np.cos(a)
        kernel = np.exp(-(xx ** 2 + yy ** 2) / (2 * sigma ** 2)) * np.cos(2 * np.pi * u / PERIOD)
        kernel -= kernel.mean()
        padded = np.zeros((height, width))
        padded[: 2 * half + 1, : 2 * half + 1] = kernel
        padded = np.roll(padded, (-half, -half), axis=(0, 1))
        bank[i] = np.fft.fft2(padded)
    return bank


_BANKS: dict[tuple[int, int], np.ndarray] = {}


def finger(seed: int) -> Finger:
    """The finger of this seed: the same seed always gives the same finger."""
    rng = np.random.default_rng(seed)
    height, width = SIZE
    theta = _orientation(rng, height, width)
    index = np.rint(theta / np.pi * ANGLES).astype(np.int64) % ANGLES
    bank = _BANKS.get((height, width))
    if bank is None:
        bank = _BANKS[(height, width)] = _gabor_bank(height, width)
    image = np.zeros((height, width))
    seeds = rng.random((height, width)) < 0.004
    image[seeds] = rng.choice([-1.0, 1.0], size=int(seeds.sum()))
    rows, cols = np.indices((height, width))
    for _ in range(12):
        spectrum = np.fft.fft2(image)
        responses = np.fft.ifft2(spectrum[None, :, :] * bank).real
        image = responses[index, rows, cols]
        image = np.clip(image / (np.percentile(np.abs(image), 90) + 1e-9), -1, 1)
    return Finger(ridges=image)


def _sample(ridges: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Bilinear sampling; outside the pattern is background (value 1, no ridge)."""
    height, width = ridges.shape
    padded = np.pad(ridges, 1, constant_values=1.0)
    ys = np.clip(ys + 1, 0, height + 0.999)
    xs = np.clip(xs + 1, 0, width + 0.999)
    y0 = np.floor(ys).astype(np.int64)
    x0 = np.floor(xs).astype(np.int64)
    y1 = np.minimum(y0 + 1, height + 1)
    x1 = np.minimum(x0 + 1, width + 1)
    fy, fx = ys - y0, xs - x0
    top = padded[y0, x0] * (1 - fx) + padded[y0, x1] * fx
    bottom = padded[y1, x0] * (1 - fx) + padded[y1, x1] * fx
    return np.asarray(top * (1 - fy) + bottom * fy)


def _smooth_field(rng: np.random.Generator, height: int, width: int, amplitude: float) -> np.ndarray:
    coarse = rng.normal(0, 1, (4, 4))
    ys = np.linspace(0, 3, height)[:, None]
    xs = np.linspace(0, 3, width)[None, :]
    y0 = np.clip(np.floor(ys).astype(int), 0, 2)
    x0 = np.clip(np.floor(xs).astype(int), 0, 2)
    fy, fx = ys - y0, xs - x0
    field = (coarse[y0, x0] * (1 - fy) * (1 - fx) + coarse[y0 + 1, x0] * fy * (1 - fx)
             + coarse[y0, x0 + 1] * (1 - fy) * fx + coarse[y0 + 1, x0 + 1] * fy * fx)
    return np.asarray(amplitude * field)


def impression(of: Finger, seed: int, *, rotation: float = 10.0, shift: float = 20.0,
               distortion: float = 3.0, noise: float = 0.15, contact: float = 0.85) -> np.ndarray:
    """One impression of a finger as an 8-bit grey image (dark ridges, light background)."""
    rng = np.random.default_rng(seed)
    height, width = of.ridges.shape
    angle = np.deg2rad(rng.uniform(-rotation, rotation))
    dy, dx = rng.uniform(-shift, shift, 2)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    cy, cx = height / 2, width / 2
    # inverse mapping: where in the pattern each pixel of the impression comes from
    ry, rx = yy - cy - dy, xx - cx - dx
    src_y = cy + ry * np.cos(angle) - rx * np.sin(angle)
    src_x = cx + ry * np.sin(angle) + rx * np.cos(angle)
    src_y += _smooth_field(rng, height, width, distortion)
    src_x += _smooth_field(rng, height, width, distortion)
    values = _sample(of.ridges, src_y, src_x)
    # partial contact: an ellipse of pressure, softly edged, somewhere near the centre
    ey, ex = cy + rng.uniform(-20, 20), cx + rng.uniform(-20, 20)
    ay, ax = height * 0.5 * contact, width * 0.5 * contact
    pressure = np.clip((1.0 - ((yy - ey) / ay) ** 2 - ((xx - ex) / ax) ** 2) * 4, 0, 1)
    values = values * pressure + (1 - pressure)
    values = values + rng.normal(0, noise, values.shape)
    grey = 128 + 110 * np.clip(values, -1, 1)
    return np.asarray(np.clip(grey, 0, 255).astype(np.uint8))


def png(pixels: np.ndarray, fmt: str = "PNG") -> bytes:
    """The image as file bytes (PNG by default; JPEG, BMP or TIFF on request), at 500 ppi."""
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format=fmt, dpi=(500, 500))
    return buffer.getvalue()
