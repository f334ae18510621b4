"""Threat model of the device flow (RFC 8628 §5): guessing user codes, codes of other clients,
replayed and raced device codes, forged consent forms.

Each test names the section it enforces; all run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from passlib.context import CryptContext

from tests.attacks.conftest import AppFactory, World, random_ip
from tests.conftest import TEST_ISSUER, FakeClock
from tests.device_helpers import (
    answer,
    decide,
    enable_device_grant,
    enable_device_grant_at,
    enter_code,
    poll,
    started,
)
from tests.helpers import Client, hidden, register_client, sign_up
from wtp_oauth.app import create_app
from wtp_oauth.config import Settings
from wtp_oauth.security import passwords

WRONG = "BCDF-GHJK"
# These tests sign up many accounts and test device codes, not argon2's cost (which
# tests/unit/test_passwords.py and the sign-in attacks do, with the real parameters).
_CHEAP_ARGON2 = CryptContext(
    schemes=["argon2"], argon2__memory_cost=1024, argon2__rounds=1, argon2__parallelism=1
)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "_context", _CHEAP_ARGON2)


@pytest.fixture
async def device_world(world: World, running_app: FastAPI) -> World:
    """The attack world, its application allowed to use the device grant."""
    await enable_device_grant(running_app.state.wtp.engine, world.app.client_id)
    return world


# --- §5.1 user code brute forcing -----------------------------------------------------------


async def test_guessing_is_throttled_per_account_even_across_sessions(
    custom_app: AppFactory, database_url: str, clock: FakeClock
) -> None:
    """RFC 8628 §5.1: past the limit, even the right code is refused until the window passes,
    and a new session (signing in again) does not start a new count."""
    async with custom_app(login_failure_limit=3) as http:
        account = await sign_up(http)
        for _ in range(3):
            assert (await enter_code(http, WRONG)).status_code == 400
        app = await register_client(http, name="Guesser's own device")
        await enable_device_grant_at(database_url, app.client_id)
        own = await started(http, app)
        throttled = await enter_code(http, own["user_code"])
        assert throttled.status_code == 429, throttled.text
        assert int(throttled.headers["retry-after"]) > 0
        # Sign in again: a fresh session, the same account, the same count.
        await http.delete("/api/session")
        r = await http.post(
            "/api/session", json={"username": account.username, "password": account.password}
        )
        assert r.status_code == 204
        assert (await enter_code(http, own["user_code"])).status_code == 429
        clock.advance(15 * 60 + 1)
        fresh = await started(http, app)  # the first one expired meanwhile
        assert (await enter_code(http, fresh["user_code"])).status_code == 200


async def test_a_right_code_does_not_reset_the_count(
    custom_app: AppFactory, database_url: str
) -> None:
    """Anyone can make device codes of their own, so typing one proves nothing: failures stay
    counted (unlike a successful sign-in, which clears its username's)."""
    async with custom_app(login_failure_limit=3) as http:
        await sign_up(http)
        app = await register_client(http, name="Own device")
        await enable_device_grant_at(database_url, app.client_id)
        for typed in range(3):
            assert (await enter_code(http, WRONG)).status_code == 400
            if typed < 2:  # a right code between the wrong ones
                own = await started(http, app)
                assert (await enter_code(http, own["user_code"])).status_code == 200
        assert (await enter_code(http, WRONG)).status_code == 429


async def test_guessing_is_throttled_per_address_across_accounts(
    database_url: str, clock: FakeClock
) -> None:
    """RFC 8628 §5.1: many accounts from one address share ten times one account's limit."""
    settings = Settings(
        database_url=database_url, issuer=TEST_ISSUER, pool_size=5, login_failure_limit=1
    )
    app = create_app(settings, clock=clock)
    address = random_ip()
    async with app.router.lifespan_context(app):

        @asynccontextmanager
        async def browser() -> AsyncIterator[httpx.AsyncClient]:
            """A browser of its own (its own cookies) at the one address."""
            transport = httpx.ASGITransport(app=app, client=(address, 50000))
            async with httpx.AsyncClient(transport=transport, base_url=TEST_ISSUER) as http:
                yield http

        for _ in range(10):
            async with browser() as http:
                await sign_up(http)
                assert (await enter_code(http, WRONG)).status_code == 400
        async with browser() as http:
            await sign_up(http)
            assert (await enter_code(http, WRONG)).status_code == 429
        # Another address is not affected.
        transport = httpx.ASGITransport(app=app, client=(random_ip(), 50000))
        async with httpx.AsyncClient(transport=transport, base_url=TEST_ISSUER) as elsewhere:
            await sign_up(elsewhere)
            assert (await enter_code(elsewhere, WRONG)).status_code == 400


async def test_parallel_guesses_see_one_another(custom_app: AppFactory) -> None:
    """Counted before the lookup: of many guesses sent at once, at most the limit get an
    answer other than 429."""
    async with custom_app(login_failure_limit=3) as http:
        await sign_up(http)
        page = await http.get("/device")
        token = hidden(page.text, "csrf_token")
        answers = await asyncio.gather(
            *(
                http.post("/device", data={"user_code": WRONG, "csrf_token": token})
                for _ in range(8)
            )
        )
    statuses = sorted(r.status_code for r in answers)
    assert statuses.count(400) <= 3 and statuses.count(429) >= 5, statuses


# --- client binding and single use (§5.2, RFC 6749 §10.5) -------------------------------------


async def test_a_code_allowed_by_a_user_cannot_be_polled_by_another_client(
    device_world: World, running_app: FastAPI, rival: Client
) -> None:
    await enable_device_grant(running_app.state.wtp.engine, rival.client_id)
    device = await started(device_world.dev, device_world.app)
    await decide(device_world.user, device["user_code"])
    stolen = await poll(device_world.dev, rival, device["device_code"])
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert "access_token" not in stolen.text
    mine = await poll(device_world.dev, device_world.app, device["device_code"])
    assert mine.status_code == 200, mine.text


async def test_replay_after_success_revokes_the_tokens(device_world: World) -> None:
    device = await started(device_world.dev, device_world.app)
    await decide(device_world.user, device["user_code"])
    tokens = (await poll(device_world.dev, device_world.app, device["device_code"])).json()
    me = await device_world.dev.get("/api/users/@me", headers=_bearer(tokens["access_token"]))
    assert me.status_code == 200
    replay = await poll(device_world.dev, device_world.app, device["device_code"])
    assert replay.json()["error"] == "invalid_grant"
    me = await device_world.dev.get("/api/users/@me", headers=_bearer(tokens["access_token"]))
    assert me.status_code == 401


async def test_racing_polls_redeem_once(device_world: World) -> None:
    """STYLE §5: single use is atomic in the database; of polls racing on an allowed code, one
    gets the tokens."""
    device = await started(device_world.dev, device_world.app)
    await decide(device_world.user, device["user_code"])
    answers = await asyncio.gather(
        *(poll(device_world.dev, device_world.app, device["device_code"]) for _ in range(6))
    )
    assert sorted(r.status_code for r in answers).count(200) == 1, [r.text for r in answers]


async def test_a_denied_code_cannot_be_allowed_afterwards(device_world: World) -> None:
    device = await started(device_world.dev, device_world.app)
    consent = await enter_code(device_world.user, device["user_code"])
    assert (await answer(device_world.user, consent.text, "deny")).status_code == 200
    assert (await answer(device_world.user, consent.text, "allow")).status_code == 400
    r = await poll(device_world.dev, device_world.app, device["device_code"])
    assert r.json()["error"] == "access_denied"


# --- §5.4 remote phishing, CSRF ---------------------------------------------------------------


async def test_a_consent_form_from_another_session_allows_nothing(device_world: World) -> None:
    """An attacker who looked the code up in their own session cannot make a victim's browser
    submit that form (CSRF): the form's token is bound to the session that looked it up."""
    device = await started(device_world.dev, device_world.app)
    attacker = device_world.dev  # signed in as the developer
    consent = await enter_code(attacker, device["user_code"])
    assert consent.status_code == 200
    forged = await device_world.user.post(
        "/device/consent",
        data={
            "user_code": hidden(consent.text, "user_code"),
            "consent_token": hidden(consent.text, "consent_token"),
            "decision": "allow",
        },
        headers={"Origin": "https://attacker.example"},
    )
    assert forged.status_code == 400
    r = await poll(device_world.dev, device_world.app, device["device_code"])
    assert r.json()["error"] == "authorization_pending"


async def test_a_consent_token_names_one_code(device_world: World) -> None:
    """The token for one code cannot answer another, which would skip the throttled lookup."""
    first = await started(device_world.dev, device_world.app)
    second = await started(device_world.dev, device_world.app)
    consent = await enter_code(device_world.user, first["user_code"])
    r = await device_world.user.post(
        "/device/consent",
        data={
            "user_code": second["user_code"],
            "consent_token": hidden(consent.text, "consent_token"),
            "decision": "allow",
        },
    )
    assert r.status_code == 400
    polled = await poll(device_world.dev, device_world.app, second["device_code"])
    assert polled.json()["error"] == "authorization_pending"


async def test_no_cross_site_answer_without_the_token(device_world: World) -> None:
    device = await started(device_world.dev, device_world.app)
    for path, data in (
        ("/device", {"user_code": device["user_code"]}),
        ("/device/consent", {"user_code": device["user_code"], "decision": "allow"}),
    ):
        r = await device_world.user.post(
            path, data=data, headers={"Origin": "https://attacker.example"}
        )
        assert r.status_code == 400, (path, r.text)
    r = await poll(device_world.dev, device_world.app, device["device_code"])
    assert r.json()["error"] == "authorization_pending"


async def test_the_device_pages_cannot_be_framed(device_world: World) -> None:
    r = await device_world.user.get("/device")
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


# --- helpers ----------------------------------------------------------------------------------


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
