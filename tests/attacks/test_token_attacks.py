"""Threat model of the token endpoint's grants, ``POST /api/oauth/token``.

Code theft and replay (RFC 6749 §4.1.2, §4.1.3, §10.5, §10.6), PKCE downgrade and guessing
(RFC 7636 §4.6, RFC 9700 §4.8), refresh token theft and reuse (RFC 6749 §6, §10.4, RFC 9700
§4.14.2). Each test names the section it enforces.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.attacks.conftest import World, bearer
from tests.conftest import FakeClock
from tests.helpers import Client, form_exchange, get_code, pkce_pair, register_client, tokens_for


async def _active(http: httpx.AsyncClient, app: Client, token: str) -> bool:
    r = await http.post(
        "/api/oauth/introspect", data={"token": token}, auth=(app.client_id, app.client_secret)
    )
    assert r.status_code == 200, r.text
    return bool(r.json()["active"])


async def _can_read_profile(http: httpx.AsyncClient, access_token: str) -> bool:
    r = await http.get("/api/users/@me", headers=bearer(access_token))
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200


def _error(r: httpx.Response, error: str, status: int = 400) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"] == error
    assert r.headers["cache-control"] == "no-store"


async def _exchange(world: World, app: Client, code: str, **extra: Any) -> httpx.Response:
    return await form_exchange(world.user, app, grant_type="authorization_code", code=code, **extra)


async def _refresh(world: World, app: Client, token: str, **extra: Any) -> httpx.Response:
    return await form_exchange(
        world.user, app, grant_type="refresh_token", refresh_token=token, **extra
    )


async def _pkce_code(world: World, app: Client, **extra: str) -> tuple[str, str]:
    """A code bound to an S256 challenge, and the verifier that answers it."""
    verifier, challenge = pkce_pair()
    code = await get_code(
        world.user, app, code_challenge=challenge, code_challenge_method="S256", **extra
    )
    return code, verifier


# --- Authorization codes --------------------------------------------------------------------


async def test_code_replay_is_invalid_grant_and_revokes_its_tokens(world: World) -> None:
    """RFC 6749 §4.1.2 and §10.5: a code is single use; a second use is refused and every
    token issued from that code is revoked."""
    code = await get_code(world.user, world.app)
    first = await _exchange(world, world.app, code)
    assert first.status_code == 200
    tokens = first.json()
    _error(await _exchange(world, world.app, code), "invalid_grant")
    assert not await _can_read_profile(world.user, tokens["access_token"])
    assert not await _active(world.user, world.app, tokens["refresh_token"])


async def test_code_replay_revokes_tokens_descended_by_refresh(world: World) -> None:
    """RFC 6749 §4.1.2 / RFC 9700 §4.14.2: tokens refreshed from the code's grant are revoked
    too — the whole family, not only the first pair."""
    code = await get_code(world.user, world.app)
    tokens = (await _exchange(world, world.app, code)).json()
    refreshed = (await _refresh(world, world.app, tokens["refresh_token"])).json()
    assert await _can_read_profile(world.user, refreshed["access_token"])
    _error(await _exchange(world, world.app, code), "invalid_grant")
    assert not await _can_read_profile(world.user, refreshed["access_token"])
    _error(await _refresh(world, world.app, refreshed["refresh_token"]), "invalid_grant")


async def test_code_replay_by_unauthenticated_client_revokes_nothing(world: World) -> None:
    """RFC 6749 §3.2.1 and §10.5: a stolen code replayed without the client's secret fails
    client authentication first, so the attacker cannot revoke the victim's tokens."""
    code = await get_code(world.user, world.app)
    tokens = (await _exchange(world, world.app, code)).json()
    for auth in [(world.app.client_id, "wtps_wrong"), None]:
        r = await world.user.post(
            "/api/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": world.app.client_id,
            },
            auth=auth,
        )
        _error(r, "invalid_client", 401)
    assert await _can_read_profile(world.user, tokens["access_token"])
    assert await _active(world.user, world.app, tokens["refresh_token"])


async def test_code_replay_by_another_client_revokes_nothing(world: World, rival: Client) -> None:
    """RFC 6749 §4.1.3: the code is bound to its client; another client learns nothing and
    cannot revoke the victim's tokens with it."""
    code = await get_code(world.user, world.app)
    tokens = (await _exchange(world, world.app, code)).json()
    _error(await _exchange(world, rival, code), "invalid_grant")
    assert await _can_read_profile(world.user, tokens["access_token"])


async def test_code_is_bound_to_its_client(world: World, rival: Client) -> None:
    """RFC 6749 §4.1.3: a code issued to one client is refused for another, and the attempt
    does not use it up for the rightful client."""
    code = await get_code(world.user, world.app)
    _error(await _exchange(world, rival, code), "invalid_grant")
    assert (await _exchange(world, world.app, code)).status_code == 200


async def test_code_is_bound_to_its_redirect_uri(world: World) -> None:
    """RFC 6749 §4.1.3 and §10.6: a redirect_uri differing from the authorization request's is
    ``invalid_grant`` (an attacker's substituted redirect cannot complete the exchange)."""
    app = await _two_uri_app(world)
    code = await get_code(world.user, app)
    r = await _exchange(world, app, code, redirect_uri=app.redirect_uris[1])
    _error(r, "invalid_grant")
    r = await _exchange(world, app, code, redirect_uri=app.redirect_uris[0] + "/")
    _error(r, "invalid_grant")
    assert (await _exchange(world, app, code, redirect_uri=app.redirect_uri)).status_code == 200


async def _two_uri_app(world: World) -> Client:
    return await register_client(
        world.dev, ["https://client.example/callback", "https://client.example/other"]
    )


async def test_code_expires_after_code_ttl(world: World, clock: FakeClock) -> None:
    """RFC 6749 §4.1.2 (a short lifetime, 10 minutes at most): after WTP_CODE_TTL (300 s) the
    code is ``invalid_grant``."""
    live = await get_code(world.user, world.app)
    stale = await get_code(world.user, world.app)
    clock.advance(299)
    assert (await _exchange(world, world.app, live)).status_code == 200
    clock.advance(2)
    _error(await _exchange(world, world.app, stale), "invalid_grant")


@pytest.mark.parametrize(
    "code",
    ["forged", "' OR '1'='1", "x" * 4096, "wtpr_notacode"],
    ids=["forged", "sql", "long", "prefixed"],
)
async def test_unknown_code_is_invalid_grant(shared_world: World, code: str) -> None:
    """RFC 6749 §5.2: an unknown or guessed code is ``invalid_grant``."""
    _error(await _exchange(shared_world, shared_world.app, code), "invalid_grant")


async def test_refresh_token_is_not_an_authorization_code(world: World) -> None:
    """RFC 6749 §4.1.3: a refresh token presented as a code is ``invalid_grant``."""
    tokens = await tokens_for(world.user, world.app)
    _error(await _exchange(world, world.app, tokens["refresh_token"]), "invalid_grant")


# --- PKCE at the token endpoint -------------------------------------------------------------


async def test_pkce_verifier_missing_is_invalid_grant(world: World) -> None:
    """RFC 7636 §4.6: a code bound to a challenge needs its verifier (a stolen code is useless
    without it)."""
    code, _ = await _pkce_code(world, world.app)
    _error(await _exchange(world, world.app, code), "invalid_grant")


async def test_pkce_wrong_verifier_is_invalid_grant(world: World) -> None:
    """RFC 7636 §4.6: the verifier's S256 must equal the challenge."""
    code, _ = await _pkce_code(world, world.app)
    other_verifier, _ = pkce_pair()
    _error(await _exchange(world, world.app, code, code_verifier=other_verifier), "invalid_grant")


async def test_pkce_challenge_as_verifier_is_invalid_grant(world: World) -> None:
    """RFC 7636 §4.6 / RFC 9700 §2.1.1: sending the challenge itself (a ``plain`` comparison)
    does not pass."""
    verifier, challenge = pkce_pair()
    code = await get_code(
        world.user, world.app, code_challenge=challenge, code_challenge_method="S256"
    )
    _error(await _exchange(world, world.app, code, code_verifier=challenge), "invalid_grant")
    assert (await _exchange(world, world.app, code, code_verifier=verifier)).status_code == 200


async def test_pkce_verifier_without_challenge_is_invalid_grant(world: World) -> None:
    """RFC 9700 §4.8.2 (PKCE downgrade): a verifier for a code that had no challenge is
    refused, so an attacker who stripped the challenge cannot pass as a PKCE client."""
    code = await get_code(world.user, world.app)
    verifier, _ = pkce_pair()
    _error(await _exchange(world, world.app, code, code_verifier=verifier), "invalid_grant")


@pytest.mark.parametrize("verifier", ["short", "a" * 129, "a" * 42 + "!"])
async def test_pkce_malformed_verifier_is_invalid_grant(shared_world: World, verifier: str) -> None:
    """RFC 7636 §4.1: 43–128 unreserved characters, or ``invalid_grant``."""
    code, _ = await _pkce_code(shared_world, shared_world.app)
    _error(
        await _exchange(shared_world, shared_world.app, code, code_verifier=verifier),
        "invalid_grant",
    )


async def test_public_client_end_to_end_without_a_secret(world: World, public_app: Client) -> None:
    """RFC 6749 §2.1, RFC 8252 §8.5, RFC 7636: a public client uses PKCE and sends only its
    client_id, for the code and for refreshes alike."""
    code, verifier = await _pkce_code(world, public_app, redirect_uri="com.example.app:/callback")
    assert public_app.client_secret is None
    r = await _exchange(world, public_app, code, code_verifier=verifier)
    assert r.status_code == 200, r.text
    r = await _refresh(world, public_app, r.json()["refresh_token"])
    assert r.status_code == 200, r.text


async def test_public_client_without_verifier_is_refused(world: World, public_app: Client) -> None:
    """RFC 9700 §2.1.1: a public client's code is never redeemed without a verifier."""
    code, _ = await _pkce_code(world, public_app, redirect_uri="com.example.app:/callback")
    _error(await _exchange(world, public_app, code), "invalid_grant")


# --- Refresh tokens -------------------------------------------------------------------------


async def test_refresh_rotation_retires_the_old_token(world: World) -> None:
    """RFC 9700 §4.14.2: every refresh returns a new refresh token; the old one is retired."""
    tokens = await tokens_for(world.user, world.app)
    new = await _refresh(world, world.app, tokens["refresh_token"])
    assert new.status_code == 200
    assert new.json()["refresh_token"] != tokens["refresh_token"]
    assert not await _active(world.user, world.app, tokens["refresh_token"])


async def test_refresh_reuse_revokes_the_whole_family(world: World) -> None:
    """RFC 9700 §4.14.2: presenting a retired refresh token is ``invalid_grant`` and revokes
    every token of the family — the revocation is committed although the request fails."""
    tokens = await tokens_for(world.user, world.app)
    first = (await _refresh(world, world.app, tokens["refresh_token"])).json()
    second = (await _refresh(world, world.app, first["refresh_token"])).json()
    _error(await _refresh(world, world.app, tokens["refresh_token"]), "invalid_grant")
    # Other requests, after the failed one: everything of the family is dead.
    for access in (tokens["access_token"], first["access_token"], second["access_token"]):
        assert not await _can_read_profile(world.user, access)
    assert not await _active(world.user, world.app, second["refresh_token"])
    _error(await _refresh(world, world.app, second["refresh_token"]), "invalid_grant")


async def test_refresh_reuse_leaves_other_grants_alone(world: World) -> None:
    """RFC 9700 §4.14.2: the revocation is confined to the reused token's family."""
    victim = await tokens_for(world.user, world.app)
    bystander = await tokens_for(world.user, world.app)
    await _refresh(world, world.app, victim["refresh_token"])
    _error(await _refresh(world, world.app, victim["refresh_token"]), "invalid_grant")
    assert await _can_read_profile(world.user, bystander["access_token"])
    assert (await _refresh(world, world.app, bystander["refresh_token"])).status_code == 200


async def test_refresh_scope_cannot_widen(world: World) -> None:
    """RFC 6749 §6: the scope must not include anything not originally granted."""
    tokens = await tokens_for(world.user, world.app, "user.read")
    r = await _refresh(world, world.app, tokens["refresh_token"], scope="user.read user.write")
    _error(r, "invalid_scope")
    # The refused request did not use the token up.
    assert (await _refresh(world, world.app, tokens["refresh_token"])).status_code == 200


async def test_refresh_scope_may_narrow_and_the_grant_keeps_its_scope(world: World) -> None:
    """RFC 6749 §6: a narrower access token; the new refresh token keeps the grant's scope."""
    tokens = await tokens_for(world.user, world.app, "user.read user.email")
    narrow = await _refresh(world, world.app, tokens["refresh_token"], scope="user.read")
    assert narrow.status_code == 200
    assert narrow.json()["scope"] == "user.read"
    me = await world.user.get("/api/users/@me", headers=bearer(narrow.json()["access_token"]))
    assert "email" not in me.json()
    again = await _refresh(world, world.app, narrow.json()["refresh_token"])
    assert again.json()["scope"] == "user.read user.email"


async def test_refresh_unknown_scope_is_invalid_scope(world: World) -> None:
    """RFC 6749 §5.2: an unknown scope on refresh is ``invalid_scope``."""
    tokens = await tokens_for(world.user, world.app)
    _error(
        await _refresh(world, world.app, tokens["refresh_token"], scope="admin"), "invalid_scope"
    )


async def test_refresh_token_is_bound_to_its_client(world: World, rival: Client) -> None:
    """RFC 6749 §6 and §10.4: a refresh token works only for the client it was issued to, and
    another client presenting it revokes nothing."""
    tokens = await tokens_for(world.user, world.app)
    _error(await _refresh(world, rival, tokens["refresh_token"]), "invalid_grant")
    assert await _can_read_profile(world.user, tokens["access_token"])
    assert (await _refresh(world, world.app, tokens["refresh_token"])).status_code == 200


async def test_refresh_token_expires_after_its_ttl(world: World, clock: FakeClock) -> None:
    """RFC 6749 §6 / SPEC §2: after WTP_REFRESH_TOKEN_TTL the refresh token is refused."""
    tokens = await tokens_for(world.user, world.app)
    clock.advance(2_592_000 + 1)
    _error(await _refresh(world, world.app, tokens["refresh_token"]), "invalid_grant")


async def test_access_token_expires_after_its_ttl(world: World, clock: FakeClock) -> None:
    """RFC 6749 §1.4 / RFC 6750 §3.1: an expired access token is ``invalid_token``."""
    tokens = await tokens_for(world.user, world.app)
    clock.advance(3600 + 1)
    r = await world.user.get("/api/users/@me", headers=bearer(tokens["access_token"]))
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


async def test_access_token_is_not_a_refresh_token(world: World) -> None:
    """RFC 6749 §6: only a refresh token refreshes."""
    tokens = await tokens_for(world.user, world.app)
    _error(await _refresh(world, world.app, tokens["access_token"]), "invalid_grant")


async def test_revoked_refresh_token_is_invalid_grant(world: World) -> None:
    """RFC 7009 §2.1: once revoked, a refresh token cannot be used."""
    tokens = await tokens_for(world.user, world.app)
    r = await world.user.post(
        "/api/oauth/revoke",
        data={"token": tokens["refresh_token"]},
        auth=(world.app.client_id, world.app.client_secret),
    )
    assert r.status_code == 200
    _error(await _refresh(world, world.app, tokens["refresh_token"]), "invalid_grant")


async def test_two_different_refresh_tokens_in_one_request_are_refused(world: World) -> None:
    """RFC 6749 §3.2: ambiguous requests are ``invalid_request`` (``code`` is the guide's
    place for the refresh token; it must not disagree with ``refresh_token``)."""
    one = await tokens_for(world.user, world.app)
    two = await tokens_for(world.user, world.app)
    r = await _refresh(world, world.app, one["refresh_token"], code=two["refresh_token"])
    _error(r, "invalid_request")


# --- Grant type -----------------------------------------------------------------------------


async def test_grant_type_and_grand_type_must_agree(world: World) -> None:
    """RFC 6749 §3.2: ``grant_type`` and the guide's ``grand_type`` disagreeing is ambiguous."""
    code = await get_code(world.user, world.app)
    r = await form_exchange(
        world.user,
        world.app,
        grant_type="authorization_code",
        grand_type="refresh_token",
        code=code,
    )
    _error(r, "invalid_request")


@pytest.mark.parametrize(
    "grant_type",
    [
        "password",
        "client_credentials",
        "implicit",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "AUTHORIZATION_CODE",
    ],
)
async def test_unsupported_grant_types_are_refused(shared_world: World, grant_type: str) -> None:
    """RFC 6749 §5.2 and RFC 9700 §2.4 (no password grant): ``unsupported_grant_type``."""
    r = await form_exchange(shared_world.user, shared_world.app, grant_type=grant_type, code="x")
    _error(r, "unsupported_grant_type")


# --- Transport of the request ---------------------------------------------------------------


async def test_token_request_by_get_is_refused_and_consumes_nothing(world: World) -> None:
    """RFC 6749 §3.2: the client must use POST; a GET with the code and secret in the URL
    (which logs and proxies keep) is refused and the code stays unused."""
    code = await get_code(world.user, world.app)
    r = await world.user.get(
        "/api/oauth/token",
        params={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": world.app.client_id,
            "client_secret": world.app.client_secret,
        },
    )
    assert r.status_code == 405
    assert r.headers["cache-control"] == "no-store"
    assert (await _exchange(world, world.app, code)).status_code == 200


async def test_credentials_in_the_query_string_are_ignored(world: World) -> None:
    """RFC 6749 §2.3.1 (the secret must not be in the request URI) and §3.2 (parameters are
    sent in the body): the query string of a token request counts for nothing."""
    code = await get_code(world.user, world.app)
    query = {"client_id": world.app.client_id, "client_secret": world.app.client_secret}
    r = await world.user.post(
        "/api/oauth/token",
        params=query,
        data={"grant_type": "authorization_code", "code": code},
    )
    _error(r, "invalid_client", 401)
    r = await world.user.post(
        "/api/oauth/token",
        params={"code": code, "grant_type": "authorization_code"},
        data={},
        auth=(world.app.client_id, world.app.client_secret or ""),
    )
    _error(r, "invalid_request")


async def test_a_token_cannot_exceed_its_scope_at_the_resource(world: World) -> None:
    """RFC 6750 §3.1: a token without ``user.write`` cannot change the profile (403
    ``insufficient_scope``), whatever else it may do."""
    tokens = await tokens_for(world.user, world.app, "user.read")
    r = await world.user.patch(
        "/api/users/@me", json={"display_name": "pwned"}, headers=bearer(tokens["access_token"])
    )
    assert r.status_code == 403
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    me = await world.user.get("/api/users/@me", headers=bearer(tokens["access_token"]))
    assert me.json()["display_name"] != "pwned"
