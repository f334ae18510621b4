"""The review's browser findings, in real Chromium against a real server (SPEC §17).

- A page on another port of the same host is the same *site*: its form POST carries the
  owner's SameSite=Lax cookie. It must not rotate the application's secret.
- A mistyped address shows the site's own page, not ``{"detail":"Not Found"}``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Tab
from tests.conftest import LiveServer
from tests.helpers import PASSWORD, unique


class SameSitePage:
    """``http://127.0.0.1:<another port>/``: a page that submits a form to ``action`` at once."""

    def __init__(self, action: str) -> None:
        body = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Win a prize"
            f"</title></head><body><form method='post' action='{action}'>"
            "<input type='hidden' name='x' value='1'></form>"
            "<script>document.forms[0].submit()</script></body></html>"
        ).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def tab(browser: Browser, live_server: LiveServer, shots: Path) -> Iterator[Tab]:
    tab = Tab(browser, live_server, shots, "hardening")
    try:
        yield tab
    finally:
        tab.close()


def _secret_works(server: LiveServer, client_id: str, secret: str) -> bool:
    """RFC 7662 §2.1: introspection authenticates the client; 200 only with its secret."""
    r = httpx.post(
        f"{server.url}/api/oauth/introspect", data={"token": "x"}, auth=(client_id, secret)
    )
    return r.status_code == 200


def test_a_same_site_page_cannot_rotate_the_secret(tab: Tab, live_server: LiveServer) -> None:
    # The developer signs in and registers an application in this browser.
    api = tab.context.request
    username = unique("dev")
    account = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    assert api.post("/api/users", data=account).status == 201
    assert api.post("/api/session", data={"username": username, "password": PASSWORD}).ok
    created = api.post(
        "/api/applications",
        data={"name": "Party Planner", "redirect_uris": ["https://client.example/cb"]},
    )
    assert created.status == 201
    client_id, secret = created.json()["client_id"], created.json()["client_secret"]

    # Then visits a page on another port of the same host, which posts the rotation form.
    attacker = SameSitePage(f"{live_server.url}/api/applications/{client_id}/secret")
    try:
        with tab.page.expect_response(f"**/api/applications/{client_id}/secret") as answer:
            tab.page.goto(attacker.url)
        response = answer.value
        # 403, not 401: the browser did send the owner's cookie (SameSite=Lax, same site).
        assert response.status == 403, response.text()
        assert response.json()["detail"].startswith("Cross-site request refused")
    finally:
        attacker.close()
    assert _secret_works(live_server, client_id, secret)
    assert created.headers.get("cache-control") == "no-store"  # it showed the secret


def test_a_mistyped_address_is_the_sites_page(tab: Tab) -> None:
    response = tab.page.goto("/developer")
    assert response is not None and response.status == 404
    expect(tab.page).to_have_title("Page not found · Wants to Party")
    expect(tab.page.get_by_role("heading", name="Page not found")).to_be_visible()
    assert "detail" not in tab.page.content()
    tab.check("404")
