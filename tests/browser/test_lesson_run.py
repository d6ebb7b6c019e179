"""One click runs a lesson: every variant is submitted at once as the user's jobs with the seed shared, the view draws
the variants side by side, and the verdicts the server decides on those runs appear with their numbers."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

DECIDED = """(() => { const v = [...document.querySelectorAll('.lesson-view .verdict')];
    return v.length > 0 && v.every(x => x.dataset.state !== 'pending'); })()"""


def run_lesson(page, lesson_id: str) -> list[dict]:
    page.click("#tab-lessons")
    page.click(f"[data-run-lesson='{lesson_id}']")
    page.wait_for_function(DECIDED, timeout=180_000)
    return page.evaluate(
        """[...document.querySelectorAll('.lesson-view .verdict')].map(v => ({rule: v.dataset.rule, state: v.dataset.state,
            numbers: v.querySelector('.verdict-numbers')?.textContent || ''}))"""
    )


def to_phone(page, plot: str) -> None:
    """The same view on a 390 px phone: its plots refit (Plotly follows the window) and nothing is wider than it."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function(f"document.querySelector({plot!r}).getBoundingClientRect().width < 390")
    # every plot of the view refits, each in its own resize callback: wait for the last of them, then nothing is wider
    page.wait_for_function(
        f"[...document.querySelectorAll({plot + ' .main-svg'!r})].every(svg => Number(svg.getAttribute('width')) < 390)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.evaluate("window.scrollTo(0, 0)")


def test_one_click_runs_every_variant_and_shows_the_verdicts(new_page, base_url, artifacts):
    page = new_page(viewport=(1440, 900))
    verdicts = run_lesson(page, "activations")
    assert [v["rule"] for v in verdicts] == [
        "sigmoid_std1_saturates",
        "sigmoid_std001_narrow",
        "relu_std001_shrinks",
        "relu_xavier_shrinks",
        "relu_he_keeps",
    ]
    assert all(v["state"] == "pass" for v in verdicts), verdicts
    assert all(any(c.isdigit() for c in v["numbers"]) for v in verdicts)  # each says the numbers it was decided on

    jobs = page.evaluate("window.nndojo.lessonJobs()")
    lesson = next(x for x in page.request.get(f"{base_url}/api/lessons").json()["lessons"] if x["id"] == "activations")
    assert list(jobs) == [v["id"] for v in lesson["variants"]]
    specs = {variant: page.request.get(f"{base_url}/api/jobs/{job_id}").json()["spec"] for variant, job_id in jobs.items()}
    assert len({spec["seed"] for spec in specs.values()}) == 1
    assert all(specs[v["id"]]["model"] == v["spec"]["model"] | specs[v["id"]]["model"] for v in lesson["variants"])

    # every hidden layer of every variant side by side, and the ReLU runs on one shared range: std 0.01's deeper layers
    # occupy a sliver of it where He's spread across it
    rows = page.evaluate(
        """[...document.querySelectorAll('.hist-figure')].map(f => { const p = f.querySelector('.plot'); const r = p.layout.xaxis.range;
            const hists = p.data.filter(t => t.meta !== 'zeros');
            return {variant: f.dataset.variant, layers: hists.length, range: r, spread: hists.map(t => {
                const xs = t.x.filter((x, i) => t.y[i] > 0.01); return (Math.max(...xs) - Math.min(...xs)) / (r[1] - r[0]); })}; })"""
    )
    assert [r["variant"] for r in rows] == list(jobs) and all(r["layers"] == 5 for r in rows)
    relu = {r["variant"]: r for r in rows if r["variant"].startswith("relu")}
    assert relu["relu_std001"]["range"] == relu["relu_he"]["range"]
    assert max(relu["relu_std001"]["spread"][1:]) < 0.01 and min(relu["relu_he"]["spread"]) > 0.1, (relu["relu_std001"], relu["relu_he"])
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=artifacts / "lesson-activations-en-1440.png", full_page=True)
    to_phone(page, ".hist-figure .plot")
    page.screenshot(path=artifacts / "lesson-activations-en-390.png", full_page=True)


def test_lesson_view_speaks_japanese(new_page, artifacts):
    page = new_page(lang="ja", viewport=(1440, 900))
    verdicts = run_lesson(page, "loss")
    assert [v["state"] for v in verdicts] == ["pass"]
    assert "テスト精度" in verdicts[0]["numbers"] and page.inner_text("#tab-lessons") == "レッスン"
    assert page.evaluate("document.querySelector('[data-chart=test_accuracy] .plot').data.length") == 2  # both variants overlaid
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=artifacts / "lesson-loss-ja-1440.png", full_page=True)
    to_phone(page, "[data-chart=test_accuracy] .plot")
    page.screenshot(path=artifacts / "lesson-loss-ja-390.png", full_page=True)
