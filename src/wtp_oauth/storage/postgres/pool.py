"""A small, fair pool of asyncpg connections for the token store.

Measured here (docs/performance.md), ``asyncpg.Pool`` costs the hot path three ways: every
release sends a reset query (``RESET ALL; UNLISTEN *; …``), a second round trip per call that
the token store never needs, since it sets no session state; acquire and release cost about
40 µs of Python each; and its queue lets a newly arrived request take a connection that was
just handed to a waiting one, so under load some requests wait far longer than others (p99 in
seconds while p50 was 20 ms). This pool keeps open connections, hands a released one straight
to the longest-waiting request, and replaces a connection that broke.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from wtp_oauth.errors import ServiceUnavailable


class ConnectionPool:
    """``size`` connections, handed out first come, first served.

    Each call runs one statement on a connection of its own (autocommit), so no transaction
    or session state is ever left behind for the next user.
    """

    def __init__(self, dsn: str, size: int) -> None:
        self._dsn = dsn
        self._size = size
        # Free connections; None is a slot whose connection broke and is reopened on use.
        self._idle: list[asyncpg.Connection | None] = []
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._closed = False

    @classmethod
    async def open(cls, dsn: str, size: int) -> ConnectionPool:
        """The pool, with one connection open (so that a wrong DSN fails now); the others
        are opened when first needed."""
        pool = cls(dsn, size)
        pool._idle = [None] * (size - 1) + [await pool._connect()]
        return pool

    @property
    def size(self) -> int:
        return self._size

    @property
    def in_use(self) -> int:
        """Connections handed out now (the pool gauge of ``wtp_oauth.metrics``)."""
        return self._size - len(self._idle)

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            self._dsn, server_settings={"application_name": "wtp-oauth token store"}
        )

    async def _acquire(self) -> asyncpg.Connection:
        if self._closed:
            raise asyncpg.InterfaceError("the token store's pool is closed")
        if self._idle and not self._waiters:
            conn = self._idle.pop()
        else:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                conn = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    # A connection was handed over just as we were cancelled: pass it on.
                    self._release(waiter.result())
                else:
                    self._waiters.remove(waiter)
                raise
        if conn is None or conn.is_closed():
            try:
                conn = await self._connect()
            except BaseException:
                self._release(None)
                raise
        return conn

    def _release(self, conn: asyncpg.Connection | None) -> None:
        if self._closed:
            if conn is not None:
                conn.terminate()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _failed(self, conn: asyncpg.Connection, error: BaseException) -> None:
        """Return ``conn`` after a use that raised ``error``. Within a moment of the server
        ending an idle session, asyncpg refuses the next statement with an internal error
        ("another operation is in progress") and only then marks the connection closed: that
        is a lost connection (503), raised here in its place."""
        ended = isinstance(error, asyncpg.InternalClientError) and conn.is_closed()
        self._put_back(conn, error)
        if ended:
            raise ServiceUnavailable("the database ended the connection") from error

    def _put_back(self, conn: asyncpg.Connection, error: BaseException | None) -> None:
        """Return ``conn`` after a use that ended with ``error`` (None: it went well)."""
        if error is None or isinstance(error, asyncpg.PostgresError):
            # Success, or an error the server answered: the connection is fine.
            self._release(conn)
        else:
            # A broken connection, or a cancellation mid-statement: do not hand it on.
            conn.terminate()
            self._release(None)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of the pool for the block; it must leave no transaction open."""
        conn = await self._acquire()
        try:
            yield conn
        except BaseException as exc:
            self._failed(conn, exc)
            raise
        self._put_back(conn, None)

    # The one-statement calls of the hot path skip the context manager above: a generator
    # based one costs a few microseconds per call, about 3 % of an introspection's Python
    # instructions.
    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        conn = await self._acquire()
        try:
            row: asyncpg.Record | None = await conn.fetchrow(query, *args)
        except BaseException as exc:
            self._failed(conn, exc)
            raise
        self._put_back(conn, None)
        return row

    async def execute(self, query: str, *args: Any) -> str:
        conn = await self._acquire()
        try:
            result: str = await conn.execute(query, *args)
        except BaseException as exc:
            self._failed(conn, exc)
            raise
        self._put_back(conn, None)
        return result

    async def close(self) -> None:
        self._closed = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(asyncpg.InterfaceError("the token store's pool is closed"))
        idle, self._idle = self._idle, []
        for conn in idle:
            if conn is not None:
                try:
                    await asyncio.wait_for(conn.close(), timeout=5)
                except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    conn.terminate()
