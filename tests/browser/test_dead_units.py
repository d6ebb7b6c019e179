"""The page's "dead" means the textbook's dead unit (activation.dead_units: 0 for every probe sample); the share of
zero outputs is shown under its own name, and exact zeros of a ReLU layer get their own bar in its histogram."""

from __future__ import annotations

import base64
import json

import pytest
from browser_helpers import train_and_wait

pytestmark = pytest.mark.browser

PLOT = "document.querySelector('#{} .js-plotly-plot')"


def relu_spec() -> dict:
    return {
        "name": "dead units",
        "seed": 0,
        "device": "cpu",
        "dataset": {"name": "circle", "n_samples": 200, "noise": 0.0},
        "model": {
            "layers": [{"type": "dense", "units": 16, "activation": "relu", "init": "he"}, {"type": "dense", "units": 16, "activation": "relu", "init": "he"}],
            "output": {"activation": "softmax", "init": "xavier"},
        },
        "training": {"epochs": 5, "batch_size": "full", "loss": "cross_entropy", "optimizer": {"name": "adam", "lr": 0.02}},
        "probes": {"histogram_bins": 10, "boundary_resolution": 10},
    }


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_dead_units_and_zero_outputs_are_told_apart(new_page, lang, artifacts):
    blob = base64.urlsafe_b64encode(json.dumps(relu_spec()).encode()).decode().rstrip("=")
    page = new_page(lang=lang, viewport=(1440, 900), path=f"/#s={blob}")
    assert train_and_wait(page) == "completed"
    job = page.evaluate("window.nndojo.jobId()")
    events = page.evaluate(f"fetch('/api/jobs/{job}/events?after=-1').then(r => r.json())")
    last = [e for e in events if e["type"] == "epoch"][-1]
    fractions = PLOT.format("chart-act-fractions")
    page.locator("#chart-act-fractions").scroll_into_view_if_needed()
    page.wait_for_function(f"{fractions} && ({fractions}.data || []).length === 3")
    traces = page.evaluate(f"{fractions}.data.map(t => ({{name: t.name, y: t.y}}))")
    names = [t["name"] for t in traces]
    assert names == (["saturated outputs", "share of zero outputs", "dead units"] if lang == "en" else ["飽和した出力", "0の出力の割合", "死んだユニット"])
    zero_share, dead = traces[1]["y"], traces[2]["y"]
    assert dead == [layer["activation"].get("dead_units") for layer in last["layers"] if layer.get("activation")]  # as the last epoch says
    relu = [(d, z) for d, z in zip(dead, zero_share, strict=True) if d is not None]  # the output layer has no dead units
    assert len(relu) == 2 and all(0 <= d <= z for d, z in relu)  # a dead unit's outputs are all zeros
    assert max(z for _, z in relu) > 0.2  # a healthy He-ReLU layer has many zero outputs ...
    assert max(d for d, _ in relu) < 0.15  # ... and few dead units

    histogram = PLOT.format("chart-act-hist")
    page.locator("#chart-act-hist").scroll_into_view_if_needed()
    page.wait_for_function(f"{histogram} && ({histogram}.data || []).length === 2")
    zeros_bar = page.evaluate(f"{histogram}.data[1]")
    left_edge = page.evaluate(f"Math.min(...{histogram}.data[0].x)")
    assert zeros_bar["y"][0] > 0 and zeros_bar["x"][0] < left_edge  # the exact zeros, apart and left of the range
    page.locator("#chart-act-hist").screenshot(path=artifacts / f"activation-zeros-{lang}.png")
    page.locator("#chart-act-fractions").screenshot(path=artifacts / f"dead-units-{lang}.png")
