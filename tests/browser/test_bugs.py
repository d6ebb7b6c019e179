"""Issue 10's bug list, each as the page shows it: stale charts, blank scroll, the language switch, the race's errors,
presets and divergence marks, fixed legend keys, axis labels, Train's Tab stop and shortcut, the layer pickers' names,
and charts that survive a throwing update or a huge array."""

from __future__ import annotations

import re

import pytest
from browser_helpers import FINAL, legend_texts
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

FIRST_EPOCHS = 3


def small_run(page) -> None:
    """Three epochs of the starter setup, started with the keyboard shortcut from a form field."""
    page.fill("[data-loc='training.epochs']", str(FIRST_EPOCHS))
    page.focus("[data-loc='training.epochs']")
    page.keyboard.press("Control+Enter")
    page.wait_for_function(f"window.nndojo.jobId() !== null && {FINAL}", timeout=120_000)
    page.wait_for_function(f"document.querySelector('#chart-loss .plot').data?.[0]?.x?.length === {FIRST_EPOCHS + 1}")


def test_train_is_an_early_tab_stop_with_a_shortcut_and_old_charts_are_marked_previous(page, console, artifacts):
    console.expect_http(422, "/api/check")
    console.expect_http(422, "/api/jobs")
    page.locator("body").focus()
    stops = []
    for _ in range(5):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
        if stops[-1] == "train-btn":
            break
    assert stops[-1] == "train-btn", stops
    train = page.locator("#train-btn")
    assert "Ctrl+Enter" in train.get_attribute("title") and train.get_attribute("aria-keyshortcuts") == "Control+Enter"

    small_run(page)
    assert page.locator("#run-stale").count() == 0 and page.get_attribute("#view-play", "data-stale") is None
    loss = page.evaluate("document.querySelector('#chart-loss .plot').layout.yaxis.title.text")
    assert loss.startswith("loss (") and "Cross-entropy" in loss
    assert page.evaluate("document.querySelector('#chart-accuracy .plot').layout.yaxis.title.text") == "accuracy"
    page.wait_for_function("(document.querySelector('#chart-boundary .plot').data || []).length > 3")
    assert legend_texts(page, "#chart-boundary") == ["train", "test", "class 0", "class 1"]

    # The run opened from its link is this setup's run, not a previous one (the server's spec orders its keys otherwise).
    shared = page.context.new_page()
    shared.goto(page.evaluate("window.nndojo.shareLink()"))
    shared.wait_for_selector("body[data-ready='true']")  # window.nndojo exists once the page's modules have run
    shared.wait_for_function(f"window.nndojo.jobId() !== null && {FINAL}")
    shared.wait_for_function(f"document.querySelector('#chart-loss .plot').data?.[0]?.x?.length === {FIRST_EPOCHS + 1}")
    assert shared.locator("#run-stale").count() == 0
    shared.close()

    # The dataset changes: the charts and numbers on screen are the previous run's, and say so.
    page.select_option("[data-loc='dataset.name']", "xor")
    expect(page.locator("#run-stale")).to_contain_text("Previous run")
    assert page.get_attribute("#view-play", "data-stale") == ""
    assert page.evaluate("getComputedStyle(document.querySelector('#charts')).opacity") == "0.5"
    page.screenshot(path=artifacts / "previous-run-1440.png")
    # A refused setup keeps saying so beside the refusal (status "ready", old charts).
    page.fill("[data-loc='model.layers.0.units']", "5000")
    page.click("#train-btn")
    expect(page.locator("#run-alert")).to_contain_text("4096")
    expect(page.locator("#run-stale")).to_be_visible()
    expect(page.locator("#run-status")).to_have_attribute("data-status", "idle")


def test_the_window_does_not_scroll_into_blank_space(new_page):
    """The Playground fits the window (its panels scroll inside); Compare and the race scroll only as far as they go."""
    page = new_page(viewport=(1440, 900))
    page.mouse.wheel(0, 3000)
    assert page.evaluate("[document.scrollingElement.scrollHeight, scrollY]") == [900, 0]
    for view in ("compare", "race"):
        page.click(f"#tab-{view}")
        size = page.evaluate(
            f"""[document.scrollingElement.scrollHeight, Math.max(innerHeight, 32 + scrollY +
            Math.max(...[...document.getElementById('view-{view}').children].map(c => c.getBoundingClientRect().bottom)))]"""
        )
        assert size[0] <= size[1], (view, size)


ENGLISH_LEFT = """async () => {
  const { LANGS } = await import('/static/src/i18n.js');
  // English texts that Japanese says otherwise (not names both use, such as Momentum).
  const japanese = new Set(Object.keys(LANGS.en).map((k) => LANGS.ja[k] ?? LANGS.en[k]));
  const english = new Set(Object.entries(LANGS.en).filter(([k, v]) => !v.includes('{') && !japanese.has(v) && /[a-z]{3}/.test(v)).map(([, v]) => v.trim()));
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    const text = node.textContent.replace(/^[▶■\\s]+/, '').trim();
    if (text && english.has(text) && el.checkVisibility()) found.push(text);
  }
  for (const el of document.querySelectorAll('[aria-label], [title]')) {
    for (const text of [el.getAttribute('aria-label'), el.getAttribute('title')]) if (text && english.has(text.trim())) found.push(text);
  }
  return found;
}"""


def test_a_language_switch_says_every_text_again(page):
    page.click("#lang-btn")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    for view in ("play", "compare", "race", "lessons"):
        page.click(f"#tab-{view}")
        if view == "race":
            page.wait_for_function("(document.querySelector('#race-plot').data || []).length > 1")
        assert page.evaluate(ENGLISH_LEFT) == [], view
    page.click("#tab-play")
    expect(page.locator("#chart-loss .empty-note")).to_have_text("「学習開始」を押すと、学習に合わせてこのグラフが描かれます。")
    # Switched back from another view: the plots redrawn while hidden fit their boxes when shown.
    page.click("#tab-race")
    page.click("#lang-btn")
    page.wait_for_function("document.querySelector('#data-preview .legendtext')?.textContent === 'train'")  # redrawn, hidden
    page.click("#tab-play")
    page.wait_for_function(
        "document.querySelector('#data-preview .main-svg').getBoundingClientRect().width <= "
        "document.querySelector('#data-preview').getBoundingClientRect().width"
    )


def race_names(page) -> list[str]:
    return page.evaluate("(document.querySelector('#race-plot').data || []).map(t => t.name || '')")


def test_race_errors_name_the_field_in_japanese_and_clear_the_old_plot(new_page, console):
    console.expect_http(422, "/api/optimizer-race")
    page = new_page(lang="ja")
    page.click("#tab-race")
    page.wait_for_function("(document.querySelector('#race-plot').data || []).length > 1")
    page.fill("[data-key='race-steps']", "5000")
    page.fill("[data-key='race-lr-adam']", "-1")
    page.click("#race-run")
    error = page.locator("#race-error")
    expect(error).to_contain_text("ステップ数: 1000 以下にしてください")
    expect(error).to_contain_text("Adam の学習率: 0 より大きくしてください")
    assert "Input should" not in error.inner_text()
    assert page.get_attribute("[data-key='race-steps']", "aria-invalid") == "true"
    assert page.get_attribute("[data-key='race-lr-adam']", "aria-invalid") == "true"
    assert page.evaluate("(document.querySelector('#race-plot').data || []).length") == 0
    expect(page.locator("#race-empty")).to_be_visible()


def test_race_presets_suit_each_function_and_mark_only_real_divergence(new_page):
    page = new_page()
    page.emulate_media(reduced_motion="reduce")  # the whole path at once
    page.click("#tab-race")
    page.wait_for_function("(document.querySelector('#race-plot').data || []).length > 1")
    page.select_option("[data-key='race-fn']", "saddle")
    page.wait_for_function("(document.querySelector('#race-plot').data || []).some(t => (t.name || '').includes('saddle point'))")
    names = race_names(page)
    assert not any("✕" in n for n in names), names  # leaving the saddle downhill is the right answer
    assert any("left the map downhill" in n for n in names), names
    page.select_option("[data-key='race-fn']", "rosenbrock")
    page.wait_for_function("(document.querySelector('#race-plot').data || []).some(t => (t.name || '') === 'minimum')")
    assert page.input_value("[data-key='race-lr-sgd']") == "0.001" and page.input_value("[data-key='race-steps']") == "300"
    names = race_names(page)
    assert not any("✕" in n or "left the map" in n for n in names), names  # none blows up on first view
    page.fill("[data-key='race-lr-sgd']", "0.95")  # the bowl's rate: too large here
    page.click("#race-run")
    page.wait_for_function("(document.querySelector('#race-plot').data || []).some(t => (t.name || '').startsWith('SGD (η=0.95)'))")
    sgd = next(n for n in race_names(page) if n.startswith("SGD"))
    assert "✕ left the map: η too large" in sgd


def test_legend_keys_are_fixed_and_name_each_class(page):
    """The data preview's key: train, test and each class with a fixed colour, whatever the first point's class."""
    keys = []
    for dataset in ("circle", "xor"):
        page.select_option("[data-loc='dataset.name']", dataset)
        page.wait_for_function(f"document.querySelector('#data-panel .panel-extra')?.textContent === {dataset!r}")
        page.wait_for_function("(document.querySelector('#data-preview .preview-plot')?.data || []).length === 6")
        traces = page.evaluate(
            "document.querySelector('#data-preview .preview-plot').data.map(t => [t.name, t.showlegend !== false, "
            "typeof t.marker.color === 'string' ? t.marker.color : 'per-point'])"
        )
        points = [t for t in traces if not t[1]]
        assert len(points) == 2 and all(t[2] in ("per-point", "rgba(0,0,0,0)") for t in points)
        keys.append([t for t in traces if t[1]])
    assert keys[0] == keys[1]
    assert [k[0] for k in keys[0]] == ["train", "test", "class 0", "class 1"]
    assert keys[0][2][2] == "#f59322" and keys[0][3][2] == "#0877bd"  # the boundary's orange (0) and blue (1)


def test_each_layer_picker_has_its_own_name(page):
    names = page.evaluate("[...document.querySelectorAll('#charts select')].map(s => s.getAttribute('aria-label'))")
    assert len(set(names)) == len(names) and all(names), names  # every menu of the charts named, and told apart
    pickers = page.evaluate("[...document.querySelectorAll('#charts select[data-key$=\"-layer\"]')].map(s => s.getAttribute('aria-label'))")
    assert len(pickers) >= 4 and all(re.match(r"Layer shown in “.+”", n) for n in pickers), pickers


EXTENT = """async () => {
  const { extent } = await import('/static/src/charts/plot.js');
  const { decadeAxis } = await import('/static/src/charts/gradients.js');
  const { boundaryChart } = await import('/static/src/charts/boundary.js');
  const n = 300000;
  const big = Float64Array.from({ length: n }, (_, i) => (i + 1) / n);
  const card = boundaryChart();
  document.body.append(card.el);
  const run = { kind: 'toy2d', task: 'regression', nClasses: 1, revision: 1, latestEpoch: 1, boundaryEpoch: 1,
                boundary: { x: Array.from({ length: n }, (_, i) => i), y: [0, 1], z: [Array.from(big), Array.from(big)] } };
  card.applies(run);
  card.update(run);
  const drawn = card.plot.layout.xaxis.range;
  card.el.remove();
  return { extent: extent(big), decade: decadeAxis(Array.from(big)).range, drawn };
}"""


def test_charts_take_arrays_of_any_length(page):
    out = page.evaluate(EXTENT)
    assert out["extent"] == [pytest.approx(1 / 300000), 1]
    assert out["decade"] == [-6, 0]
    assert out["drawn"] == [0, 299999]


def test_one_throwing_chart_leaves_the_others_drawing(page, console):
    page.evaluate(
        """async () => {
      const { chartCards } = await import('/static/src/charts/dashboard.js');
      chartCards().find(c => c.id === 'chart-loss').update = () => { throw new RangeError('Maximum call stack size exceeded'); };
    }"""
    )
    page.fill("[data-loc='training.epochs']", "3")
    page.click("#train-btn")
    page.wait_for_function(f"window.nndojo.jobId() !== null && {FINAL}", timeout=120_000)
    page.wait_for_function("document.querySelector('#chart-accuracy .plot').data?.[0]?.x?.length === 4")
    page.wait_for_function("(document.querySelector('#chart-boundary .plot').data || []).length > 3")
    expect(page.locator("#chart-loss .empty-note")).to_have_text("This chart could not be drawn; the others go on.")
    assert not console, console
