"""The network diagram (#net-diagram) and the mistakes panel against the real server: each unit drawn with its output
over the plane and redrawn as the network learns, edges by weight, editing on the diagram through the same spec as
the form, and for an image set the sample predictions and the confusion matrix. Screenshots at 1440x900 and 390x844,
English and Japanese, go to test-artifacts/."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from browser_helpers import train_and_wait

pytestmark = pytest.mark.browser

UNITS = "[...document.querySelectorAll('#net-diagram [data-unit]')]"
HASHES = f"Object.fromEntries({UNITS}.map(e => [e.dataset.unit, e.dataset.hash || null]))"
# What each hidden unit's canvas holds, read back from its pixels: the picture drawn, not a data attribute.
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
PIXELS = f"""Object.fromEntries({UNITS}.filter(e => /^dense_/.test(e.dataset.unit)).map(e => {{
  const c = e.querySelector('canvas'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let h = 0; for (let i = 0; i < d.length; i += 1) h = (h * 31 + d[i]) >>> 0; return [e.dataset.unit, h]; }}))"""


def serious_axe_violations(page, selector: str) -> list[str]:
    """axe-core's serious and critical findings inside one element (the drawn diagram, the mistakes panel)."""
    page.add_script_tag(content=AXE)
    return page.evaluate(
        f"axe.run({selector!r}, {{resultTypes: ['violations']}}).then(r => r.violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact)).map(v => `${v.id}: ${v.nodes[0].target.join(' ')}`))"
    )


def open_spec(new_page, spec: dict, lang: str = "en", viewport: tuple[int, int] = (1440, 900)):
    """The page with this setup, as a shared link opens it."""
    blob = base64.urlsafe_b64encode(json.dumps(spec).encode()).decode().rstrip("=")
    return new_page(lang=lang, viewport=viewport, path=f"/#s={blob}")


def circle_spec(epochs: int = 30) -> dict:
    """2-3-3-2 tanh on 200 circle points, full batch: a second or two on one CPU thread."""
    return {
        "name": "diagram test",
        "seed": 1,
        "device": "cpu",
        "dataset": {"name": "circle", "n_samples": 200, "noise": 0.0, "features": ["x1", "x2"]},
        "model": {
            "layers": [
                {"type": "dense", "units": 3, "activation": "tanh", "init": "xavier"},
                {"type": "dense", "units": 3, "activation": "tanh", "init": "xavier"},
            ],
            "output": {"activation": "softmax", "init": "xavier"},
        },
        "training": {"epochs": epochs, "batch_size": "full", "loss": "cross_entropy", "optimizer": {"name": "adam", "lr": 0.05}},
        "probes": {"histogram_bins": 10, "boundary_resolution": 20},
    }


def digits_spec() -> dict:
    return {
        "name": "digits mistakes",
        "seed": 0,
        "device": "cpu",
        "dataset": {"name": "digits", "test_fraction": 0.3},
        "model": {
            "layers": [{"type": "flatten"}, {"type": "dense", "units": 24, "activation": "relu", "init": "he"}],
            "output": {"activation": "softmax", "init": "xavier"},
        },
        "training": {"epochs": 12, "batch_size": 64, "loss": "cross_entropy", "optimizer": {"name": "adam", "lr": 0.01}},
        "probes": {"histogram_bins": 10},
    }


def record_diagram(page) -> None:
    """Keep every (epoch, dense_1.0's picture) the diagram shows while the run streams."""
    page.evaluate(
        """window.__seen = [];
        new MutationObserver(() => {
          const d = document.querySelector('#net-diagram');
          const u = d.querySelector('[data-unit="dense_1.0"]');
          window.__seen.push([d.dataset.epoch, u && u.dataset.hash]);
        }).observe(document.querySelector('#net-diagram'), {attributes: true, subtree: true, attributeFilter: ['data-epoch', 'data-hash']});"""
    )


def test_units_draw_their_output_and_follow_training(new_page, artifacts):
    page = open_spec(new_page, circle_spec(epochs=200))  # long enough to be drawn at several epochs on the way
    units = page.evaluate(f"{UNITS}.map(e => e.dataset.unit)")
    assert units == [
        "input.0",
        "input.1",
        "dense_1.0",
        "dense_1.1",
        "dense_1.2",
        "dense_2.0",
        "dense_2.1",
        "dense_2.2",
        "output.0",
        "output.1",
    ]
    assert page.locator("#net-diagram .nd-edge").count() == 2 * 3 + 3 * 3 + 3 * 2
    before = page.evaluate(HASHES)
    assert before["input.0"] and before["input.1"] and before["input.0"] != before["input.1"]  # x1 and x2 over the plane
    assert before["dense_1.0"] is None  # nothing learned yet: no picture

    record_diagram(page)
    assert train_and_wait(page) == "completed"
    page.wait_for_function("document.querySelector('#net-diagram').dataset.epoch === '200'")
    final = page.evaluate(HASHES)
    assert all(final[u] for u in units), final  # every unit, hidden and output, has its picture
    seen = page.evaluate("window.__seen")
    live = {tuple(s) for s in seen if s[0] and s[1]}
    assert len({e for e, _ in live}) >= 2 and len({h for _, h in live}) >= 2, seen  # redrawn while training, and changed

    # Edges carry the weights of these tiny layers: blue for positive, orange for negative, wider when larger.
    edges = page.evaluate(
        "[...document.querySelectorAll('#net-diagram .nd-edge')].map(p => [p.dataset.edge, Number(p.dataset.weight), p.getAttribute('stroke'), Number(p.getAttribute('stroke-width'))])"
    )
    assert len(edges) == 21 and all(w == w for _, w, _, _ in edges)  # no NaN: every edge has its weight
    assert all((color == "#0877bd") == (w >= 0) for _, w, color, _ in edges)
    heaviest = max(edges, key=lambda e: abs(e[1]))
    assert heaviest[3] == max(e[3] for e in edges)

    # Epoch 0 (the untrained net) looks different from epoch 200, in the pixels, and the diagram says which it shows.
    pixels_final = page.evaluate(PIXELS)
    page.evaluate("window.nndojo.diagram.showEpoch(0)")
    page.wait_for_function("document.querySelector('#net-diagram').dataset.epoch === '0'")
    assert page.evaluate(HASHES) != final
    assert page.evaluate(PIXELS) != pixels_final
    page.evaluate("window.nndojo.diagram.showEpoch(null)")
    page.wait_for_function("document.querySelector('#net-diagram').dataset.epoch === '200'")
    assert page.evaluate(PIXELS) == pixels_final

    # Clicking a unit opens its layer in the histogram charts.
    page.click("[data-unit='dense_2.1']")
    assert page.input_value("[data-key='chart-weights-now-layer']") == "dense_2"
    assert page.input_value("[data-key='chart-act-hist-layer']") == "dense_2"
    widths = page.evaluate("Object.fromEntries(document.querySelector('#chart-grad-epochs .plot').data.map(t => [t.name, t.line.width]))")
    assert widths["dense_2"] > max(w for name, w in widths.items() if name != "dense_2")  # its gradient history stands out
    assert "dense_2.1" in page.inner_text("#net-diagram-info")
    # Hovering a unit shows its picture enlarged.
    page.hover("[data-unit='dense_1.1']")
    page.wait_for_selector(".nd-preview:not([hidden])")
    assert page.inner_text(".nd-preview-name") == "dense_1.1"
    assert serious_axe_violations(page, "#net-diagram") == []
    page.evaluate("document.querySelector('.stage').scrollTop = 0")
    page.screenshot(path=artifacts / "diagram-1440-en.png")
    page.locator("#net-diagram").screenshot(path=artifacts / "diagram-only.png")


def test_editing_on_the_diagram_changes_the_spec_and_the_form(new_page):
    page = open_spec(new_page, circle_spec())
    link = "window.location.hash"
    page.click("#nd-add-layer")
    page.wait_for_selector("[data-unit='dense_3.2']")  # a third layer, like the last one (3 units)
    assert page.locator("#net-panel .layer-list > li").count() == 3
    assert page.input_value("[data-loc='model.layers.2.units']") == "3"

    page.click("[data-key='nd-more-dense_1']")
    page.wait_for_selector("[data-unit='dense_1.3']")
    assert page.input_value("[data-loc='model.layers.0.units']") == "4"
    page.click("[data-key='nd-fewer-dense_2']")
    page.wait_for_function("!document.querySelector(\"[data-unit='dense_2.2']\")")
    assert page.input_value("[data-loc='model.layers.1.units']") == "2"

    page.select_option("[data-key='nd-act-dense_1']", "relu")
    page.wait_for_function("document.querySelector(\"[data-loc='model.layers.0.activation']\").value === 'relu'")
    page.select_option("[data-key='nd-act-output']", "sigmoid")  # a binary sigmoid has one output unit
    page.wait_for_function("!document.querySelector(\"[data-unit='output.1']\")")
    assert page.input_value("[data-key='out-act']") == "sigmoid"

    page.click("#nd-remove-layer")
    page.wait_for_function("!document.querySelector(\"[data-unit='dense_3.0']\")")
    assert page.locator("#net-panel .layer-list > li").count() == 2
    # The form edits the diagram too: units typed there are drawn.
    page.fill("[data-loc='model.layers.1.units']", "5")
    page.wait_for_selector("[data-unit='dense_2.4']")
    # And the shared link holds the diagram's edits.
    page.wait_for_function(
        f"{link}.length > 3 && JSON.parse(atob({link}.slice(3).replaceAll('-', '+').replaceAll('_', '/'))).model.layers[0].activation === 'relu'"
    )


def test_wide_layers_are_drawn_per_layer_and_fit_a_phone(new_page, artifacts):
    spec = circle_spec()
    spec["model"]["layers"][1]["units"] = 64
    page = open_spec(new_page, spec, viewport=(390, 844))
    assert page.locator("[data-unit^='dense_1.']").count() == 3
    assert page.locator("[data-unit^='dense_2.']").count() == 0
    assert page.locator("#net-diagram [data-layer='dense_2']").count() == 1
    # The diagram scrolls inside its own box: the panel itself is never wider than the screen.
    box = page.evaluate("(() => { const r = document.querySelector('#net-diagram').getBoundingClientRect(); return [r.left, r.right]; })()")
    assert box[0] >= 0 and box[1] <= 390
    assert page.evaluate("document.querySelector('#net-diagram').scrollWidth <= document.querySelector('#net-diagram').clientWidth")


def test_image_set_shows_sample_predictions_and_confusion(new_page, artifacts):
    page = open_spec(new_page, digits_spec())
    assert page.locator("#net-diagram [data-unit^='dense_1.']").count() == 0  # images: a box per layer
    assert page.locator("#net-diagram [data-layer='flatten_1'], #net-diagram [data-layer='dense_1']").count() == 2
    assert page.is_visible("#mistakes") and not page.is_visible("#chart-boundary")
    assert train_and_wait(page) == "completed"
    page.wait_for_function("document.querySelector('#mistakes').dataset.epoch === '12'")
    samples = page.evaluate(
        "[...document.querySelectorAll('#sample-grid .nd-sample')].map(f => [f.dataset.label, f.dataset.predicted, f.dataset.wrong, !!f.querySelector('canvas')])"
    )
    assert 1 <= len(samples) <= 16
    assert all((wrong == "true") == (label != pred) for label, pred, wrong, _ in samples)
    matrix = page.evaluate(
        "(() => { const t = document.querySelector('#confusion-matrix').data[0]; return {x: t.x, y: t.y, m: t.customdata}; })()"
    )
    assert matrix["x"] == [str(i) for i in range(10)] == matrix["y"]
    assert len(matrix["m"]) == 10 and all(len(row) == 10 for row in matrix["m"])
    correct = sum(matrix["m"][i][i] for i in range(10))
    total = sum(map(sum, matrix["m"]))
    assert total > 0 and correct / total > 0.5  # 12 epochs on digits: most on the diagonal
    # The scrubber's hook moves the panel back to the untrained net's predictions.
    page.evaluate("window.nndojo.diagram.showEpoch(0)")
    page.wait_for_function("document.querySelector('#mistakes').dataset.epoch === '0'")
    page.evaluate("window.nndojo.diagram.showEpoch(null)")
    page.wait_for_function("document.querySelector('#mistakes').dataset.epoch === '12'")
    assert serious_axe_violations(page, "#mistakes") == []
    page.screenshot(path=artifacts / "mistakes-1440-en.png")
    page.click("#lang-btn")
    page.wait_for_function("document.querySelector('#confusion-matrix').layout.xaxis.title.text === '予測'")
    assert "テスト画像" in page.get_attribute("#sample-grid", "aria-label")
    assert "正解" in page.get_attribute("#sample-grid .nd-sample", "title")
    page.screenshot(path=artifacts / "mistakes-1440-ja.png")
    # On a phone the panel stacks under the diagram, within the screen's width.
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#mistakes").scroll_into_view_if_needed()
    right = page.evaluate("Math.max(...[...document.querySelectorAll('#mistakes, #mistakes *')].map(e => e.getBoundingClientRect().right))")
    assert right <= 390
    page.screenshot(path=artifacts / "mistakes-390-ja.png")
    page.click("#lang-btn")
    page.wait_for_function("document.querySelector('#confusion-matrix').layout.xaxis.title.text === 'predicted'")
    page.screenshot(path=artifacts / "mistakes-390-en.png")


@pytest.mark.parametrize(("lang", "viewport"), [("en", (1440, 900)), ("ja", (1440, 900)), ("en", (390, 844)), ("ja", (390, 844))])
def test_screenshots(new_page, artifacts, lang, viewport):
    """The diagram trained, as a student sees it, at a laptop's and a phone's size in both languages."""
    page = open_spec(new_page, circle_spec(epochs=20), lang=lang, viewport=viewport)
    assert train_and_wait(page) == "completed"
    page.locator("#net-diagram").scroll_into_view_if_needed()  # on a phone it is below the setup: drawn once on screen
    page.wait_for_function("document.querySelector('#net-diagram').dataset.epoch === '20'")
    page.screenshot(path=artifacts / f"diagram-{viewport[0]}-{lang}.png")
