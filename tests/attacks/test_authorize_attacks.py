"""Threat model of the authorization endpoint, ``GET /oauth/authorize``.

Attacks on the redirect URI (open redirectors, code theft: RFC 6749 §10.6, §10.15, RFC 9700
§4.1), on PKCE (downgrade and weak methods: RFC 7636, RFC 9700 §2.1.1, §4.8) and on the error
channel (RFC 6749 §4.1.2.1, RFC 9207 mix-up). Each test names the section it enforces.
"""

from __future__ import annotations

import secrets

import httpx
import pytest
from fastapi import FastAPI

from tests.attacks.conftest import World
from tests.helpers import Client, authorize_params, pkce_pair, query_of, register_client

S256_CHALLENGE = pkce_pair()[1]


def _is_error_page(r: httpx.Response) -> bool:
    return (
        r.status_code == 400
        and "location" not in r.headers
        and r.headers["content-type"].startswith("text/html")
    )


async def _redirected_error(world: World, **params: str) -> dict[str, str]:
    r = await world.user.get("/oauth/authorize", params=authorize_params(world.app, **params))
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith(world.app.redirect_uri + "?")
    query = query_of(location)
    assert "code" not in query
    return query


# --- PKCE -----------------------------------------------------------------------------------


async def test_pkce_plain_method_is_refused(world: World) -> None:
    """RFC 9700 §2.1.1: ``plain`` must not be used; S256 only (SPEC §5). The verifier sent as a
    plain challenge is 43 base64url characters, so only the method can be what is refused."""
    verifier = secrets.token_urlsafe(32)
    assert len(verifier) == 43
    query = await _redirected_error(world, code_challenge=verifier, code_challenge_method="plain")
    assert query["error"] == "invalid_request"


async def test_pkce_challenge_without_method_is_refused(world: World) -> None:
    """RFC 7636 §4.3: a missing method means ``plain``, which RFC 9700 §2.1.1 forbids."""
    query = await _redirected_error(world, code_challenge=S256_CHALLENGE)
    assert query["error"] == "invalid_request"


async def test_pkce_method_without_challenge_is_refused(world: World) -> None:
    """RFC 7636 §4.4.1: a method without a challenge is a malformed request."""
    query = await _redirected_error(world, code_challenge_method="S256")
    assert query["error"] == "invalid_request"


@pytest.mark.parametrize(
    "challenge",
    [
        "short",
        S256_CHALLENGE + "=",  # padded
        S256_CHALLENGE[:-1] + "+",  # not base64url
        S256_CHALLENGE[:-1] + "/",
        S256_CHALLENGE + S256_CHALLENGE,  # too long for a SHA-256
        " " + S256_CHALLENGE[1:],
    ],
    ids=["short", "padded", "plus", "slash", "too-long", "space"],
)
async def test_pkce_malformed_s256_challenge_is_refused(
    shared_world: World, challenge: str
) -> None:
    """RFC 7636 §4.2: an S256 challenge is the unpadded base64url of a SHA-256 (43 chars)."""
    query = await _redirected_error(
        shared_world, code_challenge=challenge, code_challenge_method="S256"
    )
    assert query["error"] == "invalid_request"


async def test_pkce_unknown_method_is_refused(world: World) -> None:
    """RFC 7636 §4.4.1: only the methods the server supports (S256) are accepted."""
    query = await _redirected_error(
        world, code_challenge=S256_CHALLENGE, code_challenge_method="S512"
    )
    assert query["error"] == "invalid_request"


async def test_public_client_without_pkce_is_refused(world: World, public_app: Client) -> None:
    """RFC 9700 §2.1.1 / RFC 8252 §8.1: public clients must use PKCE."""
    params = authorize_params(public_app, redirect_uri="http://127.0.0.1/callback")
    r = await world.user.get("/oauth/authorize", params=params)
    assert r.status_code == 302
    query = query_of(r.headers["location"])
    assert query["error"] == "invalid_request"
    assert "code" not in query


# --- Redirect URIs --------------------------------------------------------------------------

REGISTERED = "https://client.example/callback"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://client.example/callback/",  # trailing slash
        "https://client.example/Callback",  # path case
        "https://CLIENT.example/callback",  # host case: exact string match
        "https://client.example/callback?next=https://attacker.example",  # added query
        "https://client.example/callback/../evil",  # path traversal
        "https://client.example/callback%2F..%2Fevil",  # encoded traversal
        "https://client.example:8443/callback",  # port
        "https://client.example:443/callback",  # default port written out
        "http://client.example/callback",  # scheme downgrade
        "https://client.example.attacker.example/callback",  # suffix host
        "https://attacker.example/callback",  # other host
        "https://client.example@attacker.example/callback",  # userinfo trick
        "https://attacker.example@client.example/callback",  # userinfo on the real host
        "https://client.example/callback#",  # empty fragment
        "https://client.example/callback#frag",  # fragment
        "https://client.example\\@attacker.example/callback",  # backslash confusion
        "//attacker.example/callback",  # scheme-relative
        "https://client.example/callback\x00",  # NUL
        " https://client.example/callback",  # leading space
        "javascript:alert(1)//https://client.example/callback",
    ],
)
async def test_redirect_uri_must_match_exactly(shared_world: World, redirect_uri: str) -> None:
    """RFC 9700 §4.1.3 and RFC 6749 §3.1.2.3: simple string comparison, so every variant of the
    registered URI is refused — on an error page, never by redirecting (§4.1.2.1)."""
    assert shared_world.app.redirect_uri == REGISTERED
    params = authorize_params(shared_world.app, redirect_uri=redirect_uri)
    r = await shared_world.user.get("/oauth/authorize", params=params)
    assert _is_error_page(r), (r.status_code, r.headers.get("location"))


async def test_loopback_redirect_uri_may_use_any_port(world: World) -> None:
    """RFC 8252 §7.3: for a loopback ``http`` URI only the port may differ."""
    app = await register_client(world.dev, ["http://127.0.0.1/cb", "http://[::1]:9/cb"])
    for uri in ("http://127.0.0.1:51004/cb", "http://[::1]:40000/cb", "http://127.0.0.1/cb"):
        r = await world.user.get("/oauth/authorize", params=authorize_params(app, redirect_uri=uri))
        assert r.status_code == 200, (uri, r.text)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:51004/cb/",  # path
        "http://127.0.0.1:51004/CB",  # path case
        "http://localhost:51004/cb",  # other loopback name
        "http://127.0.0.2:51004/cb",  # other address
        "https://127.0.0.1:51004/cb",  # other scheme
        "http://127.0.0.1:51004/cb?x=1",  # query
        "http://127.0.0.1:51004/cb#",  # empty fragment
        "http://127.0.0.1:51004/cb#x",  # fragment
        "http://user@127.0.0.1:51004/cb",  # userinfo
        "http://127.0.0.1:99999/cb",  # impossible port
        "http://127.0.0.1:51004@attacker.example/cb",  # userinfo hiding the real host
    ],
)
async def test_loopback_redirect_uri_only_the_port_may_differ(
    shared_world: World, redirect_uri: str
) -> None:
    """RFC 8252 §7.3 and RFC 9700 §4.1.3: the any-port rule does not loosen anything else."""
    app = await register_client(shared_world.dev, ["http://127.0.0.1/cb"])
    r = await shared_world.user.get(
        "/oauth/authorize", params=authorize_params(app, redirect_uri=redirect_uri)
    )
    assert _is_error_page(r), (r.status_code, r.headers.get("location"))


async def test_invalid_redirect_uri_wins_over_every_other_error(world: World) -> None:
    """RFC 6749 §4.1.2.1: with an invalid redirect URI nothing is sent to it, whatever else
    is wrong in the request (bad response type, scope, PKCE, prompt, state)."""
    params = authorize_params(
        world.app,
        redirect_uri="https://attacker.example/callback",
        response_type="token",
        scopes="admin",
        code_challenge="x",
        code_challenge_method="plain",
        prompt="none",
        state="s" * 5000,
    )
    for browser in (world.user, world.dev):
        r = await browser.get("/oauth/authorize", params=params)
        assert _is_error_page(r)
        assert "attacker.example" not in r.headers.get("location", "")


async def test_invalid_redirect_uri_does_not_redirect_when_signed_out(
    world: World, running_app: FastAPI
) -> None:
    """RFC 6749 §4.1.2.1: the check precedes sign-in, so not even /login carries it along."""
    transport = httpx.ASGITransport(app=running_app, client=("10.9.9.9", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anonymous:
        params = authorize_params(world.app, redirect_uri="https://attacker.example/callback")
        r = await anonymous.get("/oauth/authorize", params=params)
    assert _is_error_page(r)


async def test_unknown_client_never_redirects(world: World) -> None:
    """RFC 6749 §4.1.2.1: an unknown client_id is shown to the user, not redirected."""
    params = authorize_params(world.app, client_id="0" * 24)
    r = await world.user.get("/oauth/authorize", params=params)
    assert _is_error_page(r)


async def test_missing_redirect_uri_never_redirects(world: World) -> None:
    """RFC 6749 §3.1.2.3 / SPEC §5: a missing redirect_uri is an error page."""
    params = authorize_params(world.app)
    del params["redirect_uri"]
    r = await world.user.get("/oauth/authorize", params=params)
    assert _is_error_page(r)


async def test_repeated_redirect_uri_never_redirects(world: World) -> None:
    """RFC 6749 §3.1: parameters must not be repeated; which redirect_uri would count?"""
    params = list(authorize_params(world.app).items())
    params.append(("redirect_uri", "https://attacker.example/callback"))
    r = await world.user.get("/oauth/authorize", params=params)
    assert _is_error_page(r)


async def test_redirect_uri_registered_by_another_client_is_refused(
    world: World, rival: Client
) -> None:
    """RFC 6749 §10.6: the redirect URI must be one registered for *this* client."""
    params = authorize_params(world.app, redirect_uri=rival.redirect_uri)
    r = await world.user.get("/oauth/authorize", params=params)
    assert _is_error_page(r)


# --- The error channel ----------------------------------------------------------------------


async def test_error_redirect_carries_state_and_iss(world: World) -> None:
    """RFC 9207 §2 (mix-up defence) and RFC 6749 §4.1.2.1: errors carry ``iss`` and ``state``."""
    query = await _redirected_error(world, response_type="token", state="xyz")
    assert query == {
        "error": "unsupported_response_type",
        "error_description": query["error_description"],
        "state": "xyz",
        "iss": "http://testserver",
    }


async def test_implicit_grant_is_refused(world: World) -> None:
    """RFC 9700 §2.1.2: the implicit grant (response_type=token) is not offered."""
    for response_type in ("token", "code token", "id_token"):
        query = await _redirected_error(world, response_type=response_type)
        assert query["error"] == "unsupported_response_type"


async def test_repeated_parameter_is_invalid_request(world: World) -> None:
    """RFC 6749 §3.1: request parameters must not be included more than once."""
    params = [*authorize_params(world.app).items(), ("response_type", "token")]
    r = await world.user.get("/oauth/authorize", params=params)
    assert query_of(r.headers["location"])["error"] == "invalid_request"


async def test_unknown_scope_is_invalid_scope(world: World) -> None:
    """RFC 6749 §4.1.2.1: an unknown scope is ``invalid_scope``, never silently granted."""
    query = await _redirected_error(world, scopes="user.read admin")
    assert query["error"] == "invalid_scope"


async def test_missing_scope_is_invalid_scope(world: World) -> None:
    """RFC 6749 §3.3 / SPEC §5: no default scope; a missing one is ``invalid_scope``."""
    query = await _redirected_error(world, scopes="")
    assert query["error"] == "invalid_scope"


async def test_oversized_state_is_refused(world: World) -> None:
    """RFC 6749 §4.1.2.1: an absurd ``state`` is ``invalid_request``, not stored or echoed."""
    query = await _redirected_error(world, state="s" * 3000)
    assert query["error"] == "invalid_request"
    assert "state" not in query


@pytest.mark.parametrize("prompt", ["none consent", "none login", "select_account", "bogus"])
async def test_invalid_prompt_is_refused(shared_world: World, prompt: str) -> None:
    """OIDC Core §3.1.2.1 (an RFC 6749 §8.2 extension): ``none`` stands alone; unknown values are
    ``invalid_request``."""
    query = await _redirected_error(shared_world, prompt=prompt)
    assert query["error"] == "invalid_request"


@pytest.mark.parametrize(
    "uri,client_type",
    [
        ("javascript:alert(document.cookie)", "public"),
        ("data:text/html,<script>alert(1)</script>", "public"),
        ("http://client.example/callback", "confidential"),  # plain http off loopback
        ("https://*.client.example/callback", "confidential"),
        ("https://client.example/callback#frag", "confidential"),
        ("https://user:pw@client.example/callback", "confidential"),
        ("com.example.app:/callback", "confidential"),  # private scheme for a web client
        ("example:/callback", "public"),  # a private scheme must be a reverse domain
        ("/relative/callback", "confidential"),
        ("https:///callback", "confidential"),
    ],
)
async def test_dangerous_redirect_uris_cannot_be_registered(
    shared_world: World, uri: str, client_type: str
) -> None:
    """RFC 9700 §4.1.3 and §2.6 (no wildcards, https), RFC 6749 §3.1.2 (absolute, no fragment),
    RFC 8252 §7.1 (reverse-domain private schemes, for native apps only): such URIs are
    refused at registration, so no code can ever be sent to them."""
    r = await shared_world.dev.post(
        "/api/applications",
        json={"name": "Bad", "redirect_uris": [uri], "client_type": client_type},
    )
    assert r.status_code == 422, r.text
