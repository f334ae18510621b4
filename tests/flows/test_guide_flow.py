"""The developer guide's whole flow, in its own dialect and in RFC 6749's, in-process."""

from __future__ import annotations

import httpx

from tests.helpers import (
    form_exchange,
    get_code,
    guide_exchange,
    query_of,
    register_client,
    sign_up,
)


async def test_guide_dialect_code_exchange_user_api_and_refresh(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    await sign_up(client)
    app = await register_client(client)
    user = await sign_up(other_client)

    code = await get_code(other_client, app, "user.read user.email")
    r = await guide_exchange(other_client, app, code)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    tokens = r.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["access_token"].startswith("wtpa_")
    assert tokens["refresh_token"].startswith("wtpr_")
    assert tokens["scope"] == "user.read user.email"
    assert tokens["expires_in"] == 3600

    me = await other_client.get(
        "/api/users/@me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["username"] == user.username
    assert me.json()["email"] == user.email

    # The guide refreshes through /api/token with the refresh token in `code`.
    r = await other_client.post(
        "/api/token",
        json={
            "code": tokens["refresh_token"],
            "grand_type": "refresh_token",
            "client_id": app.client_id,
        },
        headers={"Authorization": f"Bearer {app.client_secret}"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["refresh_token"] != tokens["refresh_token"]


async def test_standard_dialect_form_basic_auth(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    await sign_up(client)
    app = await register_client(client)
    await sign_up(other_client)
    code = await get_code(other_client, app)
    r = await form_exchange(
        other_client, app, grant_type="authorization_code", code=code, redirect_uri=app.redirect_uri
    )
    assert r.status_code == 200, r.text
    refresh = r.json()["refresh_token"]
    r = await form_exchange(other_client, app, grant_type="refresh_token", refresh_token=refresh)
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "user.read"


async def test_remembered_consent_redirects_at_once_with_iss(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    await sign_up(client)
    app = await register_client(client)
    await sign_up(other_client)
    await get_code(other_client, app, "user.read")
    r = await other_client.get(
        "/oauth/authorize",
        params={
            "client_id": app.client_id,
            "scope": "user.read",
            "redirect_uri": app.redirect_uri,
            "response_type": "code",
            "state": "again",
        },
    )
    assert r.status_code == 302
    query = query_of(r.headers["location"])
    assert query["state"] == "again"
    assert query["iss"] == "http://testserver"
    assert "code" in query
