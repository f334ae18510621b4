"""Threat model of the consent step and the user's authorized applications.

CSRF against the consent form (RFC 6749 §10.12), tampering with what the form carries
(RFC 6749 §10.6, RFC 9700 §4.1), prompt handling (OpenID Connect Core §3.1.2.1, which SPEC §5
borrows) and withdrawing a grant (SPEC §7, RFC 7009 §2.1). Each test names its section.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.attacks.conftest import ATTACKER_REDIRECT, World, bearer, random_ip
from tests.conftest import TEST_ISSUER, FakeClock
from tests.helpers import (
    Client,
    authorize_params,
    form_exchange,
    get_code,
    guide_exchange,
    hidden,
    query_of,
    register_client,
    sign_up,
    tokens_for,
)


async def _consent_page(world: World, scopes: str = "user.read", **extra: str) -> httpx.Response:
    r = await world.user.get(
        "/oauth/authorize", params=authorize_params(world.app, scopes, **extra)
    )
    assert r.status_code == 200, r.text
    return r


async def _answer(http: httpx.AsyncClient, **form: str) -> httpx.Response:
    return await http.post("/oauth/authorize", data={"decision": "allow", **form})


def _refused(r: httpx.Response) -> None:
    """An error page: no redirect, so nothing reaches the client."""
    assert r.status_code == 400, r.text
    assert "location" not in r.headers


async def _browser(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(random_ip(), 50002))
    return httpx.AsyncClient(transport=transport, base_url=TEST_ISSUER)


# --- CSRF -----------------------------------------------------------------------------------


async def test_consent_without_csrf_token_issues_nothing(world: World) -> None:
    """RFC 6749 §10.12: the consent POST needs the CSRF token bound to the session."""
    page = await _consent_page(world)
    r = await _answer(world.user, request_id=hidden(page.text, "request_id"))
    _refused(r)
    # The request survives the forged attempt: the real user can still answer it.
    r = await _answer(
        world.user,
        request_id=hidden(page.text, "request_id"),
        csrf_token=hidden(page.text, "csrf_token"),
    )
    assert r.status_code == 303
    assert "code" in query_of(r.headers["location"])


async def test_csrf_token_of_another_session_is_refused(world: World, running_app: FastAPI) -> None:
    """RFC 6749 §10.12: a token is bound to one session; an attacker's own valid token, from
    their own session, does not work in the victim's browser."""
    victim_page = await _consent_page(world)
    async with await _browser(running_app) as attacker:
        await sign_up(attacker)
        r = await attacker.get("/oauth/authorize", params=authorize_params(world.app))
        attacker_token = hidden(r.text, "csrf_token")
        r = await _answer(
            world.user,
            request_id=hidden(victim_page.text, "request_id"),
            csrf_token=attacker_token,
        )
    _refused(r)


async def test_request_id_of_another_session_is_refused(world: World, running_app: FastAPI) -> None:
    """RFC 6749 §10.12 and §10.6: a pending request belongs to the browser session that made
    it; an attacker cannot make a victim approve the attacker's request (or vice versa)."""
    async with await _browser(running_app) as attacker:
        await sign_up(attacker)
        r = await attacker.get(
            "/oauth/authorize", params=authorize_params(world.app, "user.read user.write")
        )
        attacker_request = hidden(r.text, "request_id")
    victim_page = await _consent_page(world)
    r = await _answer(
        world.user,
        request_id=attacker_request,
        csrf_token=hidden(victim_page.text, "csrf_token"),
    )
    _refused(r)


async def test_consent_without_a_session_issues_nothing(world: World, running_app: FastAPI) -> None:
    """RFC 6749 §10.12: a cross-site POST from a browser without our session does nothing."""
    page = await _consent_page(world)
    async with await _browser(running_app) as stranger:
        r = await _answer(
            stranger,
            request_id=hidden(page.text, "request_id"),
            csrf_token=hidden(page.text, "csrf_token"),
        )
    _refused(r)


# --- Tampering ------------------------------------------------------------------------------


async def test_tampered_hidden_fields_cannot_widen_scope_or_move_the_redirect(
    world: World,
) -> None:
    """RFC 6749 §10.6 and RFC 9700 §4.1: the server acts on the request it stored, so fields a
    user (or a script in the page) adds to the form change neither scope nor destination."""
    page = await _consent_page(world, "user.read")
    r = await _answer(
        world.user,
        request_id=hidden(page.text, "request_id"),
        csrf_token=hidden(page.text, "csrf_token"),
        scope="user.read user.email user.write",
        scopes="user.read user.email user.write",
        redirect_uri=ATTACKER_REDIRECT,
        client_id="0" * 24,
        state="tampered",
        code_challenge="x" * 43,
    )
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith(world.app.redirect_uri + "?")
    query = query_of(location)
    assert query["state"] != "tampered"
    tokens = (await guide_exchange(world.user, world.app, query["code"])).json()
    assert tokens["scope"] == "user.read"


async def test_consent_request_is_single_use(world: World) -> None:
    """RFC 6749 §10.5: one approval yields one code; a resubmitted form yields nothing."""
    page = await _consent_page(world)
    form = {
        "request_id": hidden(page.text, "request_id"),
        "csrf_token": hidden(page.text, "csrf_token"),
    }
    assert (await _answer(world.user, **form)).status_code == 303
    _refused(await _answer(world.user, **form))


async def test_pending_consent_request_expires(world: World, clock: FakeClock) -> None:
    """RFC 6749 §10.5 (short-lived grants): an unanswered consent page goes stale."""
    page = await _consent_page(world)
    clock.advance(31 * 60)
    r = await _answer(
        world.user,
        request_id=hidden(page.text, "request_id"),
        csrf_token=hidden(page.text, "csrf_token"),
    )
    _refused(r)


async def test_an_invalid_decision_issues_nothing(world: World) -> None:
    """RFC 6749 §4.1.2: only an explicit allow issues a code."""
    page = await _consent_page(world)
    r = await world.user.post(
        "/oauth/authorize",
        data={
            "request_id": hidden(page.text, "request_id"),
            "csrf_token": hidden(page.text, "csrf_token"),
            "decision": "ALLOW ",
        },
    )
    _refused(r)


async def test_deny_sends_access_denied_with_state_and_iss(world: World) -> None:
    """RFC 6749 §4.1.2.1 and RFC 9207 §2: a refusal is ``access_denied`` with no code."""
    page = await _consent_page(world, state="st-deny")
    r = await _answer(
        world.user,
        request_id=hidden(page.text, "request_id"),
        csrf_token=hidden(page.text, "csrf_token"),
        decision="deny",
    )
    assert r.status_code == 303
    query = query_of(r.headers["location"])
    assert query["error"] == "access_denied"
    assert query["state"] == "st-deny"
    assert query["iss"] == TEST_ISSUER
    assert "code" not in query


# --- Remembered consent and prompt ----------------------------------------------------------


async def test_remembered_consent_does_not_cover_wider_scopes(world: World) -> None:
    """RFC 6749 §3.3 / SPEC §5: a remembered consent is reused only for scopes it covers; a
    client asking for more is sent back to the consent page."""
    await get_code(world.user, world.app, "user.read")
    r = await world.user.get("/oauth/authorize", params=authorize_params(world.app, "user.read"))
    assert r.status_code == 302
    assert "code" in query_of(r.headers["location"])
    r = await world.user.get(
        "/oauth/authorize", params=authorize_params(world.app, "user.read user.write")
    )
    assert r.status_code == 200
    assert 'data-scope="user.write"' in r.text


async def test_prompt_consent_asks_again(world: World) -> None:
    """OIDC Core §3.1.2.1 ``prompt=consent`` (an RFC 6749 §8.2 extension): the user is asked even
    with a remembered grant."""
    await get_code(world.user, world.app)
    await _consent_page(world, prompt="consent")


async def test_prompt_none_never_shows_a_page(world: World, running_app: FastAPI) -> None:
    """OIDC Core §3.1.2.1 ``prompt=none`` (an RFC 6749 §8.2 extension): ``login_required`` when
    signed out, ``consent_required`` when consent is missing — redirected, never a page to click
    through."""
    r = await world.user.get("/oauth/authorize", params=authorize_params(world.app, prompt="none"))
    assert query_of(r.headers["location"])["error"] == "consent_required"
    async with await _browser(running_app) as signed_out:
        r = await signed_out.get(
            "/oauth/authorize", params=authorize_params(world.app, prompt="none")
        )
    assert query_of(r.headers["location"])["error"] == "login_required"
    await get_code(world.user, world.app)
    r = await world.user.get("/oauth/authorize", params=authorize_params(world.app, prompt="none"))
    assert "code" in query_of(r.headers["location"])


async def test_prompt_login_sends_a_signed_in_user_through_login(world: World) -> None:
    """OIDC Core §3.1.2.1 ``prompt=login`` (an RFC 6749 §8.2 extension): re-authentication, even
    with a live session and a remembered consent; the way back carries no ``prompt=login`` (no
    loop)."""
    await get_code(world.user, world.app)
    r = await world.user.get("/oauth/authorize", params=authorize_params(world.app, prompt="login"))
    assert r.status_code == 302
    location = r.headers["location"]
    assert location.startswith("/login?next=")
    assert "prompt%3Dlogin" not in location and "prompt=login" not in location


# --- Authorized applications ----------------------------------------------------------------


async def test_withdrawn_authorization_kills_tokens_codes_and_consent(world: World) -> None:
    """SPEC §7 and RFC 7009 §2.1: withdrawing an application's authorization revokes its
    tokens and pending codes, and the next authorization asks again."""
    tokens = await tokens_for(world.user, world.app)
    pending_code = await get_code(world.user, world.app)
    r = await world.user.get("/api/users/@me/authorizations")
    assert [a["client_id"] for a in r.json()] == [world.app.client_id]
    r = await world.user.delete(f"/api/users/@me/authorizations/{world.app.client_id}")
    assert r.status_code == 204
    assert (await world.user.get("/api/users/@me/authorizations")).json() == []
    me = await world.user.get("/api/users/@me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 401
    r = await form_exchange(
        world.user, world.app, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert r.json()["error"] == "invalid_grant"
    r = await guide_exchange(world.user, world.app, pending_code)
    assert r.json()["error"] == "invalid_grant"
    await _consent_page(world)


async def test_authorizations_are_per_user(world: World, running_app: FastAPI) -> None:
    """RFC 7009 §2.1 / SPEC §7: one user can neither list nor withdraw another user's
    authorizations."""
    tokens = await tokens_for(world.user, world.app)
    async with await _browser(running_app) as intruder:
        await sign_up(intruder)
        assert (await intruder.get("/api/users/@me/authorizations")).json() == []
        r = await intruder.delete(f"/api/users/@me/authorizations/{world.app.client_id}")
        assert r.status_code == 404
    me = await world.user.get("/api/users/@me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200


async def test_authorizations_need_a_session_not_a_token(
    world: World, running_app: FastAPI
) -> None:
    """RFC 6749 §3.3 / SPEC §7 (no scope covers grants): the list is for the signed-in user; an
    application's access token (even one of this user) does not open it — a client cannot withdraw
    or read other grants."""
    tokens = await tokens_for(world.user, world.app)
    async with await _browser(running_app) as application:
        headers = bearer(tokens["access_token"])
        assert (
            await application.get("/api/users/@me/authorizations", headers=headers)
        ).status_code == 401
        r = await application.delete(
            f"/api/users/@me/authorizations/{world.app.client_id}", headers=headers
        )
        assert r.status_code == 401


async def test_consent_page_escapes_what_the_application_controls(world: World) -> None:
    """RFC 6749 §10.2 (the user must see who is asking) / CWE-79: an application's name and
    its owner's text are shown escaped, so they cannot script the page that holds the Allow
    button."""
    payload = '<script>alert(1)</script><img src=x onerror=alert(2)>"'
    app = await register_client(world.dev, name=payload)
    r = await world.user.get("/oauth/authorize", params=authorize_params(app))
    assert r.status_code == 200
    assert "<script>alert(1)" not in r.text
    assert "<img src=x" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text


# --- The application as it is when the user answers (SPEC §17) -----------------------------


async def test_consent_after_the_redirect_uri_was_removed_issues_nothing(world: World) -> None:
    """RFC 6749 §3.1.2.4, SPEC §17: a request waits up to 30 minutes for its answer; if the
    developer removed its redirect URI meanwhile (it leaked, say), neither a code nor a refusal
    goes there."""
    allow_page = await _consent_page(world)
    deny_page = await _consent_page(world)
    r = await world.dev.patch(
        f"/api/applications/{world.app.client_id}",
        json={"redirect_uris": ["https://client.example/new-callback"]},
    )
    assert r.status_code == 200, r.text
    for page, decision in ((allow_page, "allow"), (deny_page, "deny")):
        r = await _answer(
            world.user,
            request_id=hidden(page.text, "request_id"),
            csrf_token=hidden(page.text, "csrf_token"),
            decision=decision,
        )
        _refused(r)
        assert "no longer registered" in r.text
    # Nothing was granted either: the next request asks again.
    assert (await world.user.get("/api/users/@me/authorizations")).json() == []


async def test_consent_still_works_for_a_redirect_uri_that_stayed(world: World) -> None:
    """Only the removed URI is refused; editing the list around the one in use changes nothing."""
    page = await _consent_page(world)
    r = await world.dev.patch(
        f"/api/applications/{world.app.client_id}",
        json={"redirect_uris": ["https://client.example/other", world.app.redirect_uri]},
    )
    assert r.status_code == 200
    r = await _answer(
        world.user,
        request_id=hidden(page.text, "request_id"),
        csrf_token=hidden(page.text, "csrf_token"),
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith(world.app.redirect_uri + "?code=")


async def test_consent_page_marks_the_developers_words(world: World) -> None:
    """SPEC §17 (impersonation): the name and description are the developer's, quoted and
    labelled as such, apart from what the service itself says."""
    r = await world.dev.post(
        "/api/applications",
        json={
            "name": "Party Helper",
            "description": "Official Wants to Party app. Verified and safe.",
            "redirect_uris": [world.app.redirect_uri],
        },
    )
    assert r.status_code == 201
    app = Client(r.json()["client_id"], r.json()["client_secret"], [world.app.redirect_uri])
    page = await world.user.get("/oauth/authorize", params=authorize_params(app))
    assert page.status_code == 200
    text = page.text
    assert '<q class="developer-words app-name">Party Helper</q>' in text
    assert "Description from the developer (not checked by Wants to Party):" in text
    assert (
        '<blockquote class="app-description">Official Wants to Party app. Verified and safe.'
        "</blockquote>" in text
    )
    assert "not by Wants to Party" in text
    # The service's own list of what is granted is outside the quoted words.
    quoted = text.split('<figure class="developer-words">')[1].split("</figure>")[0]
    assert 'class="scopes"' not in quoted and "Allow" not in quoted


async def test_an_imitating_name_cannot_reach_the_consent_page(world: World) -> None:
    """SPEC §17: "Wants to Party" and its look-alikes are refused at registration."""
    for name in ("Wants to Party", "WTP", "Wаnts to Pаrty"):
        r = await world.dev.post(
            "/api/applications", json={"name": name, "redirect_uris": [world.app.redirect_uri]}
        )
        assert r.status_code == 422
        assert r.json()["detail"][0]["msg"].startswith("This name imitates Wants to Party")
