"""TensorFlow Playground's 2-D generators (src/dataset.ts), ported to a seeded numpy Generator.

Points live in [-6, 6]²; `noise` is the playground's noise/100 (0 to 0.5), used exactly as the playground uses it:
circle, xor and the regressions label the point after a random displacement (so noise flips labels near the border),
gauss widens its clusters, spiral jitters its points. Labels: the playground's +1 is class 1, -1 is class 0.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nndojo.datasets.info import FEATURES

EXTENT = 6.0  # the playground's plots and regressions cover [-6, 6]²

Generated = tuple[np.ndarray, np.ndarray]  # points float64 (N, 2), labels: int64 classes or float64 targets


def _halves(n: int) -> tuple[int, int]:
    """Class sizes that add up to exactly n (the playground loops `i < n / 2` twice, which overshoots odd n by one)."""
    return n - n // 2, n // 2


def _polar(rng: np.random.Generator, n: int, r_low: float, r_high: float) -> np.ndarray:
    r = rng.uniform(r_low, r_high, n)
    angle = rng.uniform(0.0, 2 * np.pi, n)
    return np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)


def circle(rng: np.random.Generator, n: int, noise: float) -> Generated:
    """classifyCircleData: a disc of radius 2.5 inside a ring from 3.5 to 5; labels taken at a displaced point."""
    radius = 5.0
    n_in, n_out = _halves(n)
    points = np.concatenate([_polar(rng, n_in, 0.0, radius * 0.5), _polar(rng, n_out, radius * 0.7, radius)])
    shifted = points + rng.uniform(-radius, radius, points.shape) * noise
    labels = (np.hypot(shifted[:, 0], shifted[:, 1]) < radius * 0.5).astype(np.int64)
    return points, labels


def xor(rng: np.random.Generator, n: int, noise: float) -> Generated:
    """classifyXORData: uniform in [-5, 5]² pushed 0.3 away from the axes; class 1 where x·y ≥ 0 at a displaced point."""
    padding = 0.3
    points = rng.uniform(-5.0, 5.0, (n, 2))
    points += np.where(points > 0, padding, -padding)
    shifted = points + rng.uniform(-5.0, 5.0, points.shape) * noise
    labels = (shifted[:, 0] * shifted[:, 1] >= 0).astype(np.int64)
    return points, labels


def gauss(rng: np.random.Generator, n: int, noise: float) -> Generated:
    """classifyTwoGaussData: clusters at (2, 2) (class 1) and (-2, -2) (class 0), variance 0.5 + 7·noise (0.5 to 4)."""
    variance = 0.5 + (4.0 - 0.5) * noise / 0.5
    n_pos, n_neg = _halves(n)
    std = np.sqrt(variance)
    points = np.concatenate([rng.normal(2.0, std, (n_pos, 2)), rng.normal(-2.0, std, (n_neg, 2))])
    labels = np.concatenate([np.ones(n_pos, np.int64), np.zeros(n_neg, np.int64)])
    return points, labels


def spiral(rng: np.random.Generator, n: int, noise: float) -> Generated:
    """classifySpiralData: r = 5·i/m, t = 1.75·2π·i/m + Δ, x = r·sin t, y = r·cos t, plus uniform(-1, 1)·noise jitter."""
    parts = []
    for count, delta in zip(_halves(n), (0.0, np.pi), strict=True):
        i = np.arange(count, dtype=np.float64)
        r = i / count * 5.0
        t = 1.75 * i / count * 2 * np.pi + delta
        arm = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        parts.append(arm + rng.uniform(-1.0, 1.0, arm.shape) * noise)
    n_pos, n_neg = _halves(n)
    labels = np.concatenate([np.ones(n_pos, np.int64), np.zeros(n_neg, np.int64)])
    return np.concatenate(parts), labels


def moons(rng: np.random.Generator, n: int, noise: float) -> Generated:
    """Not in the playground: scikit-learn's two interleaved half-moons, centred and scaled by 10/3 to span x in [-5, 5].

    Noise follows the playground's circle and xor scale: each point is displaced by uniform(-5, 5)·noise per axis
    (at most ±2.5 at noise 0.5), so the moons blur into each other as noise grows. Class 1 is the upper moon.
    """
    scale = 10.0 / 3.0
    n_up, n_down = _halves(n)
    t_up = rng.uniform(0.0, np.pi, n_up)
    t_down = rng.uniform(0.0, np.pi, n_down)
    upper = np.stack([np.cos(t_up), np.sin(t_up)], axis=1)
    lower = np.stack([1.0 - np.cos(t_down), 0.5 - np.sin(t_down)], axis=1)
    points = (np.concatenate([upper, lower]) - np.array([0.5, 0.25])) * scale
    points += rng.uniform(-5.0, 5.0, points.shape) * noise
    labels = np.concatenate([np.ones(n_up, np.int64), np.zeros(n_down, np.int64)])
    return points, labels


def _uniform_with_shift(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    points = rng.uniform(-EXTENT, EXTENT, (n, 2))
    return points, points + rng.uniform(-EXTENT, EXTENT, points.shape) * noise


def reg_plane(rng: np.random.Generator, n: int, noise: float) -> Generated:
    """regressPlane: target (x + y) / 10 at a displaced point, so about [-1.2, 1.2] without noise."""
    points, shifted = _uniform_with_shift(rng, n, noise)
    return points, (shifted[:, 0] + shifted[:, 1]) / 10.0


# regressGaussian's bumps: centre x, centre y, sign
_BUMPS = np.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]], dtype=np.float64)


def reg_gauss(rng: np.random.Generator, n: int, noise: float) -> Generated:
    """regressGaussian: six signed cones of radius 2; the target is the one largest in absolute value, in [-1, 1]."""
    points, shifted = _uniform_with_shift(rng, n, noise)
    d = np.hypot(shifted[:, None, 0] - _BUMPS[None, :, 0], shifted[:, None, 1] - _BUMPS[None, :, 1])
    values = _BUMPS[None, :, 2] * np.clip(1.0 - d / 2.0, 0.0, 1.0)
    # the playground keeps the first bump on ties (strictly greater replaces); argmax also keeps the first
    best = np.argmax(np.abs(values), axis=1)
    return points, values[np.arange(n), best]


GENERATORS: dict[str, Callable[[np.random.Generator, int, float], Generated]] = {
    "circle": circle,
    "xor": xor,
    "gauss": gauss,
    "spiral": spiral,
    "moons": moons,
    "reg-plane": reg_plane,
    "reg-gauss": reg_gauss,
}

_FEATURE_FUNCS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1x2": lambda x1, x2: x1 * x2,
    "sin_x1": lambda x1, x2: np.sin(x1),
    "sin_x2": lambda x1, x2: np.sin(x2),
}
assert set(_FEATURE_FUNCS) == set(FEATURES)


def expand_features(points: np.ndarray, features: list[str]) -> np.ndarray:
    """The playground's INPUTS computed from raw (x1, x2), one column per feature in the order given; float32."""
    unknown = [f for f in features if f not in _FEATURE_FUNCS]
    if unknown or not features:
        raise ValueError(f"features must be a non-empty list of {', '.join(FEATURES)}; got {features!r}")
    x1 = points[:, 0].astype(np.float64)
    x2 = points[:, 1].astype(np.float64)
    return np.stack([_FEATURE_FUNCS[f](x1, x2) for f in features], axis=1).astype(np.float32)


def generate(name: str, rng: np.random.Generator, n: int, noise: float) -> Generated:
    """Points and labels of the named set, in generation order (the caller shuffles)."""
    if name not in GENERATORS:
        raise ValueError(f"dataset {name!r} is not a 2-D set; choose one of {', '.join(GENERATORS)}")
    if n < 2:
        raise ValueError(f"n_samples must be at least 2, got {n}")
    if not 0.0 <= noise <= 0.5:
        raise ValueError(f"noise must be between 0 and 0.5 (the playground's noise/100), got {noise}")
    return GENERATORS[name](rng, n, noise)
