"""A PostgreSQL connection ended under a request is a 503, and the next request works.

In-process (the application over ASGI, on a fresh database of the shared cluster), and
deterministic: a lock held by the test makes the request's statement wait in the database,
where the test ends its session (``pg_terminate_backend``, as an administrator, a connection
pooler or a failover would). The outage test (``test_database_outage.py``) found these as
500s under traffic, by chance; here each is certain.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from tests.api.support import app_client
from tests.helpers import PASSWORD, form_exchange, get_code, register_client, sign_up
from wtp_oauth.config import Settings

pytestmark = pytest.mark.faults

# The sessions of this database that wait for a lock: the application's blocked statement.
_WAITING = """
SELECT pid FROM pg_stat_activity
 WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
"""


@pytest.fixture
async def world(fresh_database: Callable[..., str]) -> AsyncIterator[dict[str, Any]]:
    url = fresh_database("postgres")
    settings = Settings(database_url=url, issuer="http://testserver", secret_key="k" * 32)
    async with app_client(settings) as (_app, http):
        await sign_up(http)
        client = await register_client(http)
        tokens = (
            await form_exchange(
                http,
                client,
                grant_type="authorization_code",
                code=await get_code(http, client),
                redirect_uri=client.redirect_uri,
            )
        ).json()
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        admin, locker = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
        try:
            yield {
                "http": http,
                "client": client,
                "tokens": tokens,
                "admin": admin,
                "locker": locker,
            }
        finally:
            await admin.close()
            await locker.close()


async def _ended_while_waiting(world: dict[str, Any], table: str, request: Any) -> Any:
    """Send ``request`` while ``table`` is locked; end the session whose statement waits for
    the lock; the answer."""
    admin, locker = world["admin"], world["locker"]
    lock = locker.transaction()
    await lock.start()
    try:
        await locker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        pending = asyncio.ensure_future(request)
        deadline = time.monotonic() + 10
        while not (waiting := await admin.fetch(_WAITING)):
            assert not pending.done(), pending.result()
            assert time.monotonic() < deadline, "the request never waited for the lock"
        for row in waiting:
            await admin.execute("SELECT pg_terminate_backend($1)", row["pid"])
    finally:
        await lock.rollback()
    return await asyncio.wait_for(pending, 10)


def _unavailable(r: httpx.Response, shape: str) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"]
    if shape == "oauth":
        assert r.json()["error"] == "temporarily_unavailable", r.text
    else:
        assert isinstance(r.json()["detail"], str), r.text


async def test_sign_in_whose_connection_ends_mid_statement_is_503(world: dict[str, Any]) -> None:
    """Cold path (SQLAlchemy): asyncpg's "connection was closed in the middle of operation"
    reaches the app as a plain ``DBAPIError`` (it was a 500)."""
    http: httpx.AsyncClient = world["http"]
    sign_in = http.post("/api/session", json={"username": "nobody", "password": PASSWORD})
    _unavailable(await _ended_while_waiting(world, "auth_failures", sign_in), "detail")
    again = await http.post("/api/session", json={"username": "nobody", "password": PASSWORD})
    assert again.status_code == 401, again.text


async def test_refresh_whose_connection_ends_mid_statement_is_503(world: dict[str, Any]) -> None:
    """Hot path (the token store's own pool), in the token endpoint's error shape."""
    http: httpx.AsyncClient = world["http"]
    client, tokens = world["client"], world["tokens"]
    refresh = form_exchange(
        http, client, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    _unavailable(await _ended_while_waiting(world, "refresh_tokens", refresh), "oauth")
    # Nothing was written: the refresh token still works, once.
    again = await form_exchange(
        http, client, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert again.status_code == 200, again.text


async def test_me_whose_connection_ends_mid_statement_is_503(world: dict[str, Any]) -> None:
    http: httpx.AsyncClient = world["http"]
    bearer = {"Authorization": f"Bearer {world['tokens']['access_token']}"}
    me = http.get("/api/users/@me", headers=bearer)
    _unavailable(await _ended_while_waiting(world, "access_tokens", me), "detail")
    assert (await http.get("/api/users/@me", headers=bearer)).status_code == 200


async def test_idle_connections_ended_by_the_server_are_503_never_500(
    world: dict[str, Any],
) -> None:
    """Ended while idle in the pools: for a moment asyncpg refuses the next statement with an
    internal error ("another operation is in progress") before it marks the connection
    closed. Every request then is answered, or 503; then all are answered."""
    http: httpx.AsyncClient = world["http"]
    bearer = {"Authorization": f"Bearer {world['tokens']['access_token']}"}
    statuses: list[int] = []
    for _ in range(5):
        await asyncio.gather(*(http.get("/api/users/@me", headers=bearer) for _ in range(8)))
        await world["admin"].execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        answers = await asyncio.gather(
            *(http.get("/api/users/@me", headers=bearer) for _ in range(8))
        )
        statuses += [r.status_code for r in answers]
        for r in answers:
            if r.status_code == 503:
                _unavailable(r, "detail")
    assert set(statuses) <= {200, 503}, statuses
    assert (await http.get("/api/users/@me", headers=bearer)).status_code == 200
