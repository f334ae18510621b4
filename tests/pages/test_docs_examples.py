"""Every example in the documentation runs, as printed, against a real server.

The docs pages mark each runnable example with ``data-example``. This test reads them from the
pages (so they use the server's own issuer), fills in the placeholders (``CLIENT_ID``,
``CODE_FROM_URL``, …) and runs them: Python examples with httpx standing in for requests (same
calls), curl examples through bash with the real curl. An example added to the docs but not run
here fails the last assertion.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import shutil
import subprocess
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import LiveServer
from tests.device_helpers import enable_device_grant_at
from tests.helpers import PASSWORD, hidden, unique

REDIRECT_URI = "https://example.com/callback"  # the address the examples use
_EXAMPLE = re.compile(r'<code data-example="([a-z0-9-]+)">(.*?)</code>', re.S)
# Shown, not run: the callback is where the browser lands, not a request anyone sends.
NOT_RUNNABLE = {"callback"}


def _examples(http: httpx.Client, path: str) -> dict[str, str]:
    page = http.get(path)
    assert page.status_code == 200
    return {name: html.unescape(body) for name, body in _EXAMPLE.findall(page.text)}


def _fill(example: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        example = example.replace(placeholder, value)
    return example


def _python(
    example: str, values: dict[str, str], namespace: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run a Python example (in ``namespace``, for one that continues another); its global
    names afterwards."""
    code = _fill(example, values)
    assert "import requests" in code or "requests." not in code
    namespace = {} if namespace is None else namespace
    exec(
        compile(code.replace("import requests", "import httpx as requests"), "<docs>", "exec"),
        namespace,
    )
    return namespace


def _curl(example: str, values: dict[str, str]) -> Any:
    """Run a curl example in bash; its JSON output (None when it prints nothing)."""
    script = 'curl() { command curl -sS --fail-with-body "$@"; }\n' + _fill(example, values)
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, f"{example}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout) if done.stdout.strip() else None


def _account(http: httpx.Client) -> tuple[str, str]:
    """Create an account and sign ``http`` in; its username and id."""
    name = unique("doc")
    r = http.post(
        "/api/users", json={"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    )
    assert r.status_code == 201, r.text
    assert (
        http.post("/api/session", json={"username": name, "password": PASSWORD}).status_code == 204
    )
    return name, r.json()["id"]


def _follow(browser: httpx.Client, link: str) -> dict[str, str]:
    """Open a sign-in link as the signed-in user, allow if asked; the callback's query."""
    r = browser.get(link)
    if r.status_code == 200:
        r = browser.post(
            "/oauth/authorize",
            data={
                "request_id": hidden(r.text, "request_id"),
                "csrf_token": hidden(r.text, "csrf_token"),
                "decision": "allow",
            },
        )
    assert r.status_code in (302, 303), r.text
    location = r.headers["location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _allow_device(browser: httpx.Client, user_code: str) -> None:
    """As the signed-in user: type the device's code at /device and allow it."""
    page = browser.get("/device")
    consent = browser.post(
        "/device", data={"user_code": user_code, "csrf_token": hidden(page.text, "csrf_token")}
    )
    assert consent.status_code == 200, consent.text
    done = browser.post(
        "/device/consent",
        data={
            "user_code": hidden(consent.text, "user_code"),
            "consent_token": hidden(consent.text, "consent_token"),
            "decision": "allow",
        },
    )
    assert "You can return to your device." in done.text


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_every_docs_example_works(live_server: LiveServer, database_url: str) -> None:
    base = live_server.url
    ran: set[str] = set()
    with (
        httpx.Client(base_url=base, timeout=30) as developer,
        httpx.Client(base_url=base, timeout=30) as browser,
    ):
        oauth = _examples(developer, "/developers/docs/oauth")
        user_docs = _examples(developer, "/developers/docs/user")
        everything = {**oauth, **user_docs}
        assert all(base in body for name, body in everything.items() if name != "callback")

        _account(developer)
        apps: dict[str, dict[str, Any]] = {}
        for kind in ("confidential", "public"):
            r = developer.post(
                "/api/applications",
                json={"name": f"Docs {kind}", "redirect_uris": [REDIRECT_URI], "client_type": kind},
            )
            assert r.status_code == 201, r.text
            apps[kind] = r.json()
        client = {
            "CLIENT_ID": apps["confidential"]["client_id"],
            "CLIENT_SECRET": apps["confidential"]["client_secret"],
        }
        username, user_id = _account(browser)

        def run(name: str, values: dict[str, str]) -> Any:
            ran.add(name)
            runner = _python if name.startswith("python-") else _curl
            return runner(everything[name], {**client, **values})

        # The sign-in link as printed, then the short-way exchange in Python.
        query = _follow(browser, _fill(oauth["authorize-link"], {**client, "RANDOM_STATE": "xyz"}))
        ran.add("authorize-link")
        assert query["state"] == "xyz" and query["iss"] == base
        tokens = run("python-guide-exchange", {"CODE_FROM_URL": query["code"]})["tokens"]
        assert tokens["access_token"].startswith("wtpa_")
        assert tokens["scope"] == "user.read user.email"

        me = run("curl-me", {"ACCESS_TOKEN": tokens["access_token"]})
        assert me["username"] == username and me["email"] == f"{username}@example.com"
        assert run("python-me", {"ACCESS_TOKEN": tokens["access_token"]})["me"] == me

        # Refresh twice (each rotates), inspect, revoke: the chain is over.
        refreshed = run("curl-guide-refresh", {"REFRESH_TOKEN": tokens["refresh_token"]})
        refreshed = run("python-standard-refresh", {"REFRESH_TOKEN": refreshed["refresh_token"]})[
            "tokens"
        ]
        info = run("curl-introspect", {"ACCESS_TOKEN": refreshed["access_token"]})
        assert info["active"] is True and info["username"] == username
        assert run("curl-revoke", {"REFRESH_TOKEN": refreshed["refresh_token"]}) is None
        info = run("curl-introspect", {"ACCESS_TOKEN": refreshed["access_token"]})
        assert info == {"active": False}

        # The other ways to exchange a code (the consent is remembered: no page this time).
        for name in ("curl-standard-exchange", "python-standard-exchange", "curl-guide-exchange"):
            code = _follow(browser, _fill(oauth["authorize-link"], {**client, "RANDOM_STATE": "s"}))
            result = run(name, {"CODE_FROM_URL": code["code"]})
            exchanged = result["tokens"] if name.startswith("python-") else result
            assert exchanged["token_type"] == "Bearer"

        # The user API page, with a token that may also write.
        link = (
            f"/oauth/authorize?client_id={client['CLIENT_ID']}&scope=user.read+user.write"
            f"&redirect_uri={REDIRECT_URI}&response_type=code&state=w"
        )
        code = _follow(browser, link)["code"]
        token = run("python-guide-exchange", {"CODE_FROM_URL": code})["tokens"]["access_token"]
        values = {"ACCESS_TOKEN": token, "USER_ID": user_id}
        assert run("curl-user-me", values)["username"] == username
        assert run("curl-user-patch", values)["display_name"] == "Party Animal"
        assert run("python-user-patch", values)["profile"]["display_name"] == "Party Animal"
        assert run("curl-user-by-id", values) == {
            "id": user_id,
            "username": username,
            "display_name": "Party Animal",
            "created_at": me["created_at"],
        }

        # PKCE for the public client: the printed link builder, then the exchange without secret.
        pkce = run("python-pkce-link", {"CLIENT_ID": apps["public"]["client_id"]})
        query = _follow(browser, pkce["link"].removeprefix(base))
        assert query["state"] == pkce["state"]
        public = {"CLIENT_ID": apps["public"]["client_id"], "CLIENT_SECRET": "unused"}
        tokens = _curl(
            oauth["curl-pkce-exchange"],
            {**public, "CODE_FROM_URL": query["code"], "CODE_VERIFIER": pkce["code_verifier"]},
        )
        ran.add("curl-pkce-exchange")
        assert tokens["access_token"].startswith("wtpa_")

        # The device flow, for the public client once it enabled the grant: curl, then Python
        # (whose polling loop continues the script that asked for the code).
        asyncio.run(enable_device_grant_at(database_url, apps["public"]["client_id"]))
        device = run("curl-device-authorization", public)
        _allow_device(browser, device["user_code"])
        tokens = run("curl-device-poll", {**public, "DEVICE_CODE": device["device_code"]})
        assert tokens["scope"] == "user.read" and tokens["refresh_token"].startswith("wtpr_")
        script = run("python-device-start", public)
        assert script["device"]["verification_uri"] == f"{base}/device"
        _allow_device(browser, script["device"]["user_code"].lower())
        ran.add("python-device-poll")
        _python(everything["python-device-poll"], public, script)
        me = run("python-me", {"ACCESS_TOKEN": script["tokens"]["access_token"]})["me"]
        assert me["username"] == username

    assert set(everything) - NOT_RUNNABLE == ran


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_every_openid_connect_example_works(live_server: LiveServer, database_url: str) -> None:
    from tests.oidc.support import set_application_columns

    base = live_server.url
    ran: set[str] = set()
    with (
        httpx.Client(base_url=base, timeout=30) as developer,
        httpx.Client(base_url=base, timeout=30) as browser,
    ):
        examples = _examples(developer, "/developers/docs/openid-connect")
        assert all(base in body for body in examples.values())
        _account(developer)
        r = developer.post(
            "/api/applications", json={"name": "Docs OIDC", "redirect_uris": [REDIRECT_URI]}
        )
        assert r.status_code == 201, r.text
        app = r.json()
        signed_out = "https://example.com/signed-out"
        set_application_columns(
            database_url, app["client_id"], post_logout_redirect_uris=[signed_out]
        )
        client = {"CLIENT_ID": app["client_id"], "CLIENT_SECRET": app["client_secret"]}
        username, user_id = _account(browser)

        def run(name: str, values: dict[str, str]) -> Any:
            ran.add(name)
            runner = _python if name.startswith("python-") else _curl
            return runner(examples[name], {**client, **values})

        link = run("python-oidc-link", {})
        r = browser.get(link["link"])
        r = browser.post(
            "/oauth/authorize",
            data={
                "request_id": hidden(r.text, "request_id"),
                "csrf_token": hidden(r.text, "csrf_token"),
                "decision": "allow",
            },
        )
        callback = r.headers["location"]
        assert callback.startswith(REDIRECT_URI + "?")
        done = run(
            "python-oidc-callback",
            {
                "CALLBACK_URL": callback,
                "CODE_VERIFIER": link["code_verifier"],
                "NONCE": link["nonce"],
                "STATE": link["state"],
            },
        )
        assert done["user_id"] == user_id
        assert done["claims"]["preferred_username"] == username
        tokens = done["tokens"]
        info = run("curl-userinfo", {"ACCESS_TOKEN": tokens["access_token"]})
        assert info["sub"] == user_id and info["email"] == f"{username}@example.com"

        logout = _fill(
            examples["logout-link"], {"ID_TOKEN": tokens["id_token"], "RANDOM_STATE": "bye"}
        )
        ran.add("logout-link")
        r = browser.get(logout)
        assert r.status_code == 303 and r.headers["location"] == signed_out + "?state=bye"
        assert browser.get("/api/applications").status_code == 401

    assert set(examples) == ran
