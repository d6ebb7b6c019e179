"""The Playground's loss chart plots against iterations too (the book's picture): the trainer's loss every few steps
(train.loss_steps) at their step numbers, and the test loss at each epoch's last step."""

from __future__ import annotations

import pytest
from browser_helpers import train_and_wait

pytestmark = pytest.mark.browser

LOSS = "document.querySelector('#chart-loss .js-plotly-plot')"


def test_loss_against_iterations(new_page, artifacts):
    page = new_page(lang="en", viewport=(1440, 900))
    page.fill("[data-loc='training.epochs']", "5")
    assert train_and_wait(page) == "completed"
    job = page.evaluate("window.nndojo.jobId()")
    events = [e for e in page.evaluate(f"fetch('/api/jobs/{job}/events?after=-1').then(r => r.json())") if e["type"] == "epoch"]
    page.locator("#chart-loss").scroll_into_view_if_needed()
    page.wait_for_function(f"{LOSS} && {LOSS}.data && {LOSS}.data[0].x.length === {len(events)}")  # per epoch first

    page.select_option("[data-key='chart-loss-x']", "iteration")
    page.wait_for_function(f"{LOSS}.layout.xaxis.title.text === 'iteration'")
    train, test = page.evaluate(f"{LOSS}.data.map(t => ({{x: t.x, y: t.y}}))")
    steps = [loss for e in events for loss in e["train"]["loss_steps"]]
    assert train["y"] == [events[0]["train"]["loss"], *steps]  # epoch 0's loss, then every k steps'
    assert train["x"][0] == 0 and train["x"][-1] == events[-1]["step"] and train["x"] == sorted(train["x"])
    assert len(train["x"]) > 2 * len(events)  # finer than epochs: the starter's 200 points in batches of 10
    assert test["x"] == [e["step"] for e in events] and test["y"] == [e["test"]["loss"] for e in events]
    page.locator("#chart-loss").screenshot(path=artifacts / "loss-iterations-en.png")

    page.click("#lang-btn")
    page.wait_for_function(f"{LOSS}.layout.xaxis.title.text === '反復回数'")
    assert page.locator("[data-key='chart-loss-x'] option:checked").inner_text() == "反復ごと"
