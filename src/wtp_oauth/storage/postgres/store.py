"""The OAuth core's storage on the asyncpg driver connection (PostgreSQL).

The token path is the product's hot path (STYLE §9): each call is one prepared statement on a
connection of a small fair pool (``pool.py``), and each request one round trip. The statements
live beside the interface they implement: ``clients.py``, ``grants.py``, ``tokens.py``,
``authorize.py``.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url

from wtp_oauth.storage.postgres.authorize import AuthorizeStatements
from wtp_oauth.storage.postgres.clients import ClientStatements
from wtp_oauth.storage.postgres.grants import GrantStatements
from wtp_oauth.storage.postgres.pool import ConnectionPool
from wtp_oauth.storage.postgres.tokens import TokenStatements


def asyncpg_dsn(database_url: str) -> str:
    """``postgresql+asyncpg://…`` as the plain DSN asyncpg accepts."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresStore(ClientStatements, GrantStatements, TokenStatements, AuthorizeStatements):
    """Every storage interface of the core over two :class:`ConnectionPool`: one for writes,
    one for reads."""

    def __init__(self, writes: ConnectionPool, reads: ConnectionPool) -> None:
        self._pool = writes
        self._reads = reads

    @property
    def pool(self) -> ConnectionPool:
        """The write pool, for storage of other grants on the same connections."""
        return self._pool

    @property
    def pools(self) -> dict[str, ConnectionPool]:
        """Both pools by name, for the pool gauges of ``wtp_oauth.metrics``."""
        return {"token_writes": self._pool, "token_reads": self._reads}

    @classmethod
    async def connect(cls, database_url: str, *, reads: int, writes: int) -> PostgresStore:
        """Two pools: grants and revocations wait on the WAL flush of their commit, and more of
        them at once share one flush; bearer checks and introspection only read, and fewer
        connections keep their latency even (docs/performance.md)."""
        dsn = asyncpg_dsn(database_url)
        write_pool = await ConnectionPool.open(dsn, writes)
        try:
            read_pool = await ConnectionPool.open(dsn, reads)
        except BaseException:
            await write_pool.close()
            raise
        return cls(write_pool, read_pool)

    async def close(self) -> None:
        await self._pool.close()
        await self._reads.close()
