"""One entry point from a dataset spec and a seed to arrays the trainer can use, plus the grid and preview the page needs.

Everything random comes from numpy's Generator seeded with the job seed: the same spec and seed give identical data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nndojo.datasets import images, toy
from nndojo.datasets.images import CLASS_NAMES, DatasetUnavailable
from nndojo.datasets.info import DATASETS, MAX_PREVIEW_IMAGES, DatasetInfo, split_sizes
from nndojo.datasets.upload import Upload

if TYPE_CHECKING:  # spec.models imports datasets.info, so importing it here at runtime would be circular
    from nndojo.spec.models import DatasetSpec

GRID_EXTENT = toy.EXTENT


@dataclass
class Dataset:
    """Training and test arrays; images are (N, C, H, W) in [0, 1], 2-D sets (N, n_features) with raw points alongside."""

    info: DatasetInfo
    x_train: np.ndarray  # float32 (N, *input_shape)
    y_train: np.ndarray  # int64 class indices, or float32 (N,) regression targets
    x_test: np.ndarray
    y_test: np.ndarray
    points_train: np.ndarray | None  # float32 (N, 2) raw x1, x2 (2-D sets only), same order as x_train
    points_test: np.ndarray | None
    features: list[str]
    # uploads: x = (raw - shift) / scale, with the training part's mean and standard deviation per column
    shift: np.ndarray | None = None
    scale: np.ndarray | None = None


def _rng(seed: int) -> np.random.Generator:
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.default_rng(int(seed))


def _info(name: str, upload: Upload | None = None) -> DatasetInfo:
    if upload is not None and upload.name == name:
        return upload.info
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)} or an uploaded set")
    return DATASETS[name]


def _check_limit(train_limit: int | None) -> None:
    if train_limit is not None and train_limit < 1:
        raise ValueError(f"train_limit must be at least 1 or null, got {train_limit}")


def _load_toy(spec: DatasetSpec, info: DatasetInfo, rng: np.random.Generator) -> Dataset:
    points, labels = toy.generate(spec.name, rng, spec.n_samples, spec.noise)
    order = rng.permutation(len(points))
    points, labels = points[order].astype(np.float32), labels[order]
    labels = labels.astype(np.int64 if info.task == "classification" else np.float32)
    n_train, _ = split_sizes(len(points), spec.test_fraction)
    _check_limit(spec.train_limit)
    keep = n_train if spec.train_limit is None else min(n_train, spec.train_limit)
    features = list(spec.features)
    p_train, p_test = points[:keep].copy(), points[n_train:].copy()
    return Dataset(
        info=info,
        x_train=toy.expand_features(p_train, features),
        y_train=labels[:keep].copy(),
        x_test=toy.expand_features(p_test, features),
        y_test=labels[n_train:].copy(),
        points_train=p_train,
        points_test=p_test,
        features=features,
    )


@dataclass(frozen=True)
class _ImageSplit:
    """Which rows of the (shared, read-only) source arrays go to training and test, before conversion to float."""

    train_images: np.ndarray
    train_labels: np.ndarray
    train_idx: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    test_idx: np.ndarray
    scale: float  # divide pixels by this to get [0, 1]


def _image_split(spec: DatasetSpec, rng: np.random.Generator, datasets_dir: Path) -> _ImageSplit:
    _check_limit(spec.train_limit)
    if spec.name == "digits":
        pixels, labels = images.load_digits_raw()
        order = rng.permutation(len(pixels))
        n_train, _ = split_sizes(len(pixels), spec.test_fraction)
        keep = n_train if spec.train_limit is None else min(n_train, spec.train_limit)
        return _ImageSplit(pixels, labels, order[:keep], pixels, labels, order[n_train:], 16.0)
    raw = images.load_idx_set(spec.name, datasets_dir)  # the official split; test_fraction does not apply
    n_train = len(raw.train_images)
    if spec.train_limit is None or spec.train_limit >= n_train:
        train_idx = np.arange(n_train)
    else:
        train_idx = np.sort(rng.choice(n_train, size=spec.train_limit, replace=False))
    return _ImageSplit(
        raw.train_images, raw.train_labels, train_idx, raw.test_images, raw.test_labels, np.arange(len(raw.test_images)), 255.0
    )


def _load_images(spec: DatasetSpec, info: DatasetInfo, rng: np.random.Generator, datasets_dir: Path) -> Dataset:
    s = _image_split(spec, rng, datasets_dir)
    return Dataset(
        info=info,
        x_train=images.to_float(s.train_images[s.train_idx], s.scale),
        y_train=s.train_labels[s.train_idx].astype(np.int64),
        x_test=images.to_float(s.test_images[s.test_idx], s.scale),
        y_test=s.test_labels[s.test_idx].astype(np.int64),
        points_train=None,
        points_test=None,
        features=[],
    )


def _load_tabular(spec: DatasetSpec, info: DatasetInfo, rng: np.random.Generator, upload: Upload) -> Dataset:
    """Shuffled and split as the 2-D sets are; features standardised with the training part's statistics, so that a
    column in millimetres and one in kilometres start on equal footing (targets stay as written)."""
    order = rng.permutation(len(upload.x))
    x, y = upload.x[order].astype(np.float32), upload.y[order]
    n_train, _ = split_sizes(len(x), spec.test_fraction)
    _check_limit(spec.train_limit)
    keep = n_train if spec.train_limit is None else min(n_train, spec.train_limit)
    raw_train, raw_test = x[:keep].copy(), x[n_train:].copy()
    shift = raw_train.mean(axis=0, dtype=np.float64)
    spread = raw_train.std(axis=0, dtype=np.float64)
    scale = np.where(spread > 0, spread, 1.0)  # a column constant in this training part: centred only
    planar = info.planar
    return Dataset(
        info=info,
        x_train=((raw_train - shift) / scale).astype(np.float32),
        y_train=y[:keep].copy(),
        x_test=((raw_test - shift) / scale).astype(np.float32),
        y_test=y[n_train:].copy(),
        points_train=raw_train if planar else None,
        points_test=raw_test if planar else None,
        features=list(upload.features),
        shift=shift.astype(np.float32),
        scale=scale.astype(np.float32),
    )


def load_dataset(spec: DatasetSpec, seed: int, datasets_dir: Path, upload: Upload | None = None) -> Dataset:
    """The dataset a job trains on; fresh, writable arrays every call. Raises DatasetUnavailable if files are missing.

    An uploaded set's data comes with the job (`upload`): workers may run on another machine than the server."""
    info = _info(spec.name, upload)
    rng = _rng(seed)
    if info.kind == "toy2d":
        return _load_toy(spec, info, rng)
    if info.kind == "image":
        return _load_images(spec, info, rng, Path(datasets_dir))
    if info.kind == "tabular" and upload is not None:
        return _load_tabular(spec, info, rng, upload)
    raise ValueError(f"dataset {spec.name!r} of kind {info.kind!r} cannot be loaded without its data")


def feature_grid(features: list[str], resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grid over [-6, 6]² for decision boundaries: xs, ys (resolution,) and inputs (resolution², n_features) float32.

    Row-major with y outer: inputs[i * resolution + j] is the point (xs[j], ys[i]), so the network's outputs reshape to
    z of shape (len(ys), len(xs)), which is what Plotly's heatmap and contour expect.
    """
    if not isinstance(resolution, int | np.integer) or resolution < 2:
        raise ValueError(f"resolution must be an integer of at least 2, got {resolution!r}")
    xs = np.linspace(-GRID_EXTENT, GRID_EXTENT, int(resolution))
    ys = np.linspace(-GRID_EXTENT, GRID_EXTENT, int(resolution))
    gx, gy = np.meshgrid(xs, ys)  # gx[i, j] = xs[j], gy[i, j] = ys[i]
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    return xs, ys, toy.expand_features(points, list(features))


def _significant(values: np.ndarray, digits: int = 6) -> list[float]:
    return [float(f"{v:.{digits}g}") for v in np.asarray(values, dtype=np.float64).tolist()]


def boundary_grid(data: Dataset, resolution: int) -> tuple[list[float], list[float], np.ndarray] | None:
    """The grid a planar set's boundary is drawn on: xs, ys and the network's inputs for it (None for other sets).

    2-D sets: [-6, 6]². An upload of two columns: the data's own range (train and test) and 5% more each side, in the
    file's units; the inputs are standardised as the training data are."""
    if data.info.kind == "toy2d":
        xs, ys, inputs = feature_grid(data.features, resolution)
        return [round(float(v), 4) for v in xs], [round(float(v), 4) for v in ys], inputs
    if not data.info.planar or data.points_train is None or data.points_test is None or data.shift is None or data.scale is None:
        return None
    points = np.concatenate([data.points_train, data.points_test]).astype(np.float64)
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = (hi - lo) * 0.05
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], int(resolution))
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], int(resolution))
    gx, gy = np.meshgrid(xs, ys)
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    inputs = ((grid - data.shift) / data.scale).astype(np.float32)
    return _significant(xs), _significant(ys), inputs


def _rounded(values: np.ndarray) -> list[float | int]:
    """Values rounded to 3 places, with whole numbers written as ints to keep the JSON short."""
    out: list[float | int] = []
    for v in np.round(np.asarray(values, dtype=np.float64), 3).tolist():
        out.append(int(v) if v.is_integer() else v)
    return out


def _toy_part(points: np.ndarray, labels: np.ndarray, task: str) -> dict:
    return {
        "x": _rounded(points[:, 0]),
        "y": _rounded(points[:, 1]),
        "label": labels.astype(int).tolist() if task == "classification" else _rounded(labels),
    }


MAX_PREVIEW_ROWS = 2000  # rows of each split an upload's preview carries (a seeded sample): enough for a scatter


def _table_part(data: Dataset, raw: np.ndarray, labels: np.ndarray, task: str, rng: np.random.Generator) -> dict:
    """A split of an upload in the file's units: each feature column, the first two also as x and y (a scatter)."""
    picked = np.sort(rng.choice(len(raw), size=min(MAX_PREVIEW_ROWS, len(raw)), replace=False))
    columns = [_significant(raw[picked, j], 5) for j in range(raw.shape[1])]
    label = labels[picked].astype(int).tolist() if task == "classification" else _significant(labels[picked], 5)
    part: dict = {"columns": columns, "label": label}
    if len(columns) >= 2:
        part.update(x=columns[0], y=columns[1])
    return part


def _tabular_preview(spec: DatasetSpec, info: DatasetInfo, rng: np.random.Generator, upload: Upload) -> dict:
    data = _load_tabular(spec, info, rng, upload)
    assert data.shift is not None and data.scale is not None
    raw_train = data.x_train * data.scale + data.shift  # the file's units again (the points are kept for planar sets only)
    raw_test = data.x_test * data.scale + data.shift
    return {
        "kind": "tabular",
        "task": info.task,
        "name": info.name,
        "title": upload.title,
        "features": upload.features,
        "target": upload.target,
        "class_names": upload.classes,
        "train": _table_part(data, raw_train, data.y_train, info.task, rng),
        "test": _table_part(data, raw_test, data.y_test, info.task, rng),
        "n_train": len(data.x_train),
        "n_test": len(data.x_test),
    }


def preview(spec: DatasetSpec, seed: int, datasets_dir: Path, max_images: int = 32, upload: Upload | None = None) -> dict:
    """What the page shows before training: the 2-D points by split, a seeded sample of training images, or an
    upload's columns by split."""
    info = _info(spec.name, upload)
    if not 0 <= max_images <= MAX_PREVIEW_IMAGES:
        raise ValueError(f"max_images must be between 0 and {MAX_PREVIEW_IMAGES}, got {max_images}")
    rng = _rng(seed)
    if info.kind == "tabular" and upload is not None:
        return _tabular_preview(spec, info, rng, upload)
    if info.kind == "toy2d":
        data = _load_toy(spec, info, rng)
        assert data.points_train is not None and data.points_test is not None
        return {
            "kind": "toy2d",
            "task": info.task,
            "name": info.name,
            "train": _toy_part(data.points_train, data.y_train, info.task),
            "test": _toy_part(data.points_test, data.y_test, info.task),
        }
    if info.kind != "image":
        raise ValueError(f"dataset {spec.name!r} of kind {info.kind!r} has no preview yet")
    split = _image_split(spec, rng, Path(datasets_dir))
    count = min(max_images, len(split.train_idx))
    picked = np.sort(rng.choice(split.train_idx, size=count, replace=False))
    pixels = images.to_float(split.train_images[picked], split.scale)
    return {
        "kind": "image",
        "task": info.task,
        "name": info.name,
        "shape": list(pixels.shape[1:]),
        "images": [_rounded(image.ravel()) for image in pixels],
        "labels": split.train_labels[picked].astype(int).tolist(),
        "class_names": CLASS_NAMES[spec.name],
        "n_train": len(split.train_idx),
        "n_test": len(split.test_idx),
    }


__all__ = ["Dataset", "DatasetUnavailable", "boundary_grid", "feature_grid", "load_dataset", "preview"]
