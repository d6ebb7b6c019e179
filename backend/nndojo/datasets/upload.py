"""A user's CSV as a dataset: parsed with the standard `csv` module (never evaluated), checked so that every refusal
teaches (the row and column of the first bad value), and packed into one blob that travels with a job to its worker.

Rows are numbered as a spreadsheet numbers them: the header is row 1, the first data row is row 2. Torch-free.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from nndojo.datasets.info import DatasetInfo

Task = Literal["classification", "regression"]

MIN_ROWS = 10  # as a generated set's smallest n_samples: enough for a train and a test part
MAX_CLASSES = 20  # more is nearly always an id or a name chosen as the target by mistake
MAX_FEATURES = 100  # feature columns: a dense first layer of 4,096 units stays well under the parameter limit
MAX_TITLE = 100
NAME_PATTERN = r"^upload-[a-z0-9]+(-[a-z0-9]+)*$"
NAME_MAX = 64
DELIMITERS = ",;\t"  # comma, and the semicolon and tab some spreadsheets write
SHOWN_VALUE = 40  # characters of a bad value quoted back
FLOAT32_MAX = float(np.finfo(np.float32).max)  # values are trained on as float32: larger ones would become infinite


class UploadError(ValueError):
    """A file (or form field) that cannot become a dataset: `code` and `ctx` let a client say it in any language."""

    def __init__(self, code: str, msg: str, field: str = "file", **ctx: Any):
        super().__init__(msg)
        self.code = code
        self.field = field
        self.ctx = ctx

    def item(self) -> dict[str, Any]:
        """The 422 item in FastAPI's shape, loc naming the form field (the API puts it under "body")."""
        return {"loc": [self.field], "msg": str(self), "type": "upload", "ctx": {"code": self.code, **self.ctx}}


@dataclass(frozen=True)
class Upload:
    """An uploaded dataset: x float32 (rows, features); y int64 class indices or float32 targets."""

    name: str
    title: str
    task: Task
    target: str
    features: list[str]
    classes: list[str] | None  # class labels as written in the file, index = class; None for regression
    x: np.ndarray
    y: np.ndarray

    @property
    def info(self) -> DatasetInfo:
        return info_for(self.name, self.title, self.task, len(self.features), self.classes, len(self.x))

    def meta(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "task": self.task,
            "target": self.target,
            "features": self.features,
            "classes": self.classes,
        }

    def to_csv(self) -> str:
        """The data as a plain CSV (features, then the target; class labels as in the original file)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*self.features, self.target])
        labels = [self.classes[int(i)] for i in self.y] if self.classes is not None else [repr(float(v)) for v in self.y]
        for row, label in zip(self.x.tolist(), labels, strict=True):
            writer.writerow([*(repr(v) for v in row), label])
        return out.getvalue()


def info_for(name: str, title: str, task: Task, n_features: int, classes: list[str] | None, n_rows: int) -> DatasetInfo:
    """What the checks and the catalog need to know of an upload, without its data."""
    return DatasetInfo(name, "tabular", (n_features,), None if classes is None else len(classes), task, title, title=title, size=n_rows)


def new_name(title: str) -> str:
    """upload-<slug of the title>-<6 random hex>: readable in specs and exports, unique without asking anyone (a name
    taken by another user must not be revealed by a refusal)."""
    slug = "-".join(re.findall(r"[a-z0-9]+", title.lower()))[:24].strip("-") or "data"
    return f"upload-{slug}-{secrets.token_hex(3)}"


# --- packing: one blob for the database and for the worker --------------------------------------


def pack(upload: Upload) -> bytes:
    """npz (compressed, no pickles) holding x, y and the metadata as JSON bytes."""
    buffer = io.BytesIO()
    meta = np.frombuffer(json.dumps(upload.meta()).encode(), dtype=np.uint8)
    np.savez_compressed(buffer, x=upload.x, y=upload.y, meta=meta)
    return buffer.getvalue()


def unpack(blob: bytes) -> Upload:
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        meta = json.loads(npz["meta"].tobytes().decode())
        return Upload(**meta, x=npz["x"], y=npz["y"])


# --- parsing ---------------------------------------------------------------------------------------


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = raw[: exc.start].count(b"\n") + 1
        raise UploadError(
            "upload_encoding",
            f"the file is not UTF-8 text: row {row} holds the byte 0x{raw[exc.start]:02X}, which UTF-8 does not allow there; "
            "save it as 'CSV UTF-8' and upload it again",
            row=row,
            byte=f"0x{raw[exc.start]:02X}",
        ) from None


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    return max(DELIMITERS, key=first.count) if any(d in first for d in DELIMITERS) else ","


def _header(reader: Any) -> list[str]:
    for record in reader:
        if any(field.strip() for field in record):
            header = [field.strip() for field in record]
            break
    else:
        raise UploadError("upload_empty", "the file is empty: it needs a header row naming the columns, then rows of values")
    for index, name in enumerate(header, start=1):
        if not name:
            raise UploadError("upload_header_blank", f"column {index} of the header row has no name: name every column", column_index=index)
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise UploadError("upload_header_duplicate", f"two columns are named '{name}': give each column its own name", column=name)
        seen.add(name)
    return header


def _columns(header: list[str], target: str, features: list[str] | None) -> list[str]:
    if target not in header:
        listed = ", ".join(f"'{c}'" for c in header[:20])
        raise UploadError(
            "upload_target_unknown", f"the file has no column '{target}'; its columns are {listed}", "target", target=target, columns=listed
        )
    chosen = features if features else [c for c in header if c != target]
    for name in chosen:
        if name not in header:
            raise UploadError("upload_feature_unknown", f"the file has no column '{name}' to use as a feature", "features", column=name)
        if name == target:
            raise UploadError("upload_feature_is_target", f"'{name}' is the target: it cannot be a feature too", "features", column=name)
    if len(set(chosen)) != len(chosen):
        raise UploadError("upload_feature_twice", "each feature column may be chosen once", "features")
    if not chosen:
        raise UploadError("upload_no_features", "the file needs at least one feature column besides the target", "features")
    if len(chosen) > MAX_FEATURES:
        raise UploadError(
            "upload_too_many_columns",
            f"{len(chosen)} feature columns; at most {MAX_FEATURES} are allowed",
            "features",
            found=len(chosen),
            max=MAX_FEATURES,
        )
    return chosen


def _number(value: str, row: int, column: str) -> float:
    text = value.strip()
    if not text:
        raise UploadError("upload_missing", f"row {row}, column '{column}' is empty: every value must be there", row=row, column=column)
    try:
        number = float(text)
    except ValueError:
        number = math.nan
        finite = False
    else:
        finite = math.isfinite(number) and abs(number) <= FLOAT32_MAX
    if not finite:
        shown = text[:SHOWN_VALUE]
        raise UploadError(
            "upload_not_number",
            f"row {row}, column '{column}' is '{shown}', not a finite number: feature values must be numbers like 3 or -0.25",
            row=row,
            column=column,
            value=shown,
        )
    return number


def _rows(reader: Any, header: list[str], columns: list[str], target: str, max_rows: int) -> tuple[list[list[float]], list[str], int]:
    """Feature values as floats and target values as text, checked row by row; the first bad value stops it."""
    where = [header.index(c) for c in columns]
    target_at = header.index(target)
    xs: list[list[float]] = []
    ys: list[str] = []
    row = 1
    for record in reader:
        row += 1
        if not record or not any(field.strip() for field in record):
            continue  # blank lines (a trailing one is common)
        if len(record) != len(header):
            raise UploadError(
                "upload_ragged",
                f"row {row} has {len(record)} values but the header names {len(header)} columns",
                row=row,
                found=len(record),
                expected=len(header),
            )
        if len(xs) == max_rows:
            raise UploadError(
                "upload_too_many_rows", f"more than {max_rows:,} rows; at most {max_rows:,} are allowed (limit max_samples)", max=max_rows
            )
        xs.append([_number(record[i], row, c) for i, c in zip(where, columns, strict=True)])
        label = record[target_at].strip()
        if not label:
            raise UploadError("upload_missing", f"row {row}, column '{target}' is empty: every value must be there", row=row, column=target)
        ys.append(label)
    return xs, ys, row


def _classes(labels: list[str], numeric: list[float] | None, target: str) -> tuple[list[str], np.ndarray]:
    if numeric is not None and all(v.is_integer() for v in numeric):
        names = [str(int(v)) for v in numeric]
        order = sorted(set(names), key=int)
    else:
        names = labels
        order = sorted(set(names), key=lambda s: (float(s), s) if numeric is not None else (0.0, s))
    if len(order) > MAX_CLASSES:
        raise UploadError(
            "upload_too_many_classes",
            f"the target '{target}' has {len(order)} different values; a classification allows at most {MAX_CLASSES} classes "
            "(choose task 'regression' for a number to predict, or another target column)",
            found=len(order),
            max=MAX_CLASSES,
            column=target,
        )
    index = {name: i for i, name in enumerate(order)}
    return order, np.array([index[n] for n in names], dtype=np.int64)


def _targets(labels: list[str], target: str, task: Task | None) -> tuple[Task, list[str] | None, np.ndarray]:
    numeric: list[float] | None = []
    first_text = 0
    for i, label in enumerate(labels):
        try:
            value = float(label)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and abs(value) <= FLOAT32_MAX):
            numeric, first_text = None, i
            break
        assert numeric is not None
        numeric.append(value)
    if task is None:
        few = numeric is not None and all(v.is_integer() for v in numeric) and len(set(numeric)) <= MAX_CLASSES
        task = "classification" if numeric is None or few else "regression"
    if task == "regression":
        if numeric is None:
            row = first_text + 2
            shown = labels[first_text][:SHOWN_VALUE]
            raise UploadError(
                "upload_not_number",
                f"row {row}, column '{target}' is '{shown}', not a finite number: a regression's target must be a number "
                "(choose task 'classification' for class labels)",
                row=row,
                column=target,
                value=shown,
            )
        return task, None, np.asarray(numeric, dtype=np.float32)
    classes, y = _classes(labels, numeric, target)
    return task, classes, y


def parse_csv(
    raw: bytes, target: str, *, task: Task | None = None, features: list[str] | None = None, max_rows: int = 100_000
) -> tuple[list[str], Task, list[str] | None, np.ndarray, np.ndarray]:
    """(features, task, classes, x, y) of a CSV, or the UploadError of its first problem."""
    text = _text(raw)
    if "\x00" in text:
        raise UploadError("upload_binary", "the file holds NUL bytes: it is not a text file; export the data as CSV")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    try:
        header = _header(reader)
        columns = _columns(header, target.strip(), features)
        xs, labels, _ = _rows(reader, header, columns, target.strip(), max_rows)
    except csv.Error as exc:
        row = reader.line_num
        raise UploadError("upload_csv", f"row {row} is not valid CSV ({exc}): check its quotes", row=row) from None
    if len(xs) < MIN_ROWS:
        raise UploadError("upload_too_few_rows", f"{len(xs)} rows of data; at least {MIN_ROWS} are needed", found=len(xs), min=MIN_ROWS)
    x = np.asarray(xs, dtype=np.float64)
    for j, name in enumerate(columns):
        if np.ptp(x[:, j]) == 0:
            raise UploadError(
                "upload_constant",
                f"column '{name}' holds the same value in every row: it tells the network nothing, leave it out",
                column=name,
            )
    task, classes, y = _targets(labels, target.strip(), task)
    if (classes is not None and len(classes) < 2) or (classes is None and np.ptp(y) == 0):
        raise UploadError(
            "upload_constant", f"the target '{target}' holds the same value in every row: there is nothing to learn", column=target
        )
    return columns, task, classes, x.astype(np.float32), y


def parse_upload(
    raw: bytes, title: str, target: str, *, task: Task | None = None, features: list[str] | None = None, max_rows: int = 100_000
) -> Upload:
    """The CSV as a new Upload with a fresh name."""
    columns, task, classes, x, y = parse_csv(raw, target, task=task, features=features, max_rows=max_rows)
    return Upload(new_name(title), title, task, target.strip(), columns, classes, x, y)
