"""routers/well_known.py: RFC 8414 metadata, the scope list, liveness and readiness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.api.support import app_client
from tests.conftest import TEST_ISSUER
from wtp_oauth.config import Settings


async def test_authorization_server_metadata(client: httpx.AsyncClient) -> None:
    r = await client.get("/.well-known/oauth-authorization-server")
    assert r.status_code == 200
    meta = r.json()
    assert meta["issuer"] == TEST_ISSUER
    assert meta["authorization_endpoint"] == f"{TEST_ISSUER}/oauth/authorize"
    assert meta["token_endpoint"] == f"{TEST_ISSUER}/api/oauth/token"
    assert meta["revocation_endpoint"] == f"{TEST_ISSUER}/api/oauth/revoke"
    assert meta["introspection_endpoint"] == f"{TEST_ISSUER}/api/oauth/introspect"
    assert meta["scopes_supported"] == [
        "user.read",
        "user.email",
        "user.write",
        "openid",
        "profile",
        "email",
        "offline_access",
    ]
    assert meta["response_types_supported"] == ["code"]
    assert meta["device_authorization_endpoint"] == f"{TEST_ISSUER}/api/oauth/device_authorization"
    assert sorted(meta["grant_types_supported"]) == [
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
    ]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    for key in (
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ):
        assert set(meta[key]) == {"client_secret_basic", "client_secret_post", "none"}


async def test_every_advertised_endpoint_exists(client: httpx.AsyncClient) -> None:
    meta = (await client.get("/.well-known/oauth-authorization-server")).json()
    authorize = await client.get(meta["authorization_endpoint"].removeprefix(TEST_ISSUER))
    assert authorize.status_code == 400  # an error page: no client_id
    endpoints = ("token", "revocation", "introspection", "device_authorization")
    for key in (f"{name}_endpoint" for name in endpoints):
        r = await client.post(meta[key].removeprefix(TEST_ISSUER), data={})
        assert r.status_code in (400, 401), (key, r.status_code)
        assert "error" in r.json()


async def test_scopes(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/oauth/scopes")
    assert r.status_code == 200
    scopes = r.json()
    assert [scope["name"] for scope in scopes] == [
        "user.read",
        "user.email",
        "user.write",
        "openid",
        "profile",
        "email",
        "offline_access",
    ]
    for scope in scopes:
        assert set(scope) == {"name", "description"}
        assert scope["description"]


async def test_healthz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_readyz(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


@pytest.fixture
async def no_database(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The application over a database that cannot be opened."""
    url = f"sqlite+aiosqlite:///{tmp_path}/missing-folder/wtp.db"
    async with app_client(Settings(database_url=url, issuer=TEST_ISSUER, secret_key="k" * 32)) as (
        _,
        http,
    ):
        yield http


async def test_without_a_database_readyz_is_503_and_healthz_is_200(
    no_database: httpx.AsyncClient,
) -> None:
    r = await no_database.get("/readyz")
    assert r.status_code == 503
    assert r.json() == {"status": "unavailable"}
    assert (await no_database.get("/healthz")).status_code == 200


async def test_without_a_database_requests_get_503_json(no_database: httpx.AsyncClient) -> None:
    api = await no_database.post("/api/session", json={"username": "ada", "password": "12345678"})
    token = await no_database.post(
        "/api/oauth/token",
        data={"grant_type": "authorization_code", "code": "x", "client_id": "c"},
    )
    for r in (api, token):
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"]
        assert "Traceback" not in r.text
    assert api.json()["detail"]
    # The OAuth endpoints answer in RFC 6749's shape (§4.1.2.1's code for "not now").
    assert token.json()["error"] == "temporarily_unavailable"
    assert token.headers["cache-control"] == "no-store"
