"""The hot endpoints served ahead of FastAPI's router (``hot_paths.HotPaths``): the same answers
as the FastAPI routes that declare them, errors included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from tests.conftest import TEST_ISSUER
from tests.helpers import authorize_params, get_code, register_client, sign_up, tokens_for
from wtp_oauth.hot_paths import HOT_ROUTES
from wtp_oauth.routers import authorize, token, users


@pytest.fixture
async def behind_proxy(running_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests come with a ``root_path``, which the hot paths leave to FastAPI."""
    transport = httpx.ASGITransport(app=running_app, root_path="/auth")
    async with httpx.AsyncClient(transport=transport, base_url=TEST_ISSUER + "/auth") as http:
        yield http


def test_the_hot_endpoints_are_routes_fastapi_declares(running_app: FastAPI) -> None:
    paths = running_app.openapi()["paths"]
    declared = {(method.upper(), path) for path, item in paths.items() for method in item}
    hot = HOT_ROUTES.endpoints
    assert {("POST", "/api/oauth/token"), ("GET", "/api/users/@me")} <= set(hot)
    # The authorize link is a page, not in the API schema, but a route all the same.
    assert set(hot) - {("GET", "/oauth/authorize")} <= declared
    # Each is the very function a router declares: one registration point for both.
    routes = {
        (method, route.path): route.endpoint
        for module in (token, users, authorize)
        for route in module.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    for key, endpoint in hot.items():
        assert routes[key] is endpoint, key


async def test_the_same_answers_with_and_without_the_hot_paths(
    client: httpx.AsyncClient, behind_proxy: httpx.AsyncClient
) -> None:
    await sign_up(client)
    app = await register_client(client)
    issued = await tokens_for(client, app)
    bearer = {"Authorization": f"Bearer {issued['access_token']}"}
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/api/users/@me", {"headers": bearer}),
        ("GET", "/api/users/@me", {}),
        ("GET", "/api/users/@me", {"headers": {"Authorization": "Bearer wtpa_unknown"}}),
        ("POST", "/api/oauth/token", {"data": {"grant_type": "password"}}),
        (
            "POST",
            "/api/oauth/introspect",
            {"data": {"token": issued["access_token"]}, "auth": (app.client_id, "wtps_x")},
        ),
        ("POST", "/api/oauth/revoke", {"data": {}, "auth": (app.client_id, app.client_secret)}),
    ]
    for method, path, options in calls:
        fast = await client.request(method, path, **options)
        routed = await behind_proxy.request(method, path, **options)
        assert (fast.status_code, fast.json()) == (routed.status_code, routed.json()), path
        for header in ("www-authenticate", "cache-control", "x-frame-options"):
            assert fast.headers.get(header) == routed.headers.get(header), (path, header)


async def test_the_same_authorize_pages_with_and_without_the_hot_paths(
    running_app: FastAPI, client: httpx.AsyncClient, behind_proxy: httpx.AsyncClient
) -> None:
    """Byte for byte, headers included, for every answer that holds no fresh secret."""
    await sign_up(client)
    app = await register_client(client)
    await get_code(client, app)
    signed_in = {"Cookie": f"wtp_session={client.cookies['wtp_session']}"}
    params = authorize_params(app)
    pages: list[tuple[str, dict[str, str]]] = []
    for headers in ({}, signed_in):
        for query in (
            {**params, "client_id": "no-such-client"},
            {**params, "redirect_uri": "https://evil.example/cb"},
            {**params, "response_type": "token"},
            {**params, "prompt": "login"},
            {**params, "scopes": "user.read admin"},
            {},
        ):
            pages.append(("/oauth/authorize?" + urlencode(query), headers))
        pages.append(("/oauth/authorize?client_id=%ff", headers))
    pages.append(("/oauth/authorize?" + urlencode(params), {}))
    # A client with no cookie jar, so that each request carries only the headers given.
    transport = httpx.ASGITransport(app=running_app)
    async with httpx.AsyncClient(transport=transport, base_url=TEST_ISSUER) as fast_client:
        for url, headers in pages:
            # The same request id for both, which each answer echoes (SPEC §16).
            sent = {**headers, "X-Request-ID": "hot-path-check"}
            fast = await fast_client.get(url, headers=sent)
            routed = await behind_proxy.get(url, headers=sent)
            assert fast.status_code == routed.status_code, url
            assert fast.content == routed.content, url
            assert fast.headers.multi_items() == routed.headers.multi_items(), url
            if fast.status_code == 400:
                assert ("Signed in as" in fast.text) == bool(headers), url


async def test_a_database_outage_on_a_hot_path_is_503(
    running_app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(*_args: Any, **_kwargs: Any) -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(running_app.state.wtp.oauth.store, "find_access_token", unreachable)
    r = await client.get("/api/users/@me", headers={"Authorization": "Bearer wtpa_x"})
    assert r.status_code == 503
    assert r.headers["retry-after"]
    assert r.json() == {"detail": "The service is temporarily unavailable."}


async def test_a_bug_on_a_hot_path_is_a_plain_500(
    running_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(running_app.state.wtp.oauth.store, "find_access_token", broken)
    transport = httpx.ASGITransport(app=running_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=TEST_ISSUER) as http:
        r = await http.get("/api/users/@me", headers={"Authorization": "Bearer wtpa_x"})
    assert r.status_code == 500
    assert r.json() == {"detail": "Internal server error."}
    assert "a bug" not in r.text
