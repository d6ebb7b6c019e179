"""Playwright fixtures for the page: Debian's Chromium (never `playwright install`), a fresh context per test, and a
collector that fails the test on any console error or uncaught page error."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = os.environ.get("NNDOJO_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not shutil.which(CHROMIUM) and not Path(CHROMIUM).is_file():
    pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's chromium package", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")

from browser_helpers import new_context  # noqa: E402  (after the skips: it imports playwright)


@pytest.fixture(scope="session")
def base_url(request: pytest.FixtureRequest) -> str:
    """The server under test: the live_server fixture, or an already running one named by NNDOJO_TEST_URL."""
    url = os.environ.get("NNDOJO_TEST_URL")
    return url.rstrip("/") if url else request.getfixturevalue("live_server").rstrip("/")


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    """One Chromium per test module: Playwright's sync API runs an event loop in this thread while it is open, and
    a session-wide one broke every later test that calls asyncio.run()."""
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


class ConsoleProblems(list):
    """Console errors and page errors seen during one test.

    Chromium logs every HTTP error response as a console error; a test that provokes one on purpose (a 422 for a
    rejected spec) declares it with expect_http(422, "/api/check"), and only those exact responses are let through.
    """

    def __init__(self) -> None:
        super().__init__()
        self.expected: list[tuple[int, str]] = []

    def expect_http(self, status: int, path: str) -> None:
        self.expected.append((status, path))

    def _console(self, msg) -> None:
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "")
        if any(f"status of {status}" in msg.text and path in url for status, path in self.expected):
            return
        self.append(f"console.error: {msg.text} ({url})")

    def watch(self, page: sync_api.Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda err: self.append(f"pageerror: {err}"))


@pytest.fixture
def console() -> ConsoleProblems:
    return ConsoleProblems()


@pytest.fixture
def new_page(browser: sync_api.Browser, base_url: str, console: ConsoleProblems) -> Iterator:
    """new_page(lang="en", viewport=(1280, 800), path="/") -> a loaded page in a fresh context (own localStorage)."""
    contexts = []

    def open_page(lang: str = "en", viewport: tuple[int, int] = (1280, 800), path: str = "/") -> sync_api.Page:
        context = new_context(browser, lang, viewport)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        console.watch(page)
        page.goto(base_url + path)
        page.wait_for_selector("body[data-ready='true']")
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not console, "console or page errors:\n" + "\n".join(console)


@pytest.fixture
def page(new_page) -> sync_api.Page:
    return new_page()
