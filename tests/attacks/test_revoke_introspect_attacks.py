"""Threat model of revocation (RFC 7009), introspection (RFC 7662) and discovery (RFC 8414).

A client may see and revoke only its own tokens; an introspection answer for anything not
active or not the caller's is exactly ``{"active": false}``, so it cannot be used as an oracle
(RFC 7662 §2.2, §4). Each test names the section it enforces.
"""

from __future__ import annotations

import httpx
import pytest

from tests.attacks.conftest import World, bearer, no_store
from tests.conftest import FakeClock
from tests.helpers import Client, form_exchange, tokens_for


async def _revoke(http: httpx.AsyncClient, app: Client, token: str, **extra: str) -> httpx.Response:
    return await http.post(
        "/api/oauth/revoke",
        data={"token": token, **extra},
        auth=(app.client_id, app.client_secret or ""),
    )


async def _introspect(http: httpx.AsyncClient, app: Client, token: str, **extra: str) -> dict:
    r = await http.post(
        "/api/oauth/introspect",
        data={"token": token, **extra},
        auth=(app.client_id, app.client_secret or ""),
    )
    assert r.status_code == 200, r.text
    assert no_store(r)
    return dict(r.json())


async def _reads(http: httpx.AsyncClient, access_token: str) -> bool:
    return (await http.get("/api/users/@me", headers=bearer(access_token))).status_code == 200


# --- Revocation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token", ["wtpa_unknown", "wtpr_unknown", "no-prefix", "' OR 1=1 --"], ids=str
)
async def test_revoking_an_unknown_token_answers_200(shared_world: World, token: str) -> None:
    """RFC 7009 §2.2: invalid tokens get 200, so the endpoint reveals nothing about them."""
    r = await _revoke(shared_world.user, shared_world.app, token)
    assert r.status_code == 200
    assert no_store(r)


async def test_revoking_another_clients_token_leaves_it_alone(world: World, rival: Client) -> None:
    """RFC 7009 §2.1: the server checks the token was issued to the requesting client; a
    rival answered 200 has revoked nothing."""
    tokens = await tokens_for(world.user, world.app)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert (await _revoke(world.user, rival, token)).status_code == 200
    assert await _reads(world.user, tokens["access_token"])
    r = await form_exchange(
        world.user, world.app, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert r.status_code == 200


async def test_revoking_a_refresh_token_ends_its_family(world: World) -> None:
    """RFC 7009 §2.1: revoking a refresh token also invalidates the access tokens of the same
    authorization grant (here: the whole family, refreshed descendants included)."""
    tokens = await tokens_for(world.user, world.app)
    r = await form_exchange(
        world.user, world.app, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    newer = r.json()
    assert (await _revoke(world.user, world.app, newer["refresh_token"])).status_code == 200
    assert not await _reads(world.user, tokens["access_token"])
    assert not await _reads(world.user, newer["access_token"])
    assert (await _introspect(world.user, world.app, newer["refresh_token"])) == {"active": False}


async def test_revoking_an_access_token_ends_it(world: World) -> None:
    """RFC 7009 §2.1: a revoked access token is refused at once by the resource server."""
    tokens = await tokens_for(world.user, world.app)
    assert (await _revoke(world.user, world.app, tokens["access_token"])).status_code == 200
    r = await world.user.get("/api/users/@me", headers=bearer(tokens["access_token"]))
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


async def test_a_lying_token_type_hint_does_not_hide_a_token(world: World) -> None:
    """RFC 7009 §2.1: a wrong ``token_type_hint`` must not stop the server finding the token."""
    tokens = await tokens_for(world.user, world.app)
    r = await _revoke(
        world.user, world.app, tokens["refresh_token"], token_type_hint="access_token"
    )
    assert r.status_code == 200
    assert (await _introspect(world.user, world.app, tokens["refresh_token"])) == {"active": False}


async def test_revocation_without_token_is_invalid_request(world: World) -> None:
    """RFC 7009 §2.1: ``token`` is required; its absence is ``invalid_request``, not-stored."""
    r = await world.user.post(
        "/api/oauth/revoke", data={}, auth=(world.app.client_id, world.app.client_secret or "")
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    assert no_store(r)


async def test_revocation_requires_client_authentication(world: World) -> None:
    """RFC 7009 §2.1: the client authenticates; anonymous revocation is 401 and revokes
    nothing (a thief cannot log a user out of an application with a leaked token)."""
    tokens = await tokens_for(world.user, world.app)
    r = await world.user.post("/api/oauth/revoke", data={"token": tokens["access_token"]})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert "www-authenticate" in r.headers
    assert no_store(r)
    assert await _reads(world.user, tokens["access_token"])


# --- Introspection --------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["wtpa_unknown", "wtpr_unknown", "garbage"], ids=str)
async def test_introspecting_an_unknown_token_is_exactly_inactive(
    shared_world: World, token: str
) -> None:
    """RFC 7662 §2.2: an unknown token is ``{"active": false}`` and nothing more."""
    assert await _introspect(shared_world.user, shared_world.app, token) == {"active": False}


async def test_introspecting_another_clients_token_is_exactly_inactive(
    world: World, rival: Client
) -> None:
    """RFC 7662 §4: the server must not tell one client about another client's tokens."""
    tokens = await tokens_for(world.user, world.app)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert await _introspect(world.user, rival, token) == {"active": False}
        assert (await _introspect(world.user, world.app, token))["active"] is True


async def test_introspecting_a_revoked_token_is_exactly_inactive(world: World) -> None:
    """RFC 7662 §2.2: revoked tokens are inactive, with no further detail."""
    tokens = await tokens_for(world.user, world.app)
    await _revoke(world.user, world.app, tokens["access_token"])
    assert await _introspect(world.user, world.app, tokens["access_token"]) == {"active": False}


async def test_introspecting_an_expired_token_is_exactly_inactive(
    world: World, clock: FakeClock
) -> None:
    """RFC 7662 §2.2: expired tokens are inactive."""
    tokens = await tokens_for(world.user, world.app)
    clock.advance(3601)
    assert await _introspect(world.user, world.app, tokens["access_token"]) == {"active": False}


async def test_introspecting_a_rotated_refresh_token_is_exactly_inactive(world: World) -> None:
    """RFC 7662 §2.2 / RFC 9700 §4.14.2: a refresh token retired by rotation is inactive."""
    tokens = await tokens_for(world.user, world.app)
    await form_exchange(
        world.user, world.app, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert await _introspect(world.user, world.app, tokens["refresh_token"]) == {"active": False}


async def test_introspection_requires_client_authentication(world: World) -> None:
    """RFC 7662 §2.1 and §4: without authentication the endpoint would be a token-scanning
    oracle; it answers 401 ``invalid_client``, not-stored."""
    tokens = await tokens_for(world.user, world.app)
    r = await world.user.post("/api/oauth/introspect", data={"token": tokens["access_token"]})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert no_store(r)


async def test_an_access_token_is_not_a_credential_for_introspection(world: World) -> None:
    """RFC 7662 §2.1: the caller is a client; a user's access token is not its secret."""
    tokens = await tokens_for(world.user, world.app)
    r = await world.user.post(
        "/api/oauth/introspect",
        data={"token": tokens["access_token"], "client_id": world.app.client_id},
        headers=bearer(tokens["access_token"]),
    )
    assert r.status_code == 401


async def test_introspection_without_token_is_invalid_request(world: World) -> None:
    """RFC 7662 §2.1: ``token`` is required."""
    r = await world.user.post(
        "/api/oauth/introspect",
        data={"token_type_hint": "access_token"},
        auth=(world.app.client_id, world.app.client_secret or ""),
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    assert no_store(r)


# --- Discovery ------------------------------------------------------------------------------


async def test_metadata_is_exact_and_offers_nothing_weak(client: httpx.AsyncClient) -> None:
    """RFC 8414 §2–§3 (issuer identical to the one the client expects), RFC 9207 §3
    (``authorization_response_iss_parameter_supported``), RFC 9700 §2.1.1–§2.1.2 (S256 only,
    no implicit grant, no password grant)."""
    r = await client.get("/.well-known/oauth-authorization-server")
    assert r.status_code == 200
    meta = r.json()
    issuer = "http://testserver"
    assert meta["issuer"] == issuer
    assert meta["authorization_endpoint"] == f"{issuer}/oauth/authorize"
    assert meta["token_endpoint"] == f"{issuer}/api/oauth/token"
    assert meta["revocation_endpoint"] == f"{issuer}/api/oauth/revoke"
    assert meta["introspection_endpoint"] == f"{issuer}/api/oauth/introspect"
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["response_types_supported"] == ["code"]
    assert set(meta["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
    }
    assert meta["device_authorization_endpoint"] == f"{issuer}/api/oauth/device_authorization"
    assert set(meta["scopes_supported"]) == {
        "user.read",
        "user.email",
        "user.write",
        "openid",
        "profile",
        "email",
        "offline_access",
    }
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "none",
    }


async def test_scope_list_is_the_whole_vocabulary(client: httpx.AsyncClient) -> None:
    """RFC 6749 §3.3 / SPEC §6: ``/api/oauth/scopes`` lists every scope a client can ask for."""
    r = await client.get("/api/oauth/scopes")
    assert r.status_code == 200
    assert {s["name"] for s in r.json()} == {
        "user.read",
        "user.email",
        "user.write",
        "openid",
        "profile",
        "email",
        "offline_access",
    }
    assert all(set(s) == {"name", "description"} and s["description"] for s in r.json())
