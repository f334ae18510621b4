"""routers/users.py: the user API behind bearer tokens, and the user's authorizations (SPEC §7)."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import TEST_ISSUER, FakeClock
from tests.helpers import (
    Account,
    Client,
    authorize_params,
    form_exchange,
    get_code,
    register_client,
    sign_up,
    tokens_for,
)

CHALLENGE_START = 'Bearer realm="wtp-oauth"'
RESOURCE_METADATA = "http://testserver/.well-known/oauth-protected-resource/api"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def setup(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> tuple[Client, Account]:
    """A developer's application (``client``) and a user (``other_client``) to authorize it."""
    await sign_up(client)
    app = await register_client(client)
    return app, await sign_up(other_client)


async def token(http: httpx.AsyncClient, app: Client, scopes: str) -> str:
    return str((await tokens_for(http, app, scopes))["access_token"])


async def test_me_with_user_read(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app, user = await setup(client, other_client)
    r = await client.get(
        "/api/users/@me", headers=bearer(await token(other_client, app, "user.read"))
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"id", "username", "display_name", "created_at"}
    assert body["id"] == user.id
    assert body["username"] == user.username
    assert body["display_name"] == user.username
    datetime.fromisoformat(body["created_at"])


async def test_me_with_user_email(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app, user = await setup(client, other_client)
    access = await token(other_client, app, "user.read user.email")
    body = (await client.get("/api/users/@me", headers=bearer(access))).json()
    assert body["email"] == user.email
    assert body["id"] == user.id


async def test_me_needs_user_read(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app, _ = await setup(client, other_client)
    access = await token(other_client, app, "user.email")
    r = await client.get("/api/users/@me", headers=bearer(access))
    assert r.status_code == 403
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith(CHALLENGE_START)
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="user.read"' in challenge


async def test_no_token_is_401_without_an_error_code(client: httpx.AsyncClient) -> None:
    for r in (
        await client.get("/api/users/@me"),
        await client.patch("/api/users/@me", json={"display_name": "x"}),
        await client.get("/api/users/abc"),
    ):
        assert r.status_code == 401
        # No error code (RFC 6750 §3.1); where to learn how to get a token (RFC 9728 §5.1).
        assert r.headers["www-authenticate"] == (
            CHALLENGE_START + f', resource_metadata="{RESOURCE_METADATA}"'
        )
        assert r.json()["detail"]


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer wtpa_unknown",
        "Bearer not-even-prefixed",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer " + "wtpa_" + "a" * 300,
    ],
)
async def test_bad_token_is_invalid_token(client: httpx.AsyncClient, authorization: str) -> None:
    r = await client.get("/api/users/@me", headers={"Authorization": authorization})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith(CHALLENGE_START + ', error="invalid_token"')


async def test_the_client_secret_is_not_an_access_token(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client)
    r = await client.get("/api/users/@me", headers=bearer(app.client_secret or ""))
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


async def test_refresh_token_is_not_an_access_token(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app, _ = await setup(client, other_client)
    tokens = await tokens_for(other_client, app)
    r = await client.get("/api/users/@me", headers=bearer(tokens["refresh_token"]))
    assert r.status_code == 401


async def test_expired_token(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = await setup(client, other_client)
    access = await token(other_client, app, "user.read")
    clock.advance(3599)
    assert (await client.get("/api/users/@me", headers=bearer(access))).status_code == 200
    clock.advance(1)
    r = await client.get("/api/users/@me", headers=bearer(access))
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


async def test_a_session_cookie_is_not_a_token(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    r = await client.get("/api/users/@me")
    assert r.status_code == 401


async def test_patch_me(client: httpx.AsyncClient, other_client: httpx.AsyncClient) -> None:
    app, user = await setup(client, other_client)
    access = await token(other_client, app, "user.read user.write")
    r = await client.patch(
        "/api/users/@me", json={"display_name": "  Party Animal  "}, headers=bearer(access)
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["display_name"] == "Party Animal"
    assert body["username"] == user.username
    assert "email" not in body
    me = await client.get("/api/users/@me", headers=bearer(access))
    assert me.json()["display_name"] == "Party Animal"
    public = await client.get(f"/api/users/{user.id}", headers=bearer(access))
    assert public.json()["display_name"] == "Party Animal"


async def test_patch_me_answers_with_email_when_granted(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app, user = await setup(client, other_client)
    access = await token(other_client, app, "user.write user.email")
    r = await client.patch("/api/users/@me", json={"display_name": "Ada"}, headers=bearer(access))
    assert r.status_code == 200
    assert r.json()["email"] == user.email


async def test_patch_me_needs_user_write(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app, user = await setup(client, other_client)
    access = await token(other_client, app, "user.read user.email")
    r = await client.patch(
        "/api/users/@me", json={"display_name": "Hacked"}, headers=bearer(access)
    )
    assert r.status_code == 403
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith(CHALLENGE_START)
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="user.write"' in challenge
    me = await client.get("/api/users/@me", headers=bearer(access))
    assert me.json()["display_name"] == user.username


async def test_patch_me_bad_input(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app, user = await setup(client, other_client)
    access = await token(other_client, app, "user.read user.write")
    for body in (
        {"display_name": ""},
        {"display_name": "   "},
        {"display_name": "x" * 65},
        {},
        {"display_name": "ok", "username": "root"},
    ):
        r = await client.patch("/api/users/@me", json=body, headers=bearer(access))
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"]
    me = await client.get("/api/users/@me", headers=bearer(access))
    assert me.json()["display_name"] == user.username


async def test_patch_me_needs_json(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app, _ = await setup(client, other_client)
    access = await token(other_client, app, "user.write")
    r = await client.patch("/api/users/@me", data={"display_name": "x"}, headers=bearer(access))
    assert r.status_code == 415


async def test_get_user_by_id(client: httpx.AsyncClient, other_client: httpx.AsyncClient) -> None:
    developer = await sign_up(client)
    app = await register_client(client)
    await sign_up(other_client)
    access = await token(other_client, app, "user.read user.email")
    # Someone else's public profile: never the email, whatever the token's scopes.
    r = await client.get(f"/api/users/{developer.id}", headers=bearer(access))
    assert r.status_code == 200
    assert set(r.json()) == {"id", "username", "display_name", "created_at"}
    assert r.json()["id"] == developer.id
    assert r.json()["username"] == developer.username
    missing = await client.get("/api/users/no-such-user", headers=bearer(access))
    assert missing.status_code == 404
    assert missing.json()["detail"]


async def test_get_user_by_id_needs_user_read(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app, user = await setup(client, other_client)
    access = await token(other_client, app, "user.write")
    r = await client.get(f"/api/users/{user.id}", headers=bearer(access))
    assert r.status_code == 403
    assert 'scope="user.read"' in r.headers["www-authenticate"]


# --- /api/users/@me/authorizations (session cookie) ------------------------------------------


async def test_authorizations_list(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, _ = await setup(client, other_client)
    second = await register_client(client, name="Second App")
    assert (await other_client.get("/api/users/@me/authorizations")).json() == []
    await get_code(other_client, app, "user.read user.email")
    clock.advance(5)
    await get_code(other_client, second, "user.write")
    r = await other_client.get("/api/users/@me/authorizations")
    assert r.status_code == 200
    listed = r.json()
    assert [entry["client_id"] for entry in listed] == [second.client_id, app.client_id]
    assert listed[0] == {
        "client_id": second.client_id,
        "name": "Second App",
        "scopes": ["user.write"],
        "granted_at": listed[0]["granted_at"],
    }
    assert datetime.fromisoformat(listed[0]["granted_at"]) == clock()
    assert sorted(listed[1]["scopes"]) == ["user.email", "user.read"]
    # The developer authorized nothing.
    assert (await client.get("/api/users/@me/authorizations")).json() == []


async def test_revoke_an_authorization(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app, _ = await setup(client, other_client)
    first = await tokens_for(other_client, app)
    second = await tokens_for(other_client, app)
    pending_code = await get_code(other_client, app)
    r = await other_client.delete(f"/api/users/@me/authorizations/{app.client_id}")
    assert r.status_code == 204
    for tokens in (first, second):
        assert (
            await client.get("/api/users/@me", headers=bearer(tokens["access_token"]))
        ).status_code == 401
        refreshed = await form_exchange(
            client, app, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert refreshed.json()["error"] == "invalid_grant"
    unused = await form_exchange(client, app, grant_type="authorization_code", code=pending_code)
    assert unused.json()["error"] == "invalid_grant"
    assert (await other_client.get("/api/users/@me/authorizations")).json() == []
    # Consent is forgotten: the next authorization asks again.
    again = await other_client.get("/oauth/authorize", params=authorize_params(app))
    assert again.status_code == 200
    again_404 = await other_client.delete(f"/api/users/@me/authorizations/{app.client_id}")
    assert again_404.status_code == 404


async def test_revoking_touches_only_that_user(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app, _ = await setup(client, other_client)
    developers = await tokens_for(client, app)
    await tokens_for(other_client, app)
    assert (
        await other_client.delete(f"/api/users/@me/authorizations/{app.client_id}")
    ).status_code == 204
    assert (
        await client.get("/api/users/@me", headers=bearer(developers["access_token"]))
    ).status_code == 200


async def test_authorizations_need_a_session(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/users/@me/authorizations")).status_code == 401
    assert (await client.delete("/api/users/@me/authorizations/x")).status_code == 401


async def test_an_access_token_does_not_open_authorizations(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, running_app: FastAPI
) -> None:
    app, _ = await setup(client, other_client)
    access = await token(other_client, app, "user.read user.write")
    transport = httpx.ASGITransport(app=running_app)
    async with httpx.AsyncClient(transport=transport, base_url=TEST_ISSUER) as outsider:
        r = await outsider.get("/api/users/@me/authorizations", headers=bearer(access))
        assert r.status_code == 401
        r = await outsider.delete(
            f"/api/users/@me/authorizations/{app.client_id}", headers=bearer(access)
        )
        assert r.status_code == 401
