"""The datasets: playground generators, splits, features, IDX reading, the grid and the preview, checked on real output."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from nndojo.datasets import DATASETS, Dataset, DatasetUnavailable, feature_grid, load_dataset, preview, toy
from nndojo.datasets import images as image_sets
from nndojo.spec.models import DatasetSpec

TOY = [name for name, info in DATASETS.items() if info.kind == "toy2d"]
BINARY = [name for name in TOY if DATASETS[name].task == "classification"]
REGRESSION = [name for name in TOY if DATASETS[name].task == "regression"]
ALL_FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2"]
SYSTEM_DIR = Path("/usr/share/datasets")
STEP = 6  # pixel value step between synthetic IDX images, so that an image's index can be read back from its pixels
HAVE_FASHION = all(image_sets.find_idx(SYSTEM_DIR / "fashion-mnist", base) for base in image_sets.IDX_FILES.values())
needs_fashion = pytest.mark.skipif(not HAVE_FASHION, reason="Fashion-MNIST IDX files not in /usr/share/datasets/fashion-mnist")


def spec(name: str, **kw: object) -> DatasetSpec:
    return DatasetSpec(name=name, **kw)  # type: ignore[arg-type]


def load(name: str, seed: int = 0, datasets_dir: Path = SYSTEM_DIR, **kw: object) -> Dataset:
    return load_dataset(spec(name, **kw), seed, datasets_dir)


# --- 2-D sets ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TOY)
def test_toy_shapes_and_dtypes(name: str) -> None:
    d = load(name, n_samples=300, noise=0.2, test_fraction=0.3, features=["x1", "x2", "x1x2"])
    assert d.x_train.shape == (210, 3) and d.x_test.shape == (90, 3)
    assert d.x_train.dtype == np.float32 and d.x_test.dtype == np.float32
    assert d.points_train is not None and d.points_test is not None
    assert d.points_train.shape == (210, 2) and d.points_test.shape == (90, 2) and d.points_train.dtype == np.float32
    assert d.y_train.shape == (210,) and d.y_test.shape == (90,)
    expected = np.int64 if DATASETS[name].task == "classification" else np.float32
    assert d.y_train.dtype == expected and d.y_test.dtype == expected
    assert d.features == ["x1", "x2", "x1x2"] and d.info is DATASETS[name]
    for a in (d.x_train, d.x_test, d.y_train, d.y_test):
        assert np.isfinite(a).all() and a.flags.writeable


@pytest.mark.parametrize("name", TOY)
def test_toy_points_stay_in_playground_range(name: str) -> None:
    d = load(name, n_samples=2000, noise=0.0)
    points = np.concatenate([d.points_train, d.points_test])
    assert np.abs(points).max() <= 6.0
    assert np.abs(points).max() > 4.0  # they fill the range, not a corner of it


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_binary_classes_roughly_balanced(name: str, noise: float) -> None:
    d = load(name, n_samples=1000, noise=noise)
    labels = np.concatenate([d.y_train, d.y_test])
    assert set(np.unique(labels)) == {0, 1}
    assert 0.35 < labels.mean() < 0.65


@pytest.mark.parametrize("name", REGRESSION)
def test_regression_targets_in_playground_range(name: str) -> None:
    d = load(name, n_samples=1000, noise=0.0)
    targets = np.concatenate([d.y_train, d.y_test])
    assert targets.min() < -0.5 and targets.max() > 0.5  # both signs, well spread
    bound = 1.0 if name == "reg-gauss" else 1.2
    assert np.abs(targets).max() <= bound + 1e-6


def test_reg_plane_is_the_scaled_sum_without_noise() -> None:
    d = load("reg-plane", n_samples=200, noise=0.0)
    np.testing.assert_allclose(d.y_train, (d.points_train[:, 0] + d.points_train[:, 1]) / 10, atol=1e-5)


def test_reg_gauss_peaks_at_bump_centres() -> None:
    # the playground's bumps: +1 at (-4, 2.5), -1 at (0, 2.5), each a cone of radius 2; nothing far from all of them
    points, targets = toy.reg_gauss(np.random.default_rng(0), 5000, 0.0)
    near_plus = np.hypot(points[:, 0] + 4, points[:, 1] - 2.5) < 0.2
    near_minus = np.hypot(points[:, 0], points[:, 1] - 2.5) < 0.2
    assert near_plus.any() and near_minus.any()
    assert (targets[near_plus] > 0.85).all() and (targets[near_minus] < -0.85).all()
    far = np.hypot(points[:, 0] + 6, points[:, 1]) < 0.3  # (-6, 0) is over 2 from every centre
    assert far.any() and (targets[far] == 0).all()


@pytest.mark.parametrize("name", TOY)
def test_same_seed_same_data_other_seed_other_data(name: str) -> None:
    a = load(name, seed=7, noise=0.3)
    b = load(name, seed=7, noise=0.3)
    c = load(name, seed=8, noise=0.3)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.points_train, c.points_train)


def test_circle_without_noise_labels_by_radius() -> None:
    d = load("circle", n_samples=1000, noise=0.0)
    for points, labels in ((d.points_train, d.y_train), (d.points_test, d.y_test)):
        radius = np.hypot(points[:, 0], points[:, 1])
        np.testing.assert_array_equal(labels, (radius < 2.5).astype(np.int64))
        assert not ((radius > 2.5) & (radius < 3.5)).any()  # the gap between disc and ring
        assert radius.max() <= 5.0


def test_circle_noise_flips_labels_near_the_border() -> None:
    d = load("circle", n_samples=2000, noise=0.5)
    radius = np.hypot(d.points_train[:, 0], d.points_train[:, 1])
    disagree = (d.y_train != (radius < 2.5)).mean()
    assert 0.05 < disagree < 0.5


def test_xor_without_noise_labels_by_sign() -> None:
    d = load("xor", n_samples=1000, noise=0.0)
    product = d.points_train[:, 0] * d.points_train[:, 1]
    np.testing.assert_array_equal(d.y_train, (product >= 0).astype(np.int64))
    assert np.abs(d.points_train).min() >= 0.3 - 1e-6  # the playground's padding away from the axes


def test_gauss_noise_widens_clusters() -> None:
    calm = load("gauss", n_samples=2000, noise=0.0)
    wide = load("gauss", n_samples=2000, noise=0.5)
    ones = calm.points_train[calm.y_train == 1]
    np.testing.assert_allclose(ones.mean(axis=0), [2, 2], atol=0.15)
    np.testing.assert_allclose(ones.std(axis=0), [np.sqrt(0.5)] * 2, rtol=0.15)
    zeros = wide.points_train[wide.y_train == 0]
    np.testing.assert_allclose(zeros.mean(axis=0), [-2, -2], atol=0.3)
    np.testing.assert_allclose(zeros.std(axis=0), [2.0] * 2, rtol=0.15)  # variance 4 at noise 0.5


def test_spiral_follows_the_playground_formula() -> None:
    points, labels = toy.spiral(np.random.default_rng(0), 100, 0.0)
    i = np.arange(50)
    r, t = i / 50 * 5, 1.75 * i / 50 * 2 * np.pi
    np.testing.assert_allclose(points[:50], np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
    np.testing.assert_allclose(points[50:], -points[:50], atol=1e-12)  # the other arm is turned by π
    np.testing.assert_array_equal(labels, [1] * 50 + [0] * 50)
    jittered, _ = toy.spiral(np.random.default_rng(0), 100, 0.5)
    shift = np.abs(jittered - points)
    assert shift.max() <= 0.5 and shift.max() > 0.3


def test_moons_separate_without_noise_and_blur_with_it() -> None:
    d = load("moons", n_samples=1000, noise=0.0)
    p = d.points_train
    assert np.abs(p[:, 0]).max() <= 5.0 + 1e-5 and np.abs(p[:, 0]).max() > 4.9
    # the upper moon's ends are lower than the other moon's middle: not linearly separable by a horizontal line
    upper, lower = p[d.y_train == 1], p[d.y_train == 0]
    assert upper[:, 1].min() < lower[:, 1].max()
    distances = np.hypot(upper[:, None, 0] - lower[None, :, 0], upper[:, None, 1] - lower[None, :, 1])
    assert distances.min() > 0.5  # without noise the moons do not touch
    noisy = load("moons", n_samples=1000, noise=0.5)
    nu, nl = noisy.points_train[noisy.y_train == 1], noisy.points_train[noisy.y_train == 0]
    assert np.hypot(nu[:, None, 0] - nl[None, :, 0], nu[:, None, 1] - nl[None, :, 1]).min() < 0.2


@pytest.mark.parametrize(("n", "fraction", "n_test"), [(500, 0.5, 250), (10, 0.1, 1), (10, 0.9, 9), (333, 0.3, 100)])
def test_test_fraction_sets_split_sizes(n: int, fraction: float, n_test: int) -> None:
    d = load("spiral", n_samples=n, test_fraction=fraction)
    assert len(d.x_test) == n_test and len(d.x_train) == n - n_test


def test_train_limit_caps_training_only() -> None:
    full = load("circle", n_samples=400, noise=0.1, test_fraction=0.25)
    capped = load("circle", n_samples=400, noise=0.1, test_fraction=0.25, train_limit=20)
    assert len(capped.x_train) == 20 and len(capped.y_train) == 20 and len(capped.points_train) == 20
    np.testing.assert_array_equal(capped.x_test, full.x_test)  # same test set as without a limit
    np.testing.assert_array_equal(capped.x_train, full.x_train[:20])
    big = load("circle", n_samples=400, train_limit=10_000)
    assert len(big.x_train) == 200


def test_train_and_test_points_are_disjoint_and_complete() -> None:
    d = load("reg-gauss", n_samples=300, noise=0.1)
    train = {tuple(p) for p in d.points_train.tolist()}
    test = {tuple(p) for p in d.points_test.tolist()}
    assert not train & test and len(train | test) == 300


def test_data_is_shuffled_before_the_split() -> None:
    d = load("gauss", n_samples=1000, test_fraction=0.5)
    assert 0.4 < d.y_train.mean() < 0.6 and 0.4 < d.y_test.mean() < 0.6  # unshuffled, train would be all class 1


def test_features_computed_from_raw_points_in_spec_order() -> None:
    order = ["sin_x2", "x1x2", "x2", "x1^2", "sin_x1", "x2^2", "x1"]
    d = load("spiral", n_samples=200, noise=0.2, features=order)
    for x, p in ((d.x_train, d.points_train), (d.x_test, d.points_test)):
        x1, x2 = p[:, 0].astype(np.float64), p[:, 1].astype(np.float64)
        expected = {"x1": x1, "x2": x2, "x1^2": x1**2, "x2^2": x2**2, "x1x2": x1 * x2, "sin_x1": np.sin(x1), "sin_x2": np.sin(x2)}
        for column, name in enumerate(order):
            np.testing.assert_allclose(x[:, column], expected[name], rtol=1e-5, atol=1e-5, err_msg=name)


def test_single_feature_gives_one_column() -> None:
    d = load("xor", features=["x1x2"])
    assert d.x_train.shape[1] == 1
    np.testing.assert_allclose(d.x_train[:, 0], d.points_train[:, 0] * d.points_train[:, 1], rtol=1e-5)


def test_bad_features_and_seed_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="features"):
        toy.expand_features(np.zeros((3, 2)), ["x3"])
    with pytest.raises(ValueError, match="seed"):
        load_dataset(spec("circle"), -1, SYSTEM_DIR)
    with pytest.raises(ValueError, match="noise"):
        toy.generate("circle", np.random.default_rng(0), 10, 0.9)


def test_returned_arrays_are_independent_between_calls() -> None:
    a = load("circle")
    a.x_train[:] = 99
    b = load("circle")
    assert np.abs(b.x_train).max() < 7


# --- digits --------------------------------------------------------------------------------------


def test_digits_shapes_range_and_split() -> None:
    d = load("digits", test_fraction=0.25)
    assert d.x_train.shape == (1348, 1, 8, 8) and d.x_test.shape == (449, 1, 8, 8)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert d.x_train.min() == 0.0 and d.x_train.max() == 1.0 and d.x_test.max() <= 1.0
    assert set(np.unique(d.y_train)) == set(range(10))
    assert d.points_train is None and d.points_test is None
    same = load("digits", test_fraction=0.25)
    other = load("digits", seed=1, test_fraction=0.25)
    np.testing.assert_array_equal(d.x_train, same.x_train)
    assert not np.array_equal(d.y_train, other.y_train)


def test_digits_pixels_are_sklearn_pixels_over_16() -> None:
    from sklearn.datasets import load_digits

    raw = load_digits()
    d = load("digits", test_fraction=0.5)
    first = d.x_train[0, 0]
    matches = np.flatnonzero((np.abs(raw.images / 16.0 - first).reshape(len(raw.images), -1)).max(axis=1) < 1e-6)
    assert len(matches) >= 1 and d.y_train[0] in raw.target[matches]


def test_digits_train_limit() -> None:
    d = load("digits", train_limit=50)
    assert len(d.x_train) == 50 and len(d.x_test) == 898


# --- IDX files -----------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    return struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()


def write_idx_set(folder: Path, n_train: int = 12, n_test: int = 5, gz: bool = True, size: int = 28) -> dict[str, np.ndarray]:
    """A tiny synthetic MNIST-like set: image k of a split (k < 42) is filled with the value STEP·k and labelled k mod 10."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for split, n, prefix in (("train", n_train, "train"), ("test", n_test, "t10k")):
        imgs = np.zeros((n, size, size), np.uint8) + (np.arange(n) * STEP).astype(np.uint8)[:, None, None]
        imgs[:, 0, 0] = 255
        labels = (np.arange(n) % 10).astype(np.uint8)
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = imgs, labels
        for kind, arr, dims in (("images", imgs, 3), ("labels", labels, 1)):
            path = folder / f"{prefix}-{kind}-idx{dims}-ubyte"
            data = idx_bytes(arr)
            if gz:
                with gzip.open(path.with_name(path.name + ".gz"), "wb") as f:
                    f.write(data)
            else:
                path.write_bytes(data)
    return arrays


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    image_sets.clear_cache()


@pytest.mark.parametrize("gz", [True, False])
def test_idx_set_read_from_gz_and_plain_files(tmp_path: Path, gz: bool) -> None:
    arrays = write_idx_set(tmp_path / "mnist", gz=gz)
    d = load_dataset(spec("mnist"), 0, tmp_path)
    assert d.x_train.shape == (12, 1, 28, 28) and d.x_test.shape == (5, 1, 28, 28)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    np.testing.assert_allclose(d.x_train[:, 0], arrays["train_images"] / 255.0, rtol=1e-6)  # official order kept
    np.testing.assert_array_equal(d.y_test, arrays["test_labels"])
    assert d.x_train.max() == 1.0 and d.x_train.min() == 0.0


def test_idx_set_ignores_test_fraction(tmp_path: Path) -> None:
    write_idx_set(tmp_path / "fashion-mnist")
    d = load_dataset(spec("fashion-mnist", test_fraction=0.9), 0, tmp_path)
    assert (len(d.x_train), len(d.x_test)) == (12, 5)


def test_idx_train_limit_takes_a_seeded_subset(tmp_path: Path) -> None:
    arrays = write_idx_set(tmp_path / "mnist", n_train=40)
    a = load_dataset(spec("mnist", train_limit=8), 3, tmp_path)
    b = load_dataset(spec("mnist", train_limit=8), 3, tmp_path)
    c = load_dataset(spec("mnist", train_limit=8), 4, tmp_path)
    assert len(a.x_train) == 8 and len(a.x_test) == 5
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)
    # every chosen image is one of the file's, with its own label, and none twice
    chosen = np.round(a.x_train[:, 0, 1, 1] * 255).astype(int) // STEP
    assert len(set(chosen.tolist())) == 8
    np.testing.assert_array_equal(a.y_train, arrays["train_labels"][chosen])
    assert chosen.tolist() != list(range(8))  # not simply the first eight


def test_idx_cache_is_shared_but_cannot_be_corrupted(tmp_path: Path) -> None:
    write_idx_set(tmp_path / "mnist")
    first = load_dataset(spec("mnist"), 0, tmp_path)
    first.x_train[:] = 0.5
    first.y_train[:] = 9
    assert image_sets.cache_size() == 4
    second = load_dataset(spec("mnist"), 0, tmp_path)
    assert image_sets.cache_size() == 4  # parsed once
    assert second.x_train[0, 0, 1, 1] == 0.0 and second.y_train[1] == 1
    raw = image_sets.load_idx_set("mnist", tmp_path)
    assert not raw.train_images.flags.writeable
    with pytest.raises(ValueError):
        raw.train_images[0, 0, 0] = 1


def test_idx_cache_notices_a_replaced_file(tmp_path: Path) -> None:
    write_idx_set(tmp_path / "mnist", n_train=12)
    assert len(load_dataset(spec("mnist"), 0, tmp_path).x_train) == 12
    for f in (tmp_path / "mnist").iterdir():
        f.unlink()
    write_idx_set(tmp_path / "mnist", n_train=20)
    assert len(load_dataset(spec("mnist"), 0, tmp_path).x_train) == 20


def test_missing_folder_is_unavailable_with_help_for_the_administrator_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="nndojo.datasets.images"), pytest.raises(DatasetUnavailable) as info:
        load_dataset(spec("fashion-mnist"), 0, tmp_path)
    assert str(info.value) == "Fashion-MNIST's files are not installed on this server"  # what users read: no path
    detail = info.value.detail
    assert str(tmp_path / "fashion-mnist") in detail
    assert "apt-get install dataset-fashion-mnist" in detail and "NNDOJO_DATASETS_DIR" in detail
    assert detail in caplog.text  # the path goes to the log
    with pytest.raises(DatasetUnavailable) as info:
        load_dataset(spec("mnist"), 0, tmp_path)
    assert str(info.value) == "MNIST's files are not installed on this server"
    assert str(tmp_path / "mnist") in info.value.detail and "train-images-idx3-ubyte" in info.value.detail
    assert isinstance(info.value, RuntimeError)


def test_missing_file_is_named(tmp_path: Path) -> None:
    write_idx_set(tmp_path / "mnist")
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetUnavailable) as info:
        load_dataset(spec("mnist"), 0, tmp_path)
    assert "t10k-labels-idx1-ubyte" in info.value.detail and str(tmp_path) not in str(info.value)


def test_catalog_marks_sets_whose_files_are_missing(tmp_path: Path) -> None:
    from nndojo.spec.catalog import catalog

    write_idx_set(tmp_path / "mnist")
    entries = {entry["name"]: entry for entry in catalog(datasets_dir=tmp_path)["datasets"]}
    assert entries["mnist"]["available"] is True and entries["mnist"]["unavailable_reason"] is None
    assert entries["fashion-mnist"] == {
        **entries["fashion-mnist"],
        "available": False,
        "unavailable_reason": "Fashion-MNIST's files are not installed on this server",
    }
    assert all(entries[name]["available"] for name in ("digits", *TOY))
    (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").unlink()
    assert not {e["name"]: e for e in catalog(datasets_dir=tmp_path)["datasets"]}["mnist"]["available"]


def test_a_set_without_files_is_refused_by_the_check(tmp_path: Path) -> None:
    from nndojo.spec.check import SpecError, check_spec
    from nndojo.spec.models import JobSpec

    job = JobSpec.model_validate({"dataset": {"name": "fashion-mnist"}, "model": {"layers": [{"type": "flatten"}]}})
    with pytest.raises(SpecError) as caught:
        check_spec(job, datasets_dir=tmp_path)
    (error,) = caught.value.errors
    assert error["loc"] == ["dataset", "name"] and error["ctx"]["code"] == "dataset_unavailable"
    assert str(tmp_path) not in error["msg"]
    write_idx_set(tmp_path / "fashion-mnist")
    assert check_spec(job, datasets_dir=tmp_path).n_params == 784 * 10 + 10


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda data: b"\x00\x00\x08\x02" + data[4:], "magic"),  # images claim 2 dimensions
        (lambda data: b"\x00\x00\x0d\x03" + data[4:], "magic"),  # float data
        (lambda data: b"\x12\x34" + data[2:], "magic"),
        (lambda data: data[:-7], "bytes"),  # truncated
        (lambda data: data + b"\x00", "bytes"),  # trailing junk
        (lambda data: data[:2], "short"),
    ],
)
def test_damaged_idx_is_unavailable(tmp_path: Path, damage: object, match: str) -> None:
    write_idx_set(tmp_path / "mnist", gz=False)
    path = tmp_path / "mnist" / "train-images-idx3-ubyte"
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    with pytest.raises(DatasetUnavailable) as info:
        load_dataset(spec("mnist"), 0, tmp_path)
    assert match in info.value.detail and str(path) in info.value.detail
    assert str(info.value) == "MNIST's files on this server are unreadable; ask the administrator to check them"


def test_inconsistent_idx_sets_are_unavailable(tmp_path: Path) -> None:
    write_idx_set(tmp_path / "mnist", gz=False)
    (tmp_path / "mnist" / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(11, np.uint8)))
    with pytest.raises(DatasetUnavailable) as info:
        load_dataset(spec("mnist"), 0, tmp_path)
    assert "12 images but 11 labels" in info.value.detail
    write_idx_set(tmp_path / "small" / "mnist", size=8)
    with pytest.raises(DatasetUnavailable) as info:
        load_dataset(spec("mnist"), 0, tmp_path / "small")
    assert "8x8 pixels, expected 28x28" in info.value.detail


def test_not_gzip_is_unavailable(tmp_path: Path) -> None:
    write_idx_set(tmp_path / "mnist")
    (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DatasetUnavailable) as info:
        load_dataset(spec("mnist"), 0, tmp_path)
    assert "unreadable" in info.value.detail


@needs_fashion
def test_real_fashion_mnist() -> None:
    d = load("fashion-mnist", train_limit=1000)
    assert d.x_train.shape == (1000, 1, 28, 28) and d.x_test.shape == (10000, 1, 28, 28)
    assert d.x_train.dtype == np.float32 and d.y_test.dtype == np.int64
    assert d.x_test.min() == 0.0 and d.x_test.max() == 1.0
    np.testing.assert_array_equal(np.bincount(d.y_test), [1000] * 10)  # the official test split is balanced
    full = load("fashion-mnist")
    assert full.x_train.shape == (60000, 1, 28, 28)
    np.testing.assert_array_equal(np.bincount(full.y_train), [6000] * 10)


# --- grid and preview ----------------------------------------------------------------------------


def test_feature_grid_is_row_major_with_y_outer() -> None:
    xs, ys, inputs = feature_grid(["x1", "x2", "x1x2"], 5)
    np.testing.assert_allclose(xs, [-6, -3, 0, 3, 6])
    np.testing.assert_allclose(ys, [-6, -3, 0, 3, 6])
    assert inputs.shape == (25, 3) and inputs.dtype == np.float32
    for i in range(5):
        for j in range(5):
            np.testing.assert_allclose(inputs[i * 5 + j], [xs[j], ys[i], xs[j] * ys[i]])
    z = inputs[:, 0].reshape(len(ys), len(xs))  # the value of x1 varies along a row, as Plotly's z[y][x] expects
    np.testing.assert_allclose(z[2], xs)


def test_feature_grid_features_match_the_datasets() -> None:
    xs, ys, inputs = feature_grid(ALL_FEATURES, 3)
    expected = toy.expand_features(np.array([[x, y] for y in ys for x in xs]), ALL_FEATURES)
    np.testing.assert_array_equal(inputs, expected)
    with pytest.raises(ValueError, match="resolution"):
        feature_grid(["x1"], 1)


def test_toy_preview_matches_the_data() -> None:
    s = spec("circle", n_samples=100, noise=0.1, test_fraction=0.2)
    p = preview(s, 5, SYSTEM_DIR)
    d = load_dataset(s, 5, SYSTEM_DIR)
    assert p["kind"] == "toy2d" and p["task"] == "classification"
    assert len(p["train"]["x"]) == 80 and len(p["test"]["label"]) == 20
    np.testing.assert_allclose(p["train"]["x"], d.points_train[:, 0], atol=5e-4)
    np.testing.assert_allclose(p["test"]["y"], d.points_test[:, 1], atol=5e-4)
    assert p["train"]["label"] == d.y_train.tolist()
    json.dumps(p)
    reg = preview(spec("reg-plane", n_samples=50), 0, SYSTEM_DIR)
    assert reg["task"] == "regression" and all(isinstance(v, float | int) for v in reg["train"]["label"])


def test_digits_preview() -> None:
    p = preview(spec("digits"), 0, SYSTEM_DIR, max_images=10)
    assert p["kind"] == "image" and p["shape"] == [1, 8, 8]
    assert len(p["images"]) == 10 and all(len(img) == 64 for img in p["images"])
    assert all(0 <= v <= 1 for img in p["images"] for v in img)
    assert p["class_names"] == [str(d) for d in range(10)] and all(0 <= label <= 9 for label in p["labels"])
    assert preview(spec("digits"), 0, SYSTEM_DIR, max_images=10) == p
    assert preview(spec("digits"), 1, SYSTEM_DIR, max_images=10)["images"] != p["images"]


def test_image_preview_sample_from_idx_files(tmp_path: Path) -> None:
    arrays = write_idx_set(tmp_path / "fashion-mnist", n_train=12)
    p = preview(spec("fashion-mnist"), 0, tmp_path, max_images=32)
    assert len(p["images"]) == 12  # fewer training images than asked for
    assert p["class_names"][0] == "T-shirt/top" and p["class_names"][9] == "Ankle boot" and len(p["class_names"]) == 10
    for image, label in zip(p["images"], p["labels"], strict=True):
        k = round(image[28 + 1] * 255 / STEP)
        assert label == arrays["train_labels"][k]
        assert all(v == round(v, 3) for v in image)
    with pytest.raises(ValueError, match="max_images"):
        preview(spec("fashion-mnist"), 0, tmp_path, max_images=-1)


@needs_fashion
def test_real_fashion_preview_is_small() -> None:
    p = preview(spec("fashion-mnist"), 0, SYSTEM_DIR)
    text = json.dumps(p)
    assert len(text) < 200_000
    assert len(p["images"]) == 32 and all(len(img) == 784 for img in p["images"])
    assert p["shape"] == [1, 28, 28] and p["n_train"] == 60000 and p["n_test"] == 10000
    other = preview(spec("fashion-mnist"), 1, SYSTEM_DIR)
    assert other["images"] != p["images"]
