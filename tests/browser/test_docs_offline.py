"""/docs and /redoc work with no internet: every request to a host other than the server is aborted, and the pages
still render the API's operations, with no console error (a CSP violation by an inline script would be one)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
# ReDoc always draws its "API docs by Redocly" footer with a logo from its CDN; the page's CSP (own origin only) stops
# that request before it starts, and Chromium reports it: the one console error these pages may have.
REDOC_LOGO = "Loading the image 'https://cdn.redoc.ly/redoc/logo-mini.svg' violates the following Content Security Policy"


@pytest.fixture
def offline_page(browser, console) -> Iterator:
    """A page in a fresh context whose requests to anything but loopback are aborted (and remembered)."""
    context = browser.new_context()
    blocked: list[str] = []

    def route(r) -> None:
        if urlsplit(r.request.url).hostname in LOOPBACK:
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.set_default_timeout(30_000)
    console.watch(page)
    page.blocked = blocked
    yield page
    context.close()
    problems = [line for line in console if REDOC_LOGO not in line]
    assert not problems, "console or page errors:\n" + "\n".join(problems)


def operation_count(base_url: str, page) -> int:
    spec = page.request.get(f"{base_url}/openapi.json").json()
    return sum(1 for methods in spec["paths"].values() for method in methods if method in ("get", "post", "put", "patch", "delete"))


def test_swagger_ui_renders_every_operation_offline(offline_page, base_url: str) -> None:
    offline_page.goto(f"{base_url}/docs")
    offline_page.wait_for_selector(".opblock")
    expected = operation_count(base_url, offline_page)
    assert offline_page.locator(".opblock").count() == expected > 10
    assert offline_page.locator(".opblock-summary-path", has_text="/api/health").count() == 1
    assert offline_page.blocked == []  # nothing even tried to leave the machine


def test_redoc_renders_the_operations_offline(offline_page, base_url: str) -> None:
    offline_page.goto(f"{base_url}/redoc")
    offline_page.wait_for_selector("[data-section-id^='operation/']", state="attached")
    assert offline_page.locator("[data-section-id^='operation/']").count() == operation_count(base_url, offline_page)
    assert offline_page.blocked == []
