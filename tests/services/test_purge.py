"""``wtp-oauth purge`` (wtp_oauth.operations.purge) deletes in batches, a short transaction each.

The rows are dated in 2001, so that the purge's ``now`` (June 2001) makes exactly these rows
expired and leaves every other test's rows alone on the shared databases.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from tests.helpers import unique
from wtp_oauth import operations
from wtp_oauth.config import Settings
from wtp_oauth.db import create_engine, create_session_factory
from wtp_oauth.models import (
    AccessToken,
    Application,
    AuthFailure,
    AuthorizationCode,
    BrowserSession,
    RefreshToken,
    User,
)

NOW = datetime(2001, 6, 1, tzinfo=UTC)
BATCH = 40
EXPIRED = 2 * BATCH + 3  # three statements' worth: two full batches and a short one
LIVE = 5


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """The DELETE statements and the commits of the purge's own engine, per table."""
    counted: Counter[str] = Counter()

    def counting_engine(settings: Settings) -> AsyncEngine:
        engine = create_engine(settings)

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
            if sql.lstrip().upper().startswith("DELETE"):
                counted[sql.split()[2].strip('"')] += 1

        @event.listens_for(engine.sync_engine, "commit")
        def _commit(_conn: Any) -> None:
            counted["commits"] += 1

        return engine

    monkeypatch.setattr(operations, "create_engine", counting_engine)
    yield counted


def _digests(n: int) -> list[str]:
    return [secrets.token_hex(32) for _ in range(n)]


async def _seed(settings: Settings) -> dict[str, list[str]]:
    """EXPIRED useless and LIVE usable rows in each table; the keys of the live ones."""
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    long_ago, later = NOW - timedelta(days=30), NOW + timedelta(days=30)
    live: dict[str, list[str]] = {}
    try:
        async with factory.begin() as session:
            user = User(
                id=secrets.token_hex(16),
                username=(name := unique("purge")),
                username_key=name,
                email=f"{name}@example.com",
                email_key=f"{name}@example.com",
                password_hash="x",
                display_name=name,
                created_at=long_ago,
            )
            session.add(user)
            await session.flush()
            application = Application(
                client_id=unique("c"),
                owner_id=user.id,
                name="purge",
                created_at=long_ago,
                updated_at=long_ago,
            )
            session.add(application)
        owner = {"client_id": application.client_id, "user_id": user.id}
        token = {**owner, "scope": "user.read", "family_id": "f", "created_at": long_ago}
        code = {**token, "redirect_uri": "https://example.com/cb"}
        async with engine.begin() as connection:
            for model, key, extra in (
                (AccessToken, "token_digest", token),
                (RefreshToken, "token_digest", token),
                (AuthorizationCode, "code_digest", code),
                (
                    BrowserSession,
                    "token_digest",
                    {"user_id": user.id, "created_at": long_ago, "auth_time": long_ago},
                ),
            ):
                expired = [{key: k, **extra, "expires_at": long_ago} for k in _digests(EXPIRED)]
                live[model.__tablename__] = _digests(LIVE)
                usable = [{key: k, **extra, "expires_at": later} for k in live[model.__tablename__]]
                rows = expired + usable
                if model is BrowserSession:
                    # Each session has its own opaque sid (OpenID Connect).
                    rows = [{**row, "sid": row[key][:32]} for row in rows]
                await connection.execute(insert(model), rows)
            failures = [{"subject": f"user:{user.username}", "created_at": long_ago}] * EXPIRED
            await connection.execute(insert(AuthFailure), failures)
            await connection.execute(
                insert(AuthFailure), [{"subject": "user:live", "created_at": NOW}] * LIVE
            )
    finally:
        await engine.dispose()
    live["user_id"] = [user.id]
    return live


async def _remaining(settings: Settings, live: dict[str, list[str]]) -> dict[str, int]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            counts = {}
            for model, key in (
                (AccessToken, AccessToken.token_digest),
                (RefreshToken, RefreshToken.token_digest),
                (AuthorizationCode, AuthorizationCode.code_digest),
                (BrowserSession, BrowserSession.token_digest),
            ):
                query = select(func.count()).where(col(key).in_(live[model.__tablename__]))
                counts[model.__tablename__] = (await connection.execute(query)).scalar_one()
            # Clean up after ourselves: the user's rows go with the user (ON DELETE CASCADE).
            await connection.execute(delete(User).where(col(User.id).in_(live["user_id"])))
            await connection.execute(delete(AuthFailure).where(col(AuthFailure.created_at) == NOW))
            await connection.commit()
            return counts
    finally:
        await engine.dispose()


async def test_purge_deletes_in_batches_and_keeps_what_is_usable(
    settings: Settings, statements: Counter[str]
) -> None:
    live = await _seed(settings)

    removed = await operations.purge(settings, now=NOW, batch_size=BATCH)

    tables = ("access_tokens", "refresh_tokens", "authorization_codes", "sessions")
    assert removed == {
        **dict.fromkeys(tables, EXPIRED),
        "authorization_requests": 0,
        "device_codes": 0,
        "auth_failures": EXPIRED,
        "signing_keys": 0,
    }
    # Three DELETE statements per table, each committed on its own.
    for table in (*tables, "auth_failures"):
        assert statements[table] == 3, statements
    assert statements["commits"] >= 5 * 3 + 1
    assert await _remaining(settings, live) == dict.fromkeys(tables, LIVE)


async def test_a_second_purge_finds_nothing(settings: Settings) -> None:
    live = await _seed(settings)
    await operations.purge(settings, now=NOW, batch_size=BATCH)
    again = await operations.purge(settings, now=NOW, batch_size=BATCH)
    assert set(again.values()) == {0}
    await _remaining(settings, live)
