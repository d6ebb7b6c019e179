"""A run as a Jupyter notebook (nbformat 4.5): the .py file's parts in cells, with a look at the data and the loss curve.

Written as plain JSON, so the server needs no Jupyter package; the plots use plotly's graph objects (plotly is already
the page's dependency, and they need no pandas).
"""

from __future__ import annotations

import json
from typing import Any

from nndojo.export.data import Part, plot_part
from nndojo.export.python import Run, header, import_block, sections
from nndojo.export.snippet import Lang, Snippet
from nndojo.spec import models as m

LOSS_CURVE = Snippet(
    """
    # the loss after each epoch, on the training and the test set
    fig = go.Figure(
        [go.Scatter(x=[h["epoch"] for h in history], y=[h[key] for h in history], name=key) for key in ("train_loss", "test_loss")],
        layout={"xaxis_title": "epoch", "yaxis_title": "loss", "height": 400},
    )
    fig
    """
)

TITLES: dict[Lang, dict[str, str]] = {
    "en": {
        "intro": "# NN Dojo: a run as plain PyTorch\n\nThe same network, data, seed and training as the run on the server: "
        "run the cells from top to bottom.",
        "data": "## The data",
        "model": "## The model",
        "training": "## Training",
        "curve": "## The loss curve",
    },
    "ja": {
        "intro": "# NN Dojo: 実行をそのまま PyTorch で\n\nサーバーでの実行と同じネットワーク、データ、シード、学習です。"
        "上のセルから順に実行してください。",
        "data": "## データ",
        "model": "## モデル",
        "training": "## 学習",
        "curve": "## 損失の推移",
    },
}


def _cell(kind: str, name: str, source: str) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": kind, "id": name, "metadata": {}, "source": source}
    if kind == "code":
        cell |= {"execution_count": None, "outputs": []}
    return cell


def notebook(spec: m.JobSpec, run: Run, lang: Lang, upload: dict[str, Any] | None = None) -> dict[str, Any]:
    """The notebook as nbformat 4.5 JSON: setup, data and its plot, model, training, loss curve."""
    settings, data, model, training = sections(spec, run, lang, upload)
    plot = plot_part(spec, lang, upload)
    curve = Part(("import plotly.graph_objects as go",), LOSS_CURVE.render(lang))
    parts = [settings, data, plot, model, training, curve]
    imports = import_block(parts, "\n\n".join(part.code for part in parts))
    titles = TITLES[lang]
    setup = f"{header(spec, run, lang, None)}\n\n{imports}\n\n{settings.code}"
    cells = [
        _cell("markdown", "intro", titles["intro"]),
        _cell("code", "setup", setup),
        _cell("markdown", "data-title", titles["data"]),
        _cell("code", "data", data.code),
        _cell("code", "data-plot", plot.code),
        _cell("markdown", "model-title", titles["model"]),
        _cell("code", "model", model.code),
        _cell("markdown", "training-title", titles["training"]),
        _cell("code", "training", training.code),
        _cell("markdown", "curve-title", titles["curve"]),
        _cell("code", "curve", curve.code),
    ]
    metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells}


def notebook_file(spec: m.JobSpec, run: Run, lang: Lang, upload: dict[str, Any] | None = None) -> str:
    return json.dumps(notebook(spec, run, lang, upload), ensure_ascii=False, indent=1) + "\n"
