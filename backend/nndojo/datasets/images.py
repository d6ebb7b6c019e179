"""Image sets: scikit-learn's digits (shipped with sklearn) and MNIST-like IDX files read from a local folder.

Workers are long-lived, so parsed arrays are cached per process, keyed by file path, size and modification time;
the cache holds read-only uint8 arrays and callers get fresh float32 copies, so no job can corrupt another's data.
"""

from __future__ import annotations

import gzip
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nndojo.datasets.info import DATASETS, IDX_FILES, find_idx, unavailable_reason

log = logging.getLogger(__name__)

CLASS_NAMES: dict[str, list[str]] = {
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    "mnist": [str(d) for d in range(10)],
    "digits": [str(d) for d in range(10)],
}

_HOW_TO_GET: dict[str, str] = {
    "fashion-mnist": "install it with `apt-get install dataset-fashion-mnist` (Debian puts it in /usr/share/datasets/fashion-mnist/), "
    "or copy its four IDX files (train-images-idx3-ubyte.gz, ...) into that folder",
    "mnist": "copy the four MNIST IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
    "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]) into that folder",
}
_UBYTE = 0x08
_MAX_IDX_BYTES = 1 << 31  # a decompressed IDX file larger than this is not an image set we can hold


class DatasetUnavailable(RuntimeError):
    """The dataset's files are missing or unreadable. The message is for users and names no server path; `detail` is for
    the administrator (the path looked for, what is wrong, how to get the files) and is logged when raised."""

    def __init__(self, message: str, detail: str):
        super().__init__(message)
        self.detail = detail


def _unavailable(name: str, folder: Path, problem: str) -> DatasetUnavailable:
    how = _HOW_TO_GET.get(name, "copy its IDX files there")
    detail = (
        f"dataset {name!r} is unavailable: {problem}. Its IDX files belong in {folder}; {how}, "
        f"or set NNDOJO_DATASETS_DIR to a folder that holds {name}/ with the IDX files."
    )
    log.warning("%s", detail)
    title = DATASETS[name].title or name
    missing = unavailable_reason(name, folder.parent)
    return DatasetUnavailable(missing or f"{title}'s files on this server are unreadable; ask the administrator to check them", detail)


def parse_idx(data: bytes, source: str = "<bytes>", ndim: int | None = None) -> np.ndarray:
    """An IDX file's array (unsigned bytes only); raises ValueError if the magic number or the size is wrong.

    With `ndim`, the magic number must be exactly 0x0000080<ndim> (0x803 for images, 0x801 for labels).
    """
    if len(data) < 4:
        raise ValueError(f"{source}: {len(data)} bytes is too short for an IDX header")
    if ndim is not None and data[:4] != bytes((0, 0, _UBYTE, ndim)):
        raise ValueError(f"{source}: bad IDX magic number 0x{data[:4].hex()}, expected 0x{bytes((0, 0, _UBYTE, ndim)).hex()}")
    zero1, zero2, dtype, ndim = data[0], data[1], data[2], data[3]
    if zero1 != 0 or zero2 != 0 or dtype != _UBYTE or not 1 <= ndim <= 4:
        raise ValueError(f"{source}: bad IDX magic number 0x{data[:4].hex()} (expected 0x000008 followed by 1 to 4 dimensions)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{source}: truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        raise ValueError(f"{source}: IDX header promises {dims} ({expected} bytes) but the file has {len(data)} bytes")
    array = np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)
    array.flags.writeable = False
    return array


def _read(path: Path) -> bytes:
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as f:
            data = f.read(_MAX_IDX_BYTES + 1)
    else:
        data = path.read_bytes()
    if len(data) > _MAX_IDX_BYTES:
        raise ValueError(f"{path}: larger than {_MAX_IDX_BYTES} bytes")
    return data


_cache: dict[tuple[str, int, int], np.ndarray] = {}
_cache_lock = threading.Lock()


def _load_idx(path: Path, ndim: int) -> np.ndarray:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        # parse under the lock: two jobs starting at once should not both decompress 50 MB
        array = parse_idx(_read(path), str(path), ndim)
        for old in [k for k in _cache if k[0] == key[0]]:
            del _cache[old]  # the file changed on disk: drop the stale copy
        _cache[key] = array
        return array


@dataclass(frozen=True)
class RawImages:
    """Read-only uint8 arrays, (N, H, W) images and (N,) labels, shared through the cache: copy before changing."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def load_idx_set(name: str, datasets_dir: Path) -> RawImages:
    """The official train/test split of an MNIST-like set from `<datasets_dir>/<name>/`."""
    folder = Path(datasets_dir) / name
    if not folder.is_dir():
        raise _unavailable(name, folder, f"the folder {folder} does not exist")
    parts: dict[tuple[str, str], np.ndarray] = {}
    for key, base in IDX_FILES.items():
        path = find_idx(folder, base)
        if path is None:
            raise _unavailable(name, folder, f"{folder / base}[.gz] is missing")
        try:
            parts[key] = _load_idx(path, 3 if key[1] == "images" else 1)
        except (OSError, EOFError, ValueError, gzip.BadGzipFile) as exc:
            raise _unavailable(name, folder, f"{path} is unreadable ({exc})") from exc
    for split in ("train", "test"):
        images, labels = parts[(split, "images")], parts[(split, "labels")]
        if len(images) != len(labels) or len(images) == 0:
            raise _unavailable(name, folder, f"{split} has {len(images)} images but {len(labels)} labels")
        if labels.max() >= len(CLASS_NAMES[name]):
            raise _unavailable(name, folder, f"{split} labels go up to {labels.max()}, expected 0 to {len(CLASS_NAMES[name]) - 1}")
    expected = DATASETS[name].input_shape[1:] if DATASETS[name].input_shape else None
    for split in ("train", "test"):
        size = parts[(split, "images")].shape[1:]
        if expected is not None and size != expected:
            raise _unavailable(name, folder, f"{split} images are {size[0]}x{size[1]} pixels, expected {expected[0]}x{expected[1]}")
    return RawImages(parts[("train", "images")], parts[("train", "labels")], parts[("test", "images")], parts[("test", "labels")])


_digits: tuple[np.ndarray, np.ndarray] | None = None


def load_digits_raw() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 digits as read-only (N, 8, 8) pixels 0..16 and (N,) labels; cached."""
    global _digits
    if _digits is None:
        from sklearn.datasets import load_digits  # imported late: sklearn is slow to import and only digits needs it

        bunch = load_digits()
        images = np.asarray(bunch.images, dtype=np.float32)
        labels = np.asarray(bunch.target, dtype=np.int64)
        images.flags.writeable = False
        labels.flags.writeable = False
        _digits = (images, labels)
    return _digits


def to_float(images: np.ndarray, scale: float) -> np.ndarray:
    """(N, H, W) pixels to a fresh float32 (N, 1, H, W) array in [0, 1]."""
    return (np.asarray(images, dtype=np.float32) / np.float32(scale))[:, None, :, :]


def clear_cache() -> None:
    """Forget parsed files (tests use it; a long-lived worker never needs to)."""
    with _cache_lock:
        _cache.clear()


def cache_size() -> int:
    return len(_cache)
