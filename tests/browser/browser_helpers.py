"""What the browser tests share: a fresh browser context, and waiting for a run to end."""

from __future__ import annotations

from playwright import sync_api

FINAL = "['completed', 'failed', 'diverged', 'cancelled'].includes(window.nndojo.runStatus())"


def train_and_wait(page, timeout_ms: int = 120_000) -> str:
    """Press Train and wait for the run's final status."""
    page.click("#train-btn")
    page.wait_for_function(f"window.nndojo.jobId() !== null && {FINAL}", timeout=timeout_ms)
    return page.evaluate("window.nndojo.runStatus()")


def new_context(browser: sync_api.Browser, lang: str = "en", viewport: tuple[int, int] = (1280, 800)) -> sync_api.BrowserContext:
    """A fresh context (own cookies and storage). Playwright evaluates wait_for_function's string predicates with
    eval, which the server's Content-Security-Policy forbids, so tests bypass it; test_csp.py loads the pages under
    the policy and fails on any violation."""
    return browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, locale="ja-JP" if lang == "ja" else "en-US", bypass_csp=True
    )


MARKUP = "<img src=x onerror=alert(1)><a href=x>link</a>"

# Elements the markup would create if a page rendered it: an <img> (the page has none) or a link whose text is "link".
MARKUP_ELEMENTS = (
    "document.querySelectorAll('img').length + [...document.querySelectorAll('a')].filter(a => a.textContent === 'link').length"
)


def tiny_spec(name: str, epochs: int = 3) -> dict:
    """A run that trains in about a second: 2-4-1 on 100 circle points, full batch."""
    return {
        "name": name,
        "seed": 0,
        "device": "cpu",
        "dataset": {"name": "circle", "n_samples": 100, "noise": 0.0},
        "model": {"layers": [{"type": "dense", "units": 4, "activation": "tanh"}], "output": {"activation": "sigmoid"}},
        "training": {"epochs": epochs, "batch_size": "full", "loss": "cross_entropy", "optimizer": {"name": "adam", "lr": 0.05}},
        "probes": {"histogram_bins": 10, "boundary_resolution": 10},
    }


def legend_texts(page, selector: str) -> list[str]:
    """The Plotly legend entries of a chart, as the browser shows them (text content)."""
    return page.evaluate(f"[...document.querySelectorAll({(selector + ' .legendtext')!r})].map(e => e.textContent)")
