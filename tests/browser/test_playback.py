"""Runs you can play with: pause, step and resume a running job and change its learning rate from the run bar (each
change marked on the loss chart); a finished run's epoch scrubber moves the charts, the boundary and the diagram to an
earlier epoch, and its play button replays it; while a run streams, every visible chart shows the epoch the counter
shows. Screenshots at 1440 and 390 px, in English and Japanese, go to test-artifacts/."""

from __future__ import annotations

import json

import pytest
from browser_helpers import train_and_wait

pytestmark = pytest.mark.browser


def controls(page) -> list[str]:
    return page.evaluate("window.nndojo.controlsSeen()")


def api_events(page, job_id: str) -> list[dict]:
    return page.evaluate(f"fetch('api/jobs/{job_id}/events').then(r => r.json())")


def start_long_run(page, epochs: int = 5000) -> str:
    page.fill("[data-loc='training.epochs']", str(epochs))
    page.click("#train-btn")
    page.wait_for_function("window.nndojo.runStatus() === 'running' && window.nndojo.epochsSeen().length > 2")
    return page.evaluate("window.nndojo.jobId()")


def test_pause_step_lr_and_resume_from_the_run_bar(new_page, artifacts):
    page = new_page(viewport=(1440, 900))
    assert page.is_disabled("#pause-btn") and page.is_disabled("#step-btn"), "nothing to control before a run"
    job_id = start_long_run(page)
    assert page.is_enabled("#pause-btn") and page.is_disabled("#step-btn"), "a running job pauses; only a paused one steps"

    page.click("#pause-btn")
    page.wait_for_function("window.nndojo.runStatus() === 'paused'")
    assert page.is_enabled("#step-btn") and "Resume" in page.inner_text("#pause-btn")
    assert page.inner_text("#run-status") == "paused"

    page.click("#step-btn")
    page.wait_for_function("window.nndojo.controlsSeen().filter(a => a === 'pause').length === 2")
    events = api_events(page, job_id)
    kinds = [e.get("action") or e["type"] for e in events if e["type"] in ("control", "epoch")]
    first = kinds.index("pause")
    assert kinds[first:] == ["pause", "step", "epoch", "pause"], f"no epoch while paused, one for the step: {kinds[first:]}"

    page.fill("#live-lr", "0.005")
    page.press("#live-lr", "Enter")
    page.wait_for_function("window.nndojo.controlsSeen().includes('lr')")
    page.click("#step-btn")
    page.wait_for_function("window.nndojo.controlsSeen().filter(a => a === 'pause').length === 3")
    events = api_events(page, job_id)
    change = next(e for e in events if e.get("action") == "lr")
    assert change["value"] == 0.005
    assert [e["lr"] for e in events if e["type"] == "epoch" and e["seq"] > change["seq"]] == [0.005], "the next epoch has the new lr"
    marks = "(document.querySelector('#chart-loss .plot').layout.annotations || []).map(a => [a.x, a.text])"
    page.wait_for_function(f"{marks}.some(([x, text]) => text.includes('0.005'))")
    lines = page.evaluate("(document.querySelector('#chart-loss .plot').layout.shapes || []).map(s => s.x0)")
    paused_at = [e["epoch"] for e in events if e.get("action") == "pause"]
    assert set(lines) == {*paused_at, change["epoch"]}, "a line at each epoch where the run was changed"
    page.screenshot(path=artifacts / "playback-paused-1440-en.png")

    page.click("#pause-btn")  # resume
    page.wait_for_function("window.nndojo.runStatus() === 'running'")
    seen = len(page.evaluate("window.nndojo.epochsSeen()"))
    page.wait_for_function(f"window.nndojo.epochsSeen().length > {seen + 3}")
    assert "Pause" in page.inner_text("#pause-btn") and page.is_disabled("#step-btn")
    page.click("#stop-btn")
    page.wait_for_function("window.nndojo.runStatus() === 'cancelled'")
    assert page.is_disabled("#pause-btn") and page.is_disabled("#live-lr")


def test_a_refused_lr_is_said_in_the_page_language(new_page):
    page = new_page("ja")
    start_long_run(page)
    page.fill("#live-lr", "1000")
    page.press("#live-lr", "Enter")
    page.wait_for_selector("#run-alert")
    assert "学習率" in page.inner_text("#run-alert")
    page.click("#stop-btn")
    page.wait_for_function("window.nndojo.runStatus() === 'cancelled'")


def test_the_scrubber_moves_the_boundary_and_the_charts_to_an_earlier_epoch(new_page, artifacts):
    page = new_page(viewport=(1440, 900))
    page.fill("[data-loc='training.epochs']", "40")
    assert train_and_wait(page) == "completed"
    job_id = page.evaluate("window.nndojo.jobId()")
    page.wait_for_selector("#epoch-scrubber", state="visible")
    assert page.get_attribute("#epoch-scrubber", "max") == "40"
    boundary = "document.querySelector('#chart-boundary .plot').data[0].z"
    latest = page.evaluate(boundary)

    events = api_events(page, job_id)

    def scrub_to(epoch: int) -> None:
        page.evaluate(f"(() => {{ const s = document.querySelector('#epoch-scrubber'); s.value = '{epoch}'; s.dispatchEvent(new Event('input')); }})()")
        page.wait_for_function(f"document.querySelector('#chart-loss .plot').calcdata?.[0]?.length === {epoch + 1}")
        z = next(e for e in events if e["type"] == "epoch" and e["epoch"] == epoch)["boundary"]["z"]
        page.wait_for_function(f"JSON.stringify({boundary}) === {json.dumps(json.dumps(z, separators=(',', ':')))}")

    scrub_to(7)
    scrub_to(3)  # back: rebuilt from the start
    assert page.evaluate(boundary) != latest, "epoch 3's picture differs from the last one"
    assert "3" in page.inner_text("#run-epoch") and page.inner_text("#replay-epoch") == "epoch 3 of 40"
    assert page.get_attribute("#net-diagram", "data-epoch") == "3", "the diagram follows the scrubber"
    assert page.evaluate("document.querySelector('#chart-loss .plot').layout.xaxis.range") == [0, 40], "the whole run's axis"
    page.screenshot(path=artifacts / "playback-scrubbed-1440-en.png")
    scrub_to(9)  # forward: carried on from epoch 3's view

    page.select_option("#replay-speed", "4")
    page.click("#replay-play")
    page.wait_for_function("document.querySelector('#replay-play').textContent.includes('Play') && document.querySelector('#epoch-scrubber').value === '40'")
    page.wait_for_function("document.querySelector('#chart-loss .plot').calcdata?.[0]?.length === 41")
    assert page.evaluate(boundary) == latest, "the replay ends on the run's own last picture"


def test_every_visible_chart_shows_the_counters_epoch(new_page):
    page = new_page(viewport=(1440, 900))
    page.fill("[data-loc='training.epochs']", "300")
    page.evaluate(
        """(() => {
          window.frameChecks = {frames: 0, behind: []};
          const counter = () => Number((document.querySelector('#run-epoch').textContent.match(/\\d+/) || [NaN])[0]);
          const loop = () => {
            const shown = counter();
            const plot = document.querySelector('#chart-loss .plot');
            if (Number.isFinite(shown) && plot.calcdata) {
              window.frameChecks.frames += 1;
              const drawn = plot.calcdata[0].length - 1;
              if (drawn !== shown) window.frameChecks.behind.push([shown, drawn]);
            }
            if (!['completed', 'failed', 'cancelled', 'diverged'].includes(window.nndojo.runStatus())) requestAnimationFrame(loop);
          };
          requestAnimationFrame(loop);
        })()"""
    )
    assert train_and_wait(page) == "completed"
    checks = page.evaluate("window.frameChecks")
    assert checks["frames"] > 5, checks
    assert checks["behind"] == [], f"frames where the loss chart was not at the counter's epoch: {checks['behind'][:10]}"


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)])
def test_screenshots(new_page, artifacts, lang, width, height):
    page = new_page(lang, viewport=(width, height))
    start_long_run(page)
    page.click("#pause-btn")
    page.wait_for_function("window.nndojo.runStatus() === 'paused'")
    page.locator("#run-panel").screenshot(path=artifacts / f"playback-runbar-paused-{width}-{lang}.png")
    page.click("#stop-btn")
    page.wait_for_function("window.nndojo.runStatus() === 'cancelled'")
    page.wait_for_selector("#epoch-scrubber", state="visible")
    page.screenshot(path=artifacts / f"playback-stopped-{width}-{lang}.png", full_page=False)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the run bar's new controls make the page {overflow} px wider than the window"
