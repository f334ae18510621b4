"""Issue 11 §2.6: ``wtp-oauth purge`` while tokens are being refreshed, on both databases.

Refresh chains rotate their tokens as fast as they can while ``wtp-oauth purge`` runs again
and again beside the server. Every purge succeeds and deletes what is dead (rows the test put
there, long expired); no refresh fails, no live token goes, and the rotated refresh tokens
that replay detection needs are kept.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.faults.conftest import Node
from tests.faults.traffic import (
    FAMILIES,
    Recorder,
    authorize,
    create_application,
    exchange,
    half_written,
    me,
    query,
    refresh,
    sign_up_and_in,
)
from tests.helpers import Client
from wtp_oauth.config import Settings
from wtp_oauth.db import create_engine
from wtp_oauth.models import (
    AccessToken,
    AuthFailure,
    AuthorizationCode,
    BrowserSession,
    RefreshToken,
)

pytestmark = pytest.mark.faults

CHAINS = 4  # refresh chains rotating at once
PURGES = 3  # purge runs, one after another, while they do
MIN_ROTATIONS = 3  # each chain rotates at least this often, purges or not
WAIT = 30.0
DEAD = 5  # rows of each kind the test leaves for purge to find


async def _seed_dead_rows(url: str, client_id: str, user_id: str) -> None:
    """Long-dead rows of every kind purge deletes: expired two days ago."""
    now = datetime.now(UTC)
    then = now - timedelta(days=2)
    engine = create_engine(Settings(database_url=url))
    try:
        async with AsyncSession(engine) as session:
            for _ in range(DEAD):
                family = secrets.token_hex(16)
                digest = secrets.token_hex(32)
                common = {"client_id": client_id, "user_id": user_id, "family_id": family}
                session.add(
                    AuthorizationCode(
                        code_digest=digest,
                        redirect_uri="https://client.example/callback",
                        scope="user.read",
                        created_at=then,
                        expires_at=then,
                        **common,
                    )
                )
                for table in (AccessToken, RefreshToken):
                    session.add(
                        table(
                            token_digest=secrets.token_hex(32),
                            scope="user.read",
                            created_at=then,
                            expires_at=then,
                            **common,
                        )
                    )
                session.add(
                    BrowserSession(
                        token_digest=secrets.token_hex(32),
                        user_id=user_id,
                        created_at=then,
                        auth_time=then,
                        # Each session's own opaque id (OpenID Connect's sid).
                        sid=secrets.token_hex(16),
                        expires_at=then,
                    )
                )
                session.add(AuthFailure(subject="user:nobody", created_at=then))
            await session.commit()
    finally:
        await engine.dispose()


async def _purge(url: str) -> dict[str, int]:
    """``wtp-oauth purge`` as an operator's cron job runs it: its own process."""
    script = Path(sys.executable).with_name("wtp-oauth")
    env = {**os.environ, "WTP_DATABASE_URL": url}
    process = await asyncio.create_subprocess_exec(
        str(script),
        "purge",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert not err.strip(), err.decode()
    removed: dict[str, int] = json.loads(out)
    return removed


class Chain:
    """One authorization whose refresh token is rotated over and over."""

    def __init__(self, http: httpx.AsyncClient, client: Client, tokens: dict[str, Any]) -> None:
        self.http = http
        self.client = client
        self.first = tokens
        self.latest = tokens
        self.rotations = 0

    async def run(self, rec: Recorder, purging: asyncio.Task[Any]) -> None:
        while not purging.done() or self.rotations < MIN_ROTATIONS:
            self.latest = await refresh(self.http, rec, self.client, self.latest["refresh_token"])
            self.rotations += 1
            await me(self.http, rec, self.latest["access_token"])


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_purge_while_tokens_rotate(
    kind: str, fresh_database: Callable[..., str], nodes: Callable[..., Node]
) -> None:
    url = fresh_database(kind)
    server = nodes(url, workers=1)
    rec = Recorder()
    async with httpx.AsyncClient(base_url=server.url, timeout=WAIT) as http:
        await sign_up_and_in(http, rec)
        client = await create_application(http, rec)
        chains = []
        for _ in range(CHAINS):
            tokens = await exchange(http, rec, client, await authorize(http, rec, client))
            chains.append(Chain(http, client, tokens))
        user_id = (await me(http, rec, chains[0].latest["access_token"])).json()["id"]
        await _seed_dead_rows(url, client.client_id, user_id)

        async def purge_repeatedly() -> list[dict[str, int]]:
            return [await _purge(url) for _ in range(PURGES)]

        purging = asyncio.ensure_future(purge_repeatedly())
        await asyncio.gather(*(chain.run(rec, purging) for chain in chains))
        runs = await purging

        # Every chain's newest tokens still work; its first, long rotated refresh token is
        # still known, so presenting it again is seen as the replay it is (RFC 9700 §4.14.2).
        for chain in chains[1:]:
            await me(http, rec, chain.latest["access_token"])
            chain.latest = await refresh(http, rec, client, chain.latest["refresh_token"])
        replay = await http.post(
            "/api/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": chains[0].first["refresh_token"]},
            auth=(client.client_id, client.client_secret or ""),
        )
        assert replay.json()["error"] == "invalid_grant", replay.text
        after = await me(http, rec, chains[0].latest["access_token"], expect=(200, 401))
        assert after.status_code == 401, "the replay did not revoke the chain"

    # Not one refresh or bearer check failed while purge ran (the last answer is the 401
    # after the replay).
    wrong = [a for a in rec.answers[:-1] if a.status is None or a.status >= 400]
    assert not wrong, [str(a) for a in wrong]
    # The first run found the dead rows (the others may find what expired since).
    for table in ("authorization_codes", "access_tokens", "refresh_tokens", "sessions"):
        assert runs[0][table] >= DEAD, runs
    assert runs[0]["auth_failures"] >= DEAD, runs
    # Of the live authorizations, every row is there: one access and one refresh token per
    # grant (the code's and each rotation's).
    families = await query(url, FAMILIES)
    assert len(families) == CHAINS
    assert not half_written(families), families
    rotations = sum(chain.rotations for chain in chains) + len(chains) - 1
    assert sum(family["rotated"] for family in families) == rotations, families
    assert all(family["rotated"] >= MIN_ROTATIONS for family in families), families
    assert "Traceback" not in server.log(), server.log()[-3000:]
