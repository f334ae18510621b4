"""Races against a real ``wtp-oauth serve --workers 2`` process, with real parallel requests.

Single use must hold in the database, not in one process's memory (RFC 6749 §4.1.2, §10.5;
RFC 9700 §4.14.2; STYLE §5): of N simultaneous redemptions of one code, rotations of one refresh
token, or answers to one consent request, exactly one wins — on SQLite and on PostgreSQL.
Each test names the section it enforces.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from tests.attacks.conftest import bearer
from tests.conftest import LiveServer
from tests.helpers import (
    Client,
    authorize_params,
    get_code,
    guide_exchange,
    hidden,
    query_of,
    register_client,
    sign_up,
)

N = 12


@dataclass
class LiveWorld:
    user: httpx.AsyncClient
    app: Client


@pytest.fixture
async def live(live_server: LiveServer) -> AsyncIterator[LiveWorld]:
    limits = httpx.Limits(max_connections=N + 4)
    async with (
        httpx.AsyncClient(base_url=live_server.url, timeout=60) as dev,
        httpx.AsyncClient(base_url=live_server.url, timeout=60, limits=limits) as user,
    ):
        await sign_up(dev)
        app = await register_client(dev)
        await sign_up(user)
        yield LiveWorld(user=user, app=app)


async def _fresh_connection(live_server: LiveServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=live_server.url, timeout=60)


def _outcomes(answers: list[httpx.Response]) -> list[str]:
    return sorted("ok" if r.status_code == 200 else r.json().get("error", "?") for r in answers)


async def test_one_code_redeemed_in_parallel_wins_exactly_once(
    live: LiveWorld, live_server: LiveServer
) -> None:
    """RFC 6749 §4.1.2 and §10.5: of N simultaneous exchanges of one code, exactly one gets
    tokens; the others are ``invalid_grant`` and, being replays, revoke what the winner got."""
    code = await get_code(live.user, live.app)
    answers = await asyncio.gather(*(guide_exchange(live.user, live.app, code) for _ in range(N)))
    assert _outcomes(answers) == ["invalid_grant"] * (N - 1) + ["ok"], [r.text for r in answers]
    winner = next(r.json() for r in answers if r.status_code == 200)
    async with await _fresh_connection(live_server) as other:
        me = await other.get("/api/users/@me", headers=bearer(winner["access_token"]))
    assert me.status_code == 401


async def test_one_refresh_token_rotated_in_parallel_wins_exactly_once(
    live: LiveWorld, live_server: LiveServer
) -> None:
    """RFC 9700 §4.14.2: of N simultaneous refreshes of one token exactly one rotates it; each
    other one presents a token that is already retired — the reuse case — so it is
    ``invalid_grant`` and the family, the winner's new tokens included, is revoked."""
    code = await get_code(live.user, live.app)
    tokens = (await guide_exchange(live.user, live.app, code)).json()
    auth = (live.app.client_id, live.app.client_secret or "")
    answers = await asyncio.gather(
        *(
            live.user.post(
                "/api/oauth/token",
                data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                auth=auth,
            )
            for _ in range(N)
        )
    )
    assert _outcomes(answers) == ["invalid_grant"] * (N - 1) + ["ok"], [r.text for r in answers]
    winner = next(r.json() for r in answers if r.status_code == 200)
    async with await _fresh_connection(live_server) as other:
        me = await other.get("/api/users/@me", headers=bearer(winner["access_token"]))
        assert me.status_code == 401
        r = await other.post(
            "/api/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": winner["refresh_token"]},
            auth=auth,
        )
    assert r.json()["error"] == "invalid_grant"


async def test_one_consent_answered_in_parallel_issues_one_code(live: LiveWorld) -> None:
    """RFC 6749 §10.5 / §4.1.2: one approval yields one code, even when the form is submitted
    N times at once (a double click, or a script racing the user). Five rounds, since the
    window in which the submissions overlap is narrow."""
    for _ in range(5):
        page = await live.user.get(
            "/oauth/authorize", params=authorize_params(live.app, prompt="consent")
        )
        assert page.status_code == 200
        form = {
            "request_id": hidden(page.text, "request_id"),
            "csrf_token": hidden(page.text, "csrf_token"),
            "decision": "allow",
        }
        answers = await asyncio.gather(
            *(live.user.post("/oauth/authorize", data=form) for _ in range(N))
        )
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [303] + [400] * (N - 1), statuses
        winner = next(r for r in answers if r.status_code == 303)
        assert "code" in query_of(winner.headers["location"])
