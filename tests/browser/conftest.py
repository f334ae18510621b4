"""Browser tests: Playwright's sync API driving Debian's Chromium against a live server.

Skipped when Chromium is missing, unless ``WTP_TEST_REQUIRE_BROWSER=1`` (as in CI), where that
fails. Every page a test shows is checked the same way (``Tab.check``): no horizontal scrolling
at 375 and 1280 pixels, no script errors, no console errors (a CSP refusal is one), and a
full-page screenshot of each width under ``test-artifacts/screenshots/`` (git-ignored). At the
end of each test no request may have gone to another origin, except the navigations to the
test's own callback server.

Playwright's sync API runs its own event loop while a browser is open, so the browser lives
only inside a test (function scope) and the tests here are plain functions.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)
from playwright.sync_api import Request as BrowserRequest

from tests.conftest import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("WTP_TEST_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]
VIEWPORTS = (375, 1280)
# Generous waits: the machine may be busy (argon2 hashing, two server workers, other tests).
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


class Tab:
    """One browser context and page on the live server, checking every page it shows."""

    def __init__(
        self, browser: Browser, server: LiveServer, shots: Path, name: str, **options: object
    ) -> None:
        self.base = server.url
        self.shots = shots
        self.name = name
        self.context: BrowserContext = browser.new_context(
            base_url=server.url, viewport={"width": 1280, "height": 900}, **options
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page: Page = self.context.new_page()
        self.requests: list[BrowserRequest] = []
        self.problems: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request))
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self._count = 0

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error" or not self.page.url.startswith(self.base):
            return
        if message.location.get("url") == self.page.url and message.text.startswith(
            "Failed to load resource: the server responded with a status of 4"
        ):
            return  # the page itself is an error page (422, 404, …): expected
        self.problems.append(f"console error on {self.page.url}: {message.text}")

    def check(self, label: str) -> None:
        """The page fits 375 and 1280 pixels without horizontal scrolling; screenshot both."""
        assert self.page.url.startswith(self.base), f"{label}: left the site for {self.page.url}"
        self._count += 1
        for width in VIEWPORTS:
            self.page.set_viewport_size({"width": width, "height": 800})
            scroll_width = self.page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= width, f"{label}: {scroll_width}px of content at {width}px"
            self.shot(f"{label}-{width}")
        self.page.set_viewport_size({"width": 1280, "height": 900})
        assert not self.problems, "\n".join(self.problems)

    def shot(self, label: str) -> None:
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{self.name}-{self._count:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)

    def foreign_requests(self, callback: str = "") -> list[str]:
        """Requests our pages made to another origin.

        The browser may go to ``callback`` (the test's client app), and what that page loads
        from its own origin is its business.
        """
        return [
            f"{request.method} {request.url}"
            for request in self.requests
            if not request.url.startswith(self.base + "/")
            and not (
                callback
                and request.url.startswith(callback + "/")
                and (request.is_navigation_request() or request.frame.url.startswith(callback))
            )
        ]

    def close(self) -> None:
        assert not self.problems, "\n".join(self.problems)
        self.context.close()


@pytest.fixture
def browser(live_server: LiveServer) -> Iterator[Browser]:
    """Chromium, after the live server is up (its fixtures use asyncio; Playwright's loop
    must not be running then)."""
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM}"
        if REQUIRE_BROWSER:
            pytest.fail(message + " (WTP_TEST_REQUIRE_BROWSER=1)")
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """This test's screenshot folder, e.g. ``test-artifacts/screenshots/test_x-sqlite``."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    return SCREENSHOTS / name
