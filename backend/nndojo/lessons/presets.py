"""The page's presets: each is one of examples/*.json, read from there, so a preset and the example of its name are the
same spec by construction (the page loads them from GET /api/lessons)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"  # beside backend/, as frontend/ is (the image copies both)

PRESETS = (  # preset id (the page's button and its i18n key) -> example file
    ("spiral", "04-spiral-depth.json"),
    ("sigmoid", "06-vanishing-sigmoid.json"),
    ("relu", "07-vanishing-fixed-relu-he.json"),
    ("overfit", "18-overfitting.json"),
    ("lenet", "23-lenet-digits.json"),
    ("alexnet", "24-alexnet-fashion-mnist.json"),
)


@cache
def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text())


def presets() -> list[dict[str, Any]]:
    return [{"id": pid, "example": name, "spec": example(name)} for pid, name in PRESETS]
