"""app.py: what the lifespan sets up — the stored secret key — and headers on every answer."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from tests.api.support import app_client
from tests.conftest import FakeClock
from tests.helpers import PASSWORD, hidden, unique
from wtp_oauth.config import Settings
from wtp_oauth.repositories.server import load_secret_key


async def test_secret_key_is_generated_once_and_shared(
    running_app: FastAPI, settings: Settings, clock: FakeClock
) -> None:
    state = running_app.state.wtp
    assert settings.secret_key == ""
    assert len(state.secret_key) >= 43
    assert await load_secret_key(state.session_factory) == state.secret_key
    # A second worker on the same database uses the same key: a form from one is accepted by
    # the other.
    async with (
        app_client(settings, clock) as (first, one),
        app_client(settings, clock) as (second, two),
    ):
        assert first.state.wtp.secret_key == second.state.wtp.secret_key == state.secret_key
        username = unique()
        await one.post(
            "/api/users",
            json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
        )
        page = await one.get("/login")
        two.cookies.update(one.cookies)
        r = await two.post(
            "/login",
            data={
                "username": username,
                "password": PASSWORD,
                "next": "/",
                "csrf_token": hidden(page.text, "csrf_token"),
            },
        )
        assert r.status_code == 303


async def test_configured_secret_key_is_used(settings: Settings, clock: FakeClock) -> None:
    configured = settings.model_copy(update={"secret_key": "configured-" + unique()})
    async with app_client(configured, clock) as (app, http):
        assert app.state.wtp.secret_key == configured.secret_key
        page = await http.get("/login")
    async with app_client(settings, clock) as (_, other):
        # The stored key differs, so the configured key's form is refused elsewhere.
        other.cookies.update(http.cookies)
        r = await other.post(
            "/login",
            data={"username": "x", "password": "y", "csrf_token": hidden(page.text, "csrf_token")},
        )
        assert r.status_code == 400


async def test_security_headers_on_every_answer(client: httpx.AsyncClient) -> None:
    for r in (
        await client.get("/"),
        await client.get("/healthz"),
        await client.post("/api/oauth/token", data={}),
        await client.get("/no-such-page"),
    ):
        assert r.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-content-type-options"] == "nosniff"


async def test_openapi_is_served(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/openapi.json")
    assert r.status_code == 200
    schema = r.json()
    assert schema["components"]["securitySchemes"]["accessToken"]["type"] == "oauth2"
    # Swagger UI from this server's own files (a CDN would break the CSP: default-src 'self'),
    # checked in a browser by tests/browser/test_api_docs.py.
    docs = await client.get("/api/docs")
    assert docs.status_code == 200
    assert "//" not in docs.text.replace("<!doctype html>", "")
    for asset in ("/api/docs/assets/swagger-ui-bundle.js", "/static/api-docs.js"):
        assert asset in docs.text
        assert (await client.get(asset)).status_code == 200
    # Its stylesheet's images are files too: the CSP refuses data: URLs.
    css = (await client.get("/api/docs/swagger-ui.css")).text
    assert "data:" not in css
    images = re.findall(r'url\("(images/[^"]+)"\)', css)
    assert images
    for image in images:
        assert (await client.get(f"/api/docs/{image}")).status_code == 200
