"""The page against the real server: design, train and watch; rejected specs; presets; compare; language; sharing;
websocket recovery. Screenshots of the main views go to test-artifacts/."""

from __future__ import annotations

import base64
import json

import pytest
from browser_helpers import train_and_wait

pytestmark = pytest.mark.browser


def wait_checked(page) -> None:
    """The debounced /api/check has answered for the current setup."""
    page.wait_for_function("['ok', 'invalid'].includes(document.querySelector('#net-params')?.dataset.state)")


def build_spiral(page, epochs: int = 20) -> None:
    """spiral, 200 points, exactly two dense tanh layers of 8, built through the editor."""
    page.select_option("[data-loc='dataset.name']", "spiral")
    page.fill("[data-loc='dataset.n_samples']", "200")
    while page.locator("[data-key^='remove-']").count():
        page.click("[data-key='remove-0']")
    for i in range(2):
        page.select_option("#add-layer-type", "dense")
        page.click("#add-layer")
        page.fill(f"[data-loc='model.layers.{i}.units']", "8")
        page.select_option(f"[data-loc='model.layers.{i}.activation']", "tanh")
    page.fill("[data-loc='training.epochs']", str(epochs))
    page.fill("[data-loc='training.optimizer.lr']", "0.03")


def plot_data(page, selector: str) -> list[dict]:
    return page.evaluate(
        f"(document.querySelector({selector!r}).data || []).map(t => ({{type: t.type || 'scatter', n: (t.x || []).length, z: (t.z || []).length}}))"
    )


def test_spiral_two_layers_trains_and_draws(new_page, artifacts):
    page = new_page()
    build_spiral(page, epochs=20)
    wait_checked(page)
    assert page.locator(".layer-list > li").count() == 2
    assert page.inner_text("#net-params").split()[0].replace(",", "").isdigit()  # parameter count shown
    page.screenshot(path=artifacts / "designer-1280.png")
    assert train_and_wait(page) == "completed"
    page.wait_for_function("document.querySelector('#chart-loss .plot').data?.[0]?.x?.length === 21")
    loss = plot_data(page, "#chart-loss .plot")
    assert [t["n"] for t in loss] == [21, 21]  # train and test, epochs 0..20
    boundary = plot_data(page, "#chart-boundary .plot")
    assert boundary[0]["type"] == "heatmap" and boundary[0]["z"] > 0
    page.wait_for_function("(document.querySelector('#chart-boundary .plot').data || []).length >= 3")  # + train and test points
    assert page.evaluate("window.nndojo.epochsSeen()") == list(range(21))
    page.screenshot(path=artifacts / "training-1280.png")
    page.locator("#chart-boundary").screenshot(path=artifacts / "boundary.png")
    page.evaluate("document.querySelector('.stage').scrollTop = 10000")
    page.screenshot(path=artifacts / "training-histograms-1280.png")


def test_rejected_spec_shows_message_beside_control(page, console, artifacts):
    console.expect_http(422, "/api/check")
    console.expect_http(422, "/api/jobs")
    units = page.locator("[data-loc='model.layers.0.units']")
    units.fill("5000")
    error = page.locator("[data-error-for='model.layers.0.units']")
    error.wait_for(state="visible")
    assert "4096" in error.inner_text()
    assert units.get_attribute("aria-invalid") == "true"
    # the message sits in the same field as the control it names
    assert units.locator("xpath=..").locator("[data-error-for='model.layers.0.units']").count() == 1
    page.click("#train-btn")
    page.locator("#run-alert").wait_for()
    assert "4096" in page.inner_text("#run-alert")
    assert page.evaluate("window.nndojo.jobId()") is None
    # a layer that cannot follow another: conv2d on 2-D points, flagged on that layer before anything is sent
    units.fill("8")
    page.select_option("#add-layer-type", "conv2d")
    page.click("#add-layer")
    n = page.locator(".layer-list > li").count() - 1
    layer_error = page.locator(f"[data-error-for='model.layers.{n}']")
    layer_error.wait_for(state="visible")
    assert "conv2d" in layer_error.inner_text()
    assert page.locator(f".layer-list > li[data-index='{n}']").get_attribute("class").split().count("invalid") == 1
    page.screenshot(path=artifacts / "rejected-1280.png")


def test_preset_loads_and_trains(page, artifacts):
    page.click("[data-preset='lenet']")
    assert page.input_value("[data-loc='dataset.name']") == "digits"
    assert page.locator(".layer-list > li").count() == 7
    wait_checked(page)
    assert page.locator("#net-params").get_attribute("data-state") == "ok"
    page.fill("[data-loc='dataset.train_limit']", "300")
    page.fill("[data-loc='training.epochs']", "2")
    assert train_and_wait(page) == "completed"
    page.wait_for_function("document.querySelector('#chart-loss .plot').data?.[0]?.x?.length === 3")
    assert page.is_visible("#chart-filters") and not page.is_visible("#chart-boundary")
    page.screenshot(path=artifacts / "preset-lenet-1280.png")
    page.locator("#chart-filters").scroll_into_view_if_needed()  # off-screen charts are drawn when they come into view
    page.wait_for_function("document.querySelectorAll('#chart-filters canvas').length === 6")  # conv2d_1's six 3x3 kernels
    assert page.locator("#chart-filters canvas").first.bounding_box()["width"] >= 48  # big enough to see from the back row
    page.screenshot(path=artifacts / "preset-lenet-filters-1280.png")
    for preset in ("spiral", "sigmoid", "relu", "overfit", "alexnet"):  # every preset's shapes pass /api/check
        page.click(f"[data-preset='{preset}']")
        wait_checked(page)
        assert page.locator("#net-params").get_attribute("data-state") == "ok", preset


def test_two_runs_overlay(page, artifacts):
    build_spiral(page, epochs=10)
    train_and_wait(page)
    first = page.evaluate("window.nndojo.jobId()")
    page.fill("[data-loc='training.optimizer.lr']", "0.3")
    train_and_wait(page)
    second = page.evaluate("window.nndojo.jobId()")
    assert first != second
    page.click("#tab-compare")
    for job in (first, second):
        page.locator(f"input[data-job='{job}']").check()
    # two runs, test and train each, epochs 0..10 (a log still being written is fetched again)
    page.wait_for_function("(document.querySelector('#compare-loss').data || []).map(t => t.x.length).join() === '11,11,11,11'")
    page.screenshot(path=artifacts / "compare-1280.png")
    # clone the first run back into the editor: its learning rate returns
    page.click(f"[data-clone='{first}']")
    assert page.is_visible("#view-play")
    assert float(page.input_value("[data-loc='training.optimizer.lr']")) == pytest.approx(0.03)


def test_language_switch_changes_labels_and_is_remembered(page, artifacts):
    assert page.inner_text("#data-title") == "Data"
    page.click("#lang-btn")
    assert page.inner_text("#data-title") == "データ"
    assert page.inner_text("#train-btn").endswith("学習開始")
    assert page.evaluate("document.documentElement.lang") == "ja"
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    assert page.inner_text("#net-title") == "ネットワーク"
    page.screenshot(path=artifacts / "japanese-1280.png")
    page.click("#lang-btn")
    assert page.inner_text("#net-title") == "Network"


def test_japanese_browser_gets_japanese(new_page, artifacts):
    page = new_page(lang="ja", viewport=(1920, 1080))
    assert page.inner_text("#learn-title") == "学習"
    page.click("#tab-race")
    page.wait_for_function("(document.querySelector('#race-plot').data || []).length >= 5")
    page.wait_for_timeout(2500)  # let the paths finish animating
    page.screenshot(path=artifacts / "race-japanese-1920.png")


HASH_HOLDS_THE_LAST_EDIT = """(() => {
  const match = /^#s=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (!match) return false;
  const b64 = match[1].replaceAll("-", "+").replaceAll("_", "/");
  const spec = JSON.parse(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)));
  return spec.training.batch_size === "full" && spec.training.optimizer.lr === 0.05;
})()"""


def test_shared_url_restores_setup(new_page):
    page = new_page()
    page.select_option("[data-loc='dataset.name']", "moons")
    page.select_option("#add-layer-type", "dropout")
    page.click("#add-layer")
    page.select_option("[data-loc='training.optimizer']", "momentum")
    page.fill("[data-loc='training.optimizer.lr']", "0.05")
    page.check("[data-key='batch-full']")
    page.wait_for_function(HASH_HOLDS_THE_LAST_EDIT)  # the hash is written 150 ms after the last edit
    url = page.evaluate("location.href")
    other = new_page(path="/" + url.split("/", 3)[3])
    assert other.input_value("[data-loc='dataset.name']") == "moons"
    assert other.locator(".layer-list > li").count() == 3
    assert other.input_value("[data-loc='model.layers.2.p']") == "0.5"
    assert other.input_value("[data-loc='training.optimizer']") == "momentum"
    assert other.input_value("[data-loc='training.optimizer.lr']") == "0.05"
    assert other.is_checked("[data-key='batch-full']")


def test_dropped_websocket_recovers_without_gaps(page):
    build_spiral(page, epochs=15)
    page.evaluate("window.nndojo.dropAtEpochs([1, 4, 9])")
    assert train_and_wait(page) == "completed"
    assert page.evaluate("window.nndojo.reconnects()") >= 3
    assert page.evaluate("window.nndojo.epochsSeen()") == list(range(16))
    page.wait_for_function("document.querySelector('#chart-loss .plot').data?.[0]?.x?.length === 16")


def test_projector_layout(new_page, artifacts):
    page = new_page(viewport=(1920, 1080))
    page.click("[data-preset='spiral']")
    page.fill("[data-loc='training.epochs']", "30")
    page.fill("[data-loc='dataset.n_samples']", "200")
    assert train_and_wait(page) == "completed"
    page.wait_for_function("document.querySelector('#chart-loss .plot').data?.[0]?.x?.length === 31")
    # nothing wider than the window: no horizontal scrolling on a projector
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=artifacts / "training-1920.png")


def test_diverged_run_says_so_and_offers_a_smaller_learning_rate(new_page, artifacts):
    spec = {
        "dataset": {"name": "reg-plane", "n_samples": 200},
        "model": {"layers": [{"type": "dense", "units": 8, "activation": "relu"}], "output": {"activation": "identity"}},
        "training": {"epochs": 30, "loss": "mse", "optimizer": {"name": "sgd", "lr": 50.0}},
    }
    encoded = base64.urlsafe_b64encode(json.dumps(spec).encode()).decode().rstrip("=")
    page = new_page(path=f"/#s={encoded}")  # a hand-made link opens too: missing fields take the catalog's defaults
    assert page.input_value("[data-loc='training.loss']") == "mse"
    assert train_and_wait(page) == "diverged"
    alert = page.locator("#run-alert")
    assert "50" in alert.inner_text() and "smaller" in alert.inner_text()
    page.wait_for_function("(document.querySelector('#chart-loss .plot').data || []).length === 2")
    page.wait_for_timeout(200)
    page.screenshot(path=artifacts / "diverged-1280.png")
    page.click("#run-alert-action")
    assert page.input_value("[data-loc='training.optimizer.lr']") == "5"
