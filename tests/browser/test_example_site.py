"""The example third-party site (examples/guide_site/) against a real server, in Chromium.

The site runs as its README says (its own process, the guide's ``requests`` snippet for the
code exchange); the browser goes from the site's "Sign in with Wants to Party" link through
sign-in and consent on this server and back to the site, which shows who signed in. A callback
whose ``state`` is not the site's own is refused.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Tab
from tests.conftest import LiveServer, _free_port
from tests.helpers import PASSWORD, unique

SITE = Path(__file__).resolve().parents[2] / "examples" / "guide_site" / "app.py"


def _register(server: LiveServer, redirect_uri: str) -> tuple[str, str]:
    """A developer account and a confidential application; its client_id and secret."""
    with httpx.Client(base_url=server.url) as http:
        name = unique()
        account = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
        assert http.post("/api/users", json=account).status_code == 201
        signed_in = http.post("/api/session", json={"username": name, "password": PASSWORD})
        assert signed_in.status_code == 204
        r = http.post(
            "/api/applications",
            json={"name": "Party Planner", "redirect_uris": [redirect_uri]},
        )
        assert r.status_code == 201, r.text
        return r.json()["client_id"], r.json()["client_secret"]


@pytest.fixture
def site(live_server: LiveServer, tmp_path: Path) -> Iterator[str]:
    """The example site, started with the command its README gives."""
    port = _free_port()
    client_id, secret = _register(live_server, f"http://127.0.0.1:{port}/callback")
    log = (tmp_path / "site.log").open("wb")
    command = [sys.executable, str(SITE), "--server", live_server.url]
    command += ["--client-id", client_id, "--client-secret", secret, "--port", str(port)]
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("WTP_")},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, (tmp_path / "site.log").read_text()
            try:
                if httpx.get(base + "/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the example site did not start"
            time.sleep(0.1)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
        log.close()


def test_a_user_signs_in_to_the_example_site(
    live_server: LiveServer, browser: Browser, site: str, shots: Path
) -> None:
    user = unique()
    with httpx.Client(base_url=live_server.url) as http:
        account = {"username": user, "email": f"{user}@example.com", "password": PASSWORD}
        assert http.post("/api/users", json=account).status_code == 201
    tab = Tab(browser, live_server, shots, "example-site")
    page = tab.page
    try:
        page.goto(site + "/")
        tab.shot("site-home")
        page.get_by_role("link", name="Sign in with Wants to Party").click()
        assert page.url.startswith(f"{live_server.url}/login?next=")
        page.get_by_label("Username").fill(user)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Party Planner")
        tab.check("example-consent")
        page.get_by_role("button", name="Allow").click()
        page.wait_for_url(f"{site}/callback?*")
        expect(page.get_by_role("heading", level=1)).to_have_text("Signed in")
        expect(page.locator("#username")).to_have_text(f"@{user}")
        tab.shot("site-signed-in")
        assert not tab.foreign_requests(site)
    finally:
        tab.close()


def test_the_example_site_refuses_a_callback_with_a_foreign_state(site: str) -> None:
    with httpx.Client(base_url=site) as http:
        assert http.get("/").status_code == 200  # the site's state cookie is now set
        forged = http.get("/callback", params={"code": "x", "state": secrets.token_urlsafe(16)})
        assert forged.status_code == 400
        assert "state does not match" in forged.text
        assert http.get("/callback", params={"code": "x"}).status_code == 400
