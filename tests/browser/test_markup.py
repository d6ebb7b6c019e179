"""A run name is text, never markup, wherever the page shows it (personal mode): the Compare list, the Compare charts'
Plotly legends and the run bar of a run opened by link. Nothing is created from it and no dialog fires. The classroom
pages (names of students and classes too) are checked in test_classroom_page.py."""

from __future__ import annotations

import httpx
import pytest
from browser_helpers import MARKUP, MARKUP_ELEMENTS, legend_texts, tiny_spec

pytestmark = pytest.mark.browser


def test_run_name_markup_is_shown_as_text(new_page, base_url, artifacts):
    job = httpx.post(f"{base_url}/api/jobs", json=tiny_spec(MARKUP), timeout=30).json()
    page = new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    page.click("#tab-compare")
    row = page.locator(f"#runs-table tr[data-job='{job['id']}']")
    row.wait_for()
    assert row.locator(".name-text").text_content() == MARKUP
    row.locator("input[data-job]").check()
    page.wait_for_function(
        f"document.querySelector('#runs-table tr[data-job=\"{job['id']}\"] td:nth-child(3)').textContent === 'completed'"
    )
    page.wait_for_function("document.querySelectorAll('#compare-acc .legendtext').length === 1")
    assert legend_texts(page, "#compare-loss") == [f"{MARKUP} (test)"]
    assert legend_texts(page, "#compare-acc") == [MARKUP]
    assert page.evaluate(MARKUP_ELEMENTS) == 0
    # the Compare view read compact metrics, never a whole event log
    assert any(f"/api/jobs/{job['id']}/metrics" in url for url in requests)
    assert not any("/events" in url for url in requests)
    page.screenshot(path=artifacts / "markup-compare-1280.png")

    opened = new_page(path=f"/?run={job['id']}")
    opened.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    opened.wait_for_function("window.nndojo.runStatus() === 'completed'")
    assert opened.locator("#run-name").text_content() == MARKUP
    assert opened.evaluate(MARKUP_ELEMENTS) == 0
    assert dialogs == []
