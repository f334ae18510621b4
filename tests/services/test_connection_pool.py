"""The token store's connection pool (PostgreSQL only: SQLite has no driver connections).

What the hot path relies on: a statement the server refused leaves the connection in use, a
broken or interrupted connection is never handed on, waiting callers are served first come
first served, and a closed pool says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from wtp_oauth.storage.postgres.pool import ConnectionPool
from wtp_oauth.storage.postgres.store import asyncpg_dsn

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[ConnectionPool]:
    pool = await ConnectionPool.open(asyncpg_dsn(database_url), 2)
    yield pool
    await pool.close()


async def _backend(pool: ConnectionPool) -> int:
    row = await pool.fetchrow("SELECT pg_backend_pid() AS pid")
    assert row is not None
    return int(row["pid"])


async def test_statements_run_and_answer(pool: ConnectionPool) -> None:
    row = await pool.fetchrow("SELECT $1::int + 1 AS n", 41)
    assert row is not None and row["n"] == 42
    assert await pool.execute("SELECT 1") == "SELECT 1"


async def test_an_error_the_server_answered_keeps_the_connection(pool: ConnectionPool) -> None:
    first = await _backend(pool)
    with pytest.raises(asyncpg.DivisionByZeroError):
        await pool.fetchrow("SELECT 1 / 0")
    with pytest.raises(asyncpg.UndefinedTableError):
        await pool.execute("UPDATE no_such_table SET x = 1")
    # The same connection serves the next call: nothing was thrown away.
    assert await _backend(pool) == first


async def test_a_broken_connection_is_replaced(pool: ConnectionPool, database_url: str) -> None:
    victim = await _backend(pool)
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", victim)
    finally:
        await admin.close()
    await asyncio.sleep(0.1)
    # A connection already seen closed is reopened on acquire; one that dies mid-call fails
    # that call only. Either way the dead session is never used again.
    try:
        after = await _backend(pool)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        after = await _backend(pool)
    assert after != victim
    assert await _backend(pool) != victim


async def test_a_cancelled_statement_does_not_hand_its_connection_on(
    pool: ConnectionPool, database_url: str
) -> None:
    busy = asyncio.create_task(pool.fetchrow("SELECT pg_sleep(5) AS cancelled_here"))
    await asyncio.sleep(0.2)
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        interrupted = await admin.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE query LIKE '%AS cancelled_here%'"
            " AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    busy.cancel()
    with pytest.raises(asyncio.CancelledError):
        await busy
    # Both slots work again, and neither is the session that was interrupted mid-statement.
    rows = await asyncio.gather(
        pool.fetchrow("SELECT pg_backend_pid() AS pid, pg_sleep(0.1)"),
        pool.fetchrow("SELECT pg_backend_pid() AS pid, pg_sleep(0.1)"),
    )
    assert interrupted is not None
    assert interrupted not in {row["pid"] for row in rows if row is not None}


async def test_waiting_callers_are_served_in_order(pool: ConnectionPool) -> None:
    order: list[int] = []

    async def call(n: int) -> None:
        await pool.fetchrow("SELECT pg_sleep(0.05)")
        order.append(n)

    # Two run at once (the pool's size); the other six queue and start in arrival order.
    tasks = []
    for n in range(8):
        tasks.append(asyncio.create_task(call(n)))
        await asyncio.sleep(0.005)
    await asyncio.gather(*tasks)
    assert order[2:] == sorted(order[2:])


async def test_a_closed_pool_refuses_calls(database_url: str) -> None:
    pool = await ConnectionPool.open(asyncpg_dsn(database_url), 1)
    await pool.close()
    with pytest.raises(asyncpg.InterfaceError, match="closed"):
        await pool.fetchrow("SELECT 1")
