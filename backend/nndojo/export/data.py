"""The data part of an exported run: the same samples, split and order the trainer used (nndojo.datasets.load).

The 2-D generators are copied from nndojo.datasets.toy's own source (docstrings aside), so the exported file runs the
very code the server runs and the same seed gives the same points; digits come from scikit-learn and MNIST-like sets
from their IDX files, split as load.py splits them.
"""

from __future__ import annotations

import ast
import inspect
import itertools
from dataclasses import dataclass
from functools import cache
from typing import Any

from nndojo.datasets import toy
from nndojo.datasets.info import IDX_FILES, dataset_info
from nndojo.export.snippet import Lang, Snippet, one_line, translate
from nndojo.spec import models as m


@dataclass(frozen=True)
class Part:
    """A piece of the exported program: the imports it needs (one statement each) and its code."""

    imports: tuple[str, ...]
    code: str


TOY = Snippet(
    """
    # TensorFlow Playground's "$name" set: the same generator as on the server, so the same seed gives the same points
    $generators


    rng = np.random.default_rng(SEED)  # every random number of the data comes from this generator
    points, labels = $function(rng, $n_samples, $noise)
    order = rng.permutation(len(points))  # shuffle, then split: the first part trains, the rest tests
    points, labels = points[order].astype(np.float32), labels[order].astype(np.$label_type)
    n_test = min(max(round(len(points) * $test_fraction), 1), len(points) - 1)
    n_train = len(points) - n_test
    keep = $keep


    def features(p):
        # the network's inputs, one column per feature: $feature_names
    $columns
        return np.stack([$expressions], axis=1).astype(np.float32)


    x_train, y_train = torch.from_numpy(features(points[:keep])), torch.from_numpy(labels[:keep].copy())
    x_test, y_test = torch.from_numpy(features(points[n_train:])), torch.from_numpy(labels[n_train:].copy())
    print(f"{len(x_train)} training and {len(x_test)} test samples")
    """
)

DIGITS = Snippet(
    """
    # scikit-learn's 1,797 handwritten digits, 8x8 pixels from 0 to 16
    digits = load_digits()
    pixels, labels = np.asarray(digits.images, dtype=np.float32), np.asarray(digits.target, dtype=np.int64)
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(pixels))  # shuffle, then split: the first part trains, the rest tests
    n_test = min(max(round(len(pixels) * $test_fraction), 1), len(pixels) - 1)
    n_train = len(pixels) - n_test
    train_idx, test_idx = order[:$keep], order[n_train:]


    def images(idx):
        # pixels scaled to [0, 1], shaped (samples, channels, height, width)
        return torch.from_numpy((pixels[idx] / np.float32(16.0))[:, None, :, :])


    x_train, y_train = images(train_idx), torch.from_numpy(labels[train_idx])
    x_test, y_test = images(test_idx), torch.from_numpy(labels[test_idx])
    print(f"{len(x_train)} training and {len(x_test)} test samples")
    """
)

IDX = Snippet(
    """
    # $title, read from its four IDX files (Debian's package dataset-fashion-mnist puts Fashion-MNIST's here)
    DATA_DIR = Path("/usr/share/datasets/$name")  # change this to where your copy of the files is


    def read_idx(name):
        # one IDX file, plain or gzipped: a small header with the sizes, then one byte per pixel or label
        for stem in (name, name.replace("-idx", ".idx")):
            for path in (DATA_DIR / stem, DATA_DIR / f"{stem}.gz"):
                if path.is_file():
                    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
                    dims = np.frombuffer(data, dtype=">u4", count=data[3], offset=4)
                    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * data[3]).reshape(dims)
        raise FileNotFoundError(f"{name} is not in {DATA_DIR}")


    def images(raw):
        # pixels scaled to [0, 1], shaped (samples, channels, height, width)
        return torch.from_numpy((raw.astype(np.float32) / np.float32(255.0))[:, None, :, :])


    train_images, train_labels = read_idx("$train_images"), read_idx("$train_labels")
    test_images, test_labels = read_idx("$test_images"), read_idx("$test_labels")
    $train_idx
    x_train, y_train = images(train_images[train_idx]), torch.from_numpy(train_labels[train_idx].astype(np.int64))
    x_test, y_test = images(test_images), torch.from_numpy(test_labels.astype(np.int64))
    print(f"{len(x_train)} training and {len(x_test)} test samples")
    """
)
ALL_TRAIN = Snippet("train_idx = np.arange(len(train_images))  # the official split: all 60,000 training images")
SOME_TRAIN = Snippet(
    """
    rng = np.random.default_rng(SEED)
    train_idx = np.sort(rng.choice(len(train_images), size=$limit, replace=False))  # train_limit: a random $limit of them
    """
)

TABLE = Snippet(
    """
    # your uploaded data "$title": put the CSV file you uploaded beside this one (or change the path)
    DATA_FILE = Path($file)
    FEATURES = $features  # the feature columns, in the order the network takes them
    TARGET = $target  # the column to predict$classes


    def read_csv(path):
        # the file as the server read it: UTF-8 text, a header row, then one row per sample (blank rows skipped);
        # the separator is the one the header has most of: comma, semicolon or tab
        text = path.read_text(encoding="utf-8-sig")
        separator = max(",;\\t", key=text.split("\\n", 1)[0].count)
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator) if any(field.strip() for field in row)]
        header = [name.strip() for name in rows[0]]
        where, target = [header.index(name) for name in FEATURES], header.index(TARGET)
        x = np.array([[float(row[i]) for i in where] for row in rows[1:]], dtype=np.float32)
        return x, $labels


    rng = np.random.default_rng(SEED)  # every random number of the data comes from this generator
    x, y = read_csv(DATA_FILE)
    order = rng.permutation(len(x))  # shuffle, then split: the first part trains, the rest tests
    x, y = x[order], y[order]
    n_test = min(max(round(len(x) * $test_fraction), 1), len(x) - 1)
    n_train = len(x) - n_test
    keep = $keep
    # each column standardised with the training part's mean and standard deviation (a constant one only centred)
    shift = x[:keep].mean(axis=0, dtype=np.float64)
    spread = x[:keep].std(axis=0, dtype=np.float64)
    scale = np.where(spread > 0, spread, 1.0)
    x_train, y_train = torch.from_numpy(((x[:keep] - shift) / scale).astype(np.float32)), torch.from_numpy(y[:keep].copy())
    x_test, y_test = torch.from_numpy(((x[n_train:] - shift) / scale).astype(np.float32)), torch.from_numpy(y[n_train:].copy())
    print(f"{len(x_train)} training and {len(x_test)} test samples")
    """
)
CLASSES = Snippet("CLASSES = $classes  # class i is CLASSES[i], numbered as the server numbered them")
CLASS_LABELS = {
    "text": "np.array([CLASSES.index(row[target].strip()) for row in rows[1:]], dtype=np.int64)",
    "whole": "np.array([CLASSES.index(str(int(float(row[target])))) for row in rows[1:]], dtype=np.int64)",
    "number": "np.array([float(row[target]) for row in rows[1:]], dtype=np.float32)",
}
TABLE_PLOT = Snippet(
    """
    # the training samples by their first two feature columns (as in the file), coloured by their label
    fig = go.Figure(
        go.Scatter(x=x[:keep, 0], y=x[:keep, $second], mode="markers", marker={"color": y[:keep], "colorscale": "RdBu", "showscale": True}),
        layout={"title": "training data", "xaxis_title": FEATURES[0], "yaxis_title": FEATURES[$second], "width": 520, "height": 480},
    )
    fig
    """
)

TOY_PLOT = Snippet(
    """
    # the training points, coloured by their label
    fig = go.Figure(
        go.Scatter(x=points[:keep, 0], y=points[:keep, 1], mode="markers", marker={"color": labels[:keep], "colorscale": "RdBu", "showscale": True}),
        layout={"title": "training data", "xaxis_title": "x1", "yaxis_title": "x2", "width": 520, "height": 480},
    )
    fig
    """
)
IMAGE_PLOT = Snippet(
    """
    # the first 12 training images and their labels
    fig = make_subplots(rows=2, cols=6, subplot_titles=[str(int(label)) for label in y_train[:12]])
    for i in range(12):
        fig.add_trace(go.Heatmap(z=x_train[i, 0].numpy()[::-1], colorscale="gray_r", showscale=False), row=i // 6 + 1, col=i % 6 + 1)
    fig.update_xaxes(visible=False).update_yaxes(visible=False).update_layout(height=320)
    fig
    """
)


@cache
def _toy_tree() -> tuple[str, dict[str, ast.stmt]]:
    """toy.py's source and its top-level definitions by name."""
    source = inspect.getsource(toy)
    found: dict[str, ast.stmt] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = node
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Name):
                    found[target.id] = node
    return source, found


def _without_docstring(node: ast.stmt, lines: list[str]) -> str:
    """A definition's source lines, its trailing comment included, its docstring left out."""
    first, last = node.lineno - 1, node.end_lineno or node.lineno
    keep = list(range(first, last))
    body = getattr(node, "body", [])
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        doc = range(body[0].lineno - 1, body[0].end_lineno or body[0].lineno)
        keep = [i for i in keep if i not in doc]
    return "\n".join(lines[i] for i in keep)


def toy_generator_source(name: str) -> str:
    """The generator of a 2-D set with every helper and constant of toy.py it uses, in toy.py's order."""
    source, defs = _toy_tree()
    function = toy.GENERATORS[name].__name__
    wanted: set[str] = set()
    todo = [function]
    while todo:
        current = todo.pop()
        if current in wanted:
            continue
        wanted.add(current)
        todo += [n.id for n in ast.walk(defs[current]) if isinstance(n, ast.Name) and n.id in defs and n.id not in wanted]
    lines = source.splitlines()
    ordered = sorted({id(defs[n]): defs[n] for n in wanted}.values(), key=lambda node: node.lineno)
    out = _without_docstring(ordered[0], lines)
    for before, node in itertools.pairwise(ordered):
        together = not isinstance(before, ast.FunctionDef) and not isinstance(node, ast.FunctionDef)
        out += ("\n" if together else "\n\n\n") + _without_docstring(node, lines)  # PEP 8: two blank lines around functions
    return out


@cache
def feature_expressions() -> dict[str, str]:
    """Each feature's expression in x1 and x2, as toy._FEATURE_FUNCS computes it."""
    _, defs = _toy_tree()
    node = defs["_FEATURE_FUNCS"]
    assert isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Dict)
    out = {}
    for key, value in zip(node.value.keys, node.value.values, strict=True):
        assert isinstance(key, ast.Constant) and isinstance(value, ast.Lambda)
        out[str(key.value)] = ast.unparse(value.body)
    return out


def _toy(spec: m.JobSpec, lang: Lang) -> Part:
    ds = spec.dataset
    info = dataset_info(ds.name)
    expressions = [feature_expressions()[f] for f in ds.features]
    used = [x for x in ("x1", "x2") if any(_uses(e, x) for e in expressions)]
    columns = "\n".join(f"    {x} = p[:, {i}].astype(np.float64)" for i, x in enumerate(("x1", "x2")) if x in used)
    code = TOY.render(
        lang,
        name=ds.name,
        generators=translate(toy_generator_source(ds.name), lang),  # toy.py's own comments too
        function=toy.GENERATORS[ds.name].__name__,
        n_samples=ds.n_samples,
        noise=repr(ds.noise),
        label_type="int64" if info.task == "classification" else "float32",
        test_fraction=repr(ds.test_fraction),
        keep="n_train" if ds.train_limit is None else f"min(n_train, {ds.train_limit})",
        feature_names=", ".join(ds.features),
        columns=columns,
        expressions=", ".join(expressions),
    )
    return Part(("import numpy as np", "import torch"), code)


def _uses(expression: str, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(ast.parse(expression)))


def _digits(spec: m.JobSpec, lang: Lang) -> Part:
    ds = spec.dataset
    keep = "n_train" if ds.train_limit is None else f"min(n_train, {ds.train_limit})"
    code = DIGITS.render(lang, test_fraction=repr(ds.test_fraction), keep=keep)
    return Part(("import numpy as np", "import torch", "from sklearn.datasets import load_digits"), code)


def _idx(spec: m.JobSpec, lang: Lang) -> Part:
    ds = spec.dataset
    info = dataset_info(ds.name)
    shipped = info.shipped_split[0] if info.shipped_split else 0
    if ds.train_limit is None or ds.train_limit >= shipped:
        train_idx = ALL_TRAIN.render(lang)
    else:
        train_idx = SOME_TRAIN.render(lang, limit=ds.train_limit)
    code = IDX.render(
        lang,
        title=info.title,
        name=ds.name,
        train_images=IDX_FILES[("train", "images")],
        train_labels=IDX_FILES[("train", "labels")],
        test_images=IDX_FILES[("test", "images")],
        test_labels=IDX_FILES[("test", "labels")],
        train_idx=train_idx,
    )
    return Part(("import gzip", "from pathlib import Path", "import numpy as np", "import torch"), code)


def csv_name(title: str) -> str:
    """The uploaded file's likely name, from the upload's title (the file's name unless the uploader gave one)."""
    stem = "".join(ch if ch.isalnum() or ch in "-_. " else "_" for ch in title).strip(" .") or "data"
    return stem if stem.lower().endswith(".csv") else f"{stem}.csv"


def _table(spec: m.JobSpec, lang: Lang, upload: dict[str, Any]) -> Part:
    ds = spec.dataset
    classes: list[str] | None = upload["classes"]
    if classes is None:
        labels = CLASS_LABELS["number"]
    else:  # integer labels were numbered by value, written as whole numbers ("1.0" is class "1")
        labels = CLASS_LABELS["whole" if all(c.lstrip("-").isdigit() for c in classes) else "text"]
    code = TABLE.render(
        lang,
        title=one_line(upload["title"]),
        file=repr(csv_name(upload["title"])),
        features=repr(list(upload["features"])),
        target=repr(upload["target"]),
        classes="\n" + CLASSES.render(lang, classes=repr(classes)) if classes is not None else "",
        labels=labels,
        test_fraction=repr(ds.test_fraction),
        keep="n_train" if ds.train_limit is None else f"min(n_train, {ds.train_limit})",
    )
    return Part(("import csv", "import io", "from pathlib import Path", "import numpy as np", "import torch"), code)


class UploadGone(LookupError):
    """The uploaded set a run trained on is no longer on the server: its columns and classes are not known."""


def data_part(spec: m.JobSpec, lang: Lang, upload: dict[str, Any] | None = None) -> Part:
    """The code that makes x_train, y_train, x_test and y_test as the trainer's load_dataset does; an uploaded set's
    entry (title, target, features, classes) says how to read its CSV."""
    if spec.dataset.name.startswith("upload-"):
        if upload is None:
            raise UploadGone(spec.dataset.name)
        return _table(spec, lang, upload)
    info = dataset_info(spec.dataset.name)
    if info.kind == "toy2d":
        return _toy(spec, lang)
    if spec.dataset.name == "digits":
        return _digits(spec, lang)
    return _idx(spec, lang)


def plot_part(spec: m.JobSpec, lang: Lang, upload: dict[str, Any] | None = None) -> Part:
    """The notebook's look at the data: the 2-D points, the first images, or an upload's first two columns."""
    if upload is not None:
        second = 1 if len(upload["features"]) > 1 else 0
        return Part(("import plotly.graph_objects as go",), TABLE_PLOT.render(lang, second=second))
    if dataset_info(spec.dataset.name).kind == "toy2d":
        return Part(("import plotly.graph_objects as go",), TOY_PLOT.render(lang))
    return Part(("import plotly.graph_objects as go", "from plotly.subplots import make_subplots"), IMAGE_PLOT.render(lang))
