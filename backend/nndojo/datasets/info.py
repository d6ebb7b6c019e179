"""What each dataset is, without loading it: the spec checker and the catalog need this, torch-free."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DatasetKind = Literal["toy2d", "image", "tabular"]
Task = Literal["classification", "regression"]

MAX_PREVIEW_IMAGES = 256  # sample images one preview may carry (the API checks the query, preview() its argument)

FEATURES: tuple[str, ...] = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2")


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    kind: DatasetKind
    input_shape: tuple[int, ...] | None  # None for toy2d: it depends on the chosen features
    n_classes: int | None  # None for regression
    task: Task
    description: str
    title: str = ""  # the name users read in messages: "MNIST", "Fashion-MNIST"
    size: int | None = None  # samples of a fixed set that test_fraction splits (digits); None: generated or split as shipped
    shipped_split: tuple[int, int] | None = None  # (train, test) of a set read from files, as its files ship it

    def shape_for(self, features: list[str]) -> tuple[int, ...]:
        return (len(features),) if self.input_shape is None else self.input_shape

    @property
    def planar(self) -> bool:
        """Two inputs a plane can show: the 2-D sets, and an uploaded table of two feature columns (boundary, units)."""
        return self.kind == "toy2d" or (self.kind == "tabular" and self.input_shape == (2,))


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo("circle", "toy2d", None, 2, "classification", "a disc inside a ring"),
        DatasetInfo("xor", "toy2d", None, 2, "classification", "four quadrants, opposite corners alike"),
        DatasetInfo("gauss", "toy2d", None, 2, "classification", "two Gaussian clusters"),
        DatasetInfo("spiral", "toy2d", None, 2, "classification", "two interleaved spirals"),
        DatasetInfo("moons", "toy2d", None, 2, "classification", "two interleaved half-moons"),
        DatasetInfo("reg-plane", "toy2d", None, None, "regression", "a tilted plane"),
        DatasetInfo("reg-gauss", "toy2d", None, None, "regression", "a sum of Gaussian bumps"),
        DatasetInfo("digits", "image", (1, 8, 8), 10, "classification", "scikit-learn's 8x8 handwritten digits (1,797)", size=1797),
        DatasetInfo(
            "fashion-mnist",
            "image",
            (1, 28, 28),
            10,
            "classification",
            "Zalando's 28x28 clothing images (70,000)",
            title="Fashion-MNIST",
            shipped_split=(60_000, 10_000),
        ),
        DatasetInfo(
            "mnist",
            "image",
            (1, 28, 28),
            10,
            "classification",
            "28x28 handwritten digits (70,000)",
            title="MNIST",
            shipped_split=(60_000, 10_000),
        ),
    )
}


# Uploaded sets known to this process: the server lists every stored one (nndojo.uploads), a worker the one its job
# brought. Their names are random and their contents never change, so one process-wide table serves every app in it.
UPLOADED: dict[str, DatasetInfo] = {}


def dataset_info(name: str) -> DatasetInfo:
    """A built-in set's or a known upload's info; KeyError for any other name."""
    info = DATASETS.get(name) or UPLOADED.get(name)
    if info is None:
        raise KeyError(name)
    return info


def known(name: str) -> bool:
    return name in DATASETS or name in UPLOADED


def remember(info: DatasetInfo) -> None:
    UPLOADED[info.name] = info


def forget(name: str) -> None:
    UPLOADED.pop(name, None)


# the four files of an MNIST-like set: (split, kind) -> base name; `.gz` and the `.idx` spelling are accepted too
IDX_FILES: dict[tuple[str, str], str] = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}


def find_idx(folder: Path, base: str) -> Path | None:
    """The first existing spelling of an IDX file: plain, gzipped, or with `.idx` for `-idx` (as some mirrors name them)."""
    for stem in (base, base.replace("-idx", ".idx")):
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def unavailable_reason(name: str, datasets_dir: Path | None) -> str | None:
    """Why users cannot train on a dataset here (its files are not installed), or None; says no server path.

    Only whether the files exist is looked at (a few stats, cheap enough for every catalog request and check); a file
    that exists but is damaged is reported when a job or preview reads it. Without a datasets_dir nothing is known: None.
    """
    info = dataset_info(name)
    if info.shipped_split is None or datasets_dir is None:
        return None
    folder = Path(datasets_dir) / name
    if all(find_idx(folder, base) for base in IDX_FILES.values()):
        return None
    return f"{info.title}'s files are not installed on this server"


def split_sizes(n: int, test_fraction: float) -> tuple[int, int]:
    """Train and test sizes: the playground puts the first part in training; both keep at least one sample."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    n_test = min(max(round(n * test_fraction), 1), n - 1)
    return n - n_test, n_test


def train_test_sizes(name: str, n_samples: int, test_fraction: float, train_limit: int | None) -> tuple[int, int]:
    """The training samples a job gets (after train_limit) and its test samples, as load_dataset makes them.

    Sets read from files count as their files usually ship (60,000 and 10,000 for MNIST-like sets).
    """
    info = dataset_info(name)
    if info.shipped_split is not None:
        n_train, n_test = info.shipped_split
    else:
        n_train, n_test = split_sizes(info.size or n_samples, test_fraction)
    return (n_train if train_limit is None else min(n_train, train_limit)), n_test


def catalog_entry(info: DatasetInfo, datasets_dir: Path | None = None) -> dict:
    """The dataset as /api/catalog lists it; toy2d input shape is given for the default features.

    `available` is false where the server lacks the set's files, with `unavailable_reason` for users (no server path).
    """
    reason = unavailable_reason(info.name, datasets_dir)
    return {
        "name": info.name,
        "kind": info.kind,
        "input_shape": list(info.shape_for(["x1", "x2"])),
        "n_classes": info.n_classes,
        "task": info.task,
        "description": info.description,
        "available": reason is None,
        "unavailable_reason": reason,
    }
