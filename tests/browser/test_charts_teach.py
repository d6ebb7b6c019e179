"""What the charts must show for the lessons to land: gradients by depth against the first epoch on whole decades, a
tiny net's weight and bias values, the race's goal and escaping paths, readable layer cards, and a reload that finds
the running job again."""

from __future__ import annotations

import pytest
from browser_helpers import FINAL, train_and_wait

pytestmark = pytest.mark.browser


def plot_traces(page, selector: str) -> list[dict]:
    """Each Plotly trace's name and z dimensions, and the y axis's type and range."""
    return page.evaluate(
        f"""(() => {{ const el = document.querySelector({selector!r});
        return {{traces: (el.data || []).map(t => ({{name: t.name || '', rows: (t.z || []).length, cols: ((t.z || [])[0] || []).length}})),
                 yaxis: el.layout ? {{type: el.layout.yaxis.type, range: el.layout.yaxis.range}} : null}}; }})()"""
    )


def test_gradient_by_depth_compares_first_epoch_on_decades(page, artifacts):
    page.click("[data-preset='sigmoid']")
    page.fill("[data-loc='training.epochs']", "4")
    assert train_and_wait(page) == "completed"
    page.locator("#chart-grad-depth").scroll_into_view_if_needed()
    page.wait_for_function("(document.querySelector('#chart-grad-depth .plot').data || [])[1]?.name === 'epoch 4 (now)'")  # the final draw
    info = plot_traces(page, "#chart-grad-depth .plot")
    assert [t["name"] for t in info["traces"]] == ["epoch 1 (start)", "epoch 4 (now)"]
    lo, hi = info["yaxis"]["range"]
    assert info["yaxis"]["type"] == "log" and lo == int(lo) and hi == int(hi) and hi - lo >= 1  # whole decades only
    page.locator("#chart-grad-depth").screenshot(path=artifacts / "grad-depth-sigmoid.png")


def test_tiny_net_shows_weight_and_bias_values_per_layer(page, artifacts):
    page.fill("[data-loc='training.epochs']", "2")  # the starter: 2 inputs, two tanh layers of 4, 2 outputs
    assert train_and_wait(page) == "completed"
    page.locator("#chart-values").scroll_into_view_if_needed()
    page.wait_for_function("(document.querySelector('#chart-values .plot').data || []).length === 1")
    assert plot_traces(page, "#chart-values .plot")["traces"][0] | {"name": ""} == {"name": "", "rows": 4, "cols": 3}  # W 4x2 and b
    page.select_option("[data-key='chart-values-layer']", "output")  # a finished run still redraws for another layer
    page.wait_for_function("(document.querySelector('#chart-values .plot').data || [])[0]?.z?.length === 2")
    assert plot_traces(page, "#chart-values .plot")["traces"][0]["cols"] == 5  # W 2x4 and b
    page.locator("#chart-values").screenshot(path=artifacts / "values-output.png")


def test_race_marks_the_minimum_and_paths_that_escape(page, artifacts):
    page.click("#tab-race")
    page.select_option("[data-key='race-fn']", "rosenbrock")
    page.locator("#view-race .btn.primary").click()
    page.wait_for_function("(document.querySelector('#race-plot').data || []).some(t => t.name === 'minimum')")
    # Rosenbrock starts with learning rates that suit its narrow valley: every path stays on the map
    page.wait_for_function("document.querySelector('#race-plot').data.some(t => (t.name || '').startsWith('Adam (η=0.1)'))")
    names = page.evaluate("document.querySelector('#race-plot').data.map(t => t.name || '')")
    assert not any("✕" in n for n in names), names
    # the bowl's SGD rate, 0.95, is far too large here, and the legend says so
    page.fill("[data-key='race-lr-sgd']", "0.95")
    page.locator("#view-race .btn.primary").click()
    page.wait_for_function("document.querySelector('#race-plot').data.some(t => (t.name || '').startsWith('SGD (η=0.95) ✕ left the map'))")
    page.screenshot(path=artifacts / "race-rosenbrock.png")


def test_layer_cards_show_full_type_names(page):
    page.click("[data-preset='lenet']")
    page.wait_for_function("document.querySelectorAll('.layer-list > li').length === 7")
    clipped = page.evaluate(
        """[...document.querySelectorAll("select[data-key^='type-']")].filter(s => {
            const ctx = document.createElement('canvas').getContext('2d'); ctx.font = getComputedStyle(s).font;
            return ctx.measureText(s.selectedOptions[0].text).width > s.clientWidth - 20; }).map(s => s.value)"""
    )
    assert clipped == []


def test_reload_follows_the_running_job(page):
    page.click("[data-preset='spiral']")
    page.fill("[data-loc='training.epochs']", "3000")
    page.click("#train-btn")
    page.wait_for_function("window.nndojo.epochsSeen().length > 3")
    job = page.evaluate("window.nndojo.jobId()")
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_function("window.nndojo.jobId() !== null && window.nndojo.epochsSeen().length > 3")
    assert page.evaluate("window.nndojo.jobId()") == job
    seen = page.evaluate("window.nndojo.epochsSeen()")
    assert seen == list(range(len(seen)))  # replayed from the start, no gaps
    page.click("#stop-btn")
    page.wait_for_function(FINAL)
    assert page.evaluate("window.nndojo.runStatus()") == "cancelled"


def test_image_preview_fits_the_sidebar(page, artifacts):
    page.select_option("[data-loc='dataset.name']", "fashion-mnist")
    page.wait_for_function("document.querySelectorAll('.image-grid canvas').length >= 16")
    # long class names ("Ankle boot") must not widen the columns past the panel
    assert page.evaluate("(() => { const g = document.querySelector('.image-grid'); return g.scrollWidth <= g.clientWidth + 1; })()")
    page.locator(".image-grid").screenshot(path=artifacts / "preview-fashion-mnist.png")


def test_run_that_ends_worse_than_it_started_says_why(page, artifacts):
    page.click("[data-preset='spiral']")
    page.select_option("[data-loc='training.optimizer']", "sgd")
    page.fill("[data-loc='training.optimizer.lr']", "10")  # overshoots every step, yet the loss stays finite
    page.fill("[data-loc='training.epochs']", "20")
    assert train_and_wait(page) == "completed"
    alert = page.locator("#run-alert")
    assert "no better" in alert.inner_text() and "10" in alert.inner_text()
    page.wait_for_function("document.querySelector('#chart-loss .plot').data?.[0]?.x?.length === 21", timeout=1500)  # drawn at once
    page.screenshot(path=artifacts / "no-progress-1280.png")
    page.click("#run-alert-action")
    assert page.input_value("[data-loc='training.optimizer.lr']") == "1"


def test_shared_link_shows_the_run_too(new_page, artifacts):
    page = new_page()
    page.click("[data-preset='relu']")
    page.fill("[data-loc='training.epochs']", "5")
    assert train_and_wait(page) == "completed"
    link = page.evaluate("window.nndojo.shareLink()")
    assert f"&job={page.evaluate('window.nndojo.jobId()')}" in link
    page.fill("[data-loc='training.epochs']", "6")  # an edited setup no longer matches the run: the link carries the setup only
    assert "&job=" not in page.evaluate("window.nndojo.shareLink()")

    other = new_page(lang="ja", path="/" + link.split("/", 3)[3])  # a classmate's fresh browser
    other.wait_for_function("window.nndojo.runStatus() === 'completed' && window.nndojo.epochsSeen().length === 6")
    assert other.locator(".layer-list > li").count() == 8
    other.wait_for_function("document.querySelector('#chart-loss .plot').data?.[0]?.x?.length === 6")
    other.screenshot(path=artifacts / "shared-run-ja-1280.png")
