"""The device flow end to end (RFC 8628, SPEC §15): a real ``wtp-oauth serve`` with two workers,
a command-line client polling it from a subprocess, and a person in Chromium who signs in from
the ``verification_uri_complete`` link, types the code and allows the device.

The server is told to ask for a 1-second polling interval (``WTP_DEVICE_POLL_INTERVAL``, meant
for development and tests) so that the client's honest polling takes seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, REQUIRE_BROWSER, SCREENSHOTS, Tab
from tests.conftest import LiveServer
from tests.device_helpers import enable_device_grant_at
from tests.helpers import PASSWORD, unique

CLI = Path(__file__).with_name("device_cli.py")


@pytest.fixture
def device_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(database_url, env={"WTP_DEVICE_POLL_INTERVAL": "1"}).start(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def _account(http: httpx.Client) -> str:
    name = unique("tv")
    r = http.post(
        "/api/users", json={"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    )
    assert r.status_code == 201, r.text
    return name


def test_a_cli_signs_in_through_a_browser(device_server: LiveServer, database_url: str) -> None:
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM}"
        if REQUIRE_BROWSER:
            pytest.fail(message + " (WTP_TEST_REQUIRE_BROWSER=1)")
        pytest.skip(message)
    base = device_server.url
    with httpx.Client(base_url=base, timeout=30) as developer:
        developer_name = _account(developer)
        r = developer.post("/api/session", json={"username": developer_name, "password": PASSWORD})
        assert r.status_code == 204
        r = developer.post(
            "/api/applications",
            json={
                "name": "Party CLI",
                "redirect_uris": ["http://127.0.0.1/callback"],
                "client_type": "public",
            },
        )
        assert r.status_code == 201, r.text
        client_id = r.json()["client_id"]
        username = _account(developer)
    asyncio.run(enable_device_grant_at(database_url, client_id))

    cli = subprocess.Popen(
        [sys.executable, str(CLI), base, client_id],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert cli.stdout is not None
        shown = json.loads(cli.stdout.readline())
        assert shown["verification_uri"] == f"{base}/device" and shown["interval"] == 1

        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                tab = Tab(chromium, device_server, SCREENSHOTS / "test_device_live", "device")
                page = tab.page
                # The link a phone would open from a QR code: sign in first, then back.
                page.goto(shown["verification_uri_complete"])
                page.wait_for_url("**/login?next=*")
                page.get_by_label("Username").fill(username)
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url("**/device?user_code=*")
                field = page.get_by_label("Code")
                expect(field).to_have_value(shown["user_code"])
                tab.check("entry")
                # Typed as a person might: lower case, a space instead of the dash.
                field.fill(shown["user_code"].lower().replace("-", " "))
                page.get_by_role("button", name="Continue").click()
                expect(page.get_by_role("heading", level=1)).to_have_text(
                    "Allow Party CLI on your device?"
                )
                expect(page.locator("[data-user-code]")).to_have_text(shown["user_code"])
                tab.check("consent")
                page.get_by_role("button", name="Allow").click()
                expect(page.get_by_role("heading", level=1)).to_have_text(
                    "You can return to your device."
                )
                tab.check("done")
                assert tab.foreign_requests() == []
                tab.close()
            finally:
                chromium.close()

        out, err = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    assert cli.returncode == 0, (out, err)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["me"]["username"] == username
    assert result["tokens"]["scope"] == "user.read"
    assert result["tokens"]["access_token"].startswith("wtpa_")
    # It polled while the person signed in, never too fast.
    assert "authorization_pending" in result["polls"]
    assert "slow_down" not in result["polls"]
    # SPEC §16: neither code appears in the server's log.
    log = device_server.log()
    assert result["device_code"] not in log
    assert shown["user_code"] not in log and shown["user_code"].replace("-", "") not in log
