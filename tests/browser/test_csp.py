"""The pages under the server's Content-Security-Policy (the other browser tests bypass it to use Playwright's
wait_for_function, which evaluates strings): no violation, nor any other console error, while they boot, train and
compare."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_pages_run_under_the_policy(browser, base_url, console):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        console.watch(page)
        page.goto(base_url + "/")
        page.wait_for_selector("body[data-ready='true']")
        page.fill("[data-loc='training.epochs']", "2")
        page.click("#train-btn")
        page.wait_for_selector("#run-status[data-status='completed']", timeout=60_000)
        page.click("#tab-compare")
        page.locator("#runs-table input[data-job]").first.check()
        page.wait_for_selector("#compare-loss .legendtext")
        page.goto(base_url + "/teacher")
        page.wait_for_selector("body[data-ready='true']")
    finally:
        context.close()
    assert not console, "console or page errors:\n" + "\n".join(console)
