"""What the browser tests share: waiting for a run to end."""

from __future__ import annotations

FINAL = "['completed', 'failed', 'diverged', 'cancelled'].includes(window.nndojo.runStatus())"


def train_and_wait(page, timeout_ms: int = 120_000) -> str:
    """Press Train and wait for the run's final status."""
    page.click("#train-btn")
    page.wait_for_function(f"window.nndojo.jobId() !== null && {FINAL}", timeout=timeout_ms)
    return page.evaluate("window.nndojo.runStatus()")
