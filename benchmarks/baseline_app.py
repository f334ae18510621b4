"""The baseline: a minimal FastAPI app on the same database, through asyncpg.

It answers the question "what could any FastAPI service on this machine and this database do?"
for the two kinds of work the authorization server's hot paths do:

- ``GET /select``: one ``SELECT`` by primary key, answered as JSON (what a bearer check or an
  introspection costs at the least);
- ``POST /write``: one small write transaction, an ``INSERT`` and an ``UPDATE`` of a random row
  (what a grant costs at the least).

It takes its connections from the token store's own pools (``ConnectionPool``: fixed size, no
reset query on release, first come first served), of the sizes the server uses for reads and
for writes (``Settings.token_pools``), so that the comparison measures what the authorization
server adds on top of one statement — not a difference between pools.

Run with ``uvicorn benchmarks.baseline_app:create_app --factory`` and ``BENCH_BASELINE_DSN`` set
to a plain ``postgresql://`` DSN; :func:`prepare_tables` creates its two tables first.
"""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI, Request

from wtp_oauth.storage.postgres.pool import ConnectionPool

ITEMS = 10_000

_SCHEMA = f"""
DROP TABLE IF EXISTS bench_baseline_events;
DROP TABLE IF EXISTS bench_baseline_items;
CREATE TABLE bench_baseline_items (id integer PRIMARY KEY, name text NOT NULL,
                                   hits bigint NOT NULL DEFAULT 0,
                                   updated_at timestamptz NOT NULL DEFAULT now());
INSERT INTO bench_baseline_items (id, name)
  SELECT i, 'item ' || i FROM generate_series(1, {ITEMS}) i;
CREATE TABLE bench_baseline_events (id bigserial PRIMARY KEY, item_id integer NOT NULL,
                                    digest text NOT NULL, created_at timestamptz NOT NULL);
"""


async def prepare_tables(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(_SCHEMA)
    finally:
        await conn.close()


def create_app() -> FastAPI:
    dsn = os.environ["BENCH_BASELINE_DSN"]
    reads, writes = (int(n) for n in os.environ["BENCH_BASELINE_POOLS"].split(","))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.reads = await ConnectionPool.open(dsn, reads)
        app.state.writes = await ConnectionPool.open(dsn, writes)
        try:
            yield
        finally:
            await app.state.reads.close()
            await app.state.writes.close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/select")
    async def select(request: Request) -> dict[str, object]:
        row = await request.app.state.reads.fetchrow(
            "SELECT id, name, hits, updated_at FROM bench_baseline_items WHERE id = $1",
            random.randint(1, ITEMS),
        )
        return {"id": row["id"], "name": row["name"], "hits": row["hits"]}

    @app.post("/write")
    async def write(request: Request) -> dict[str, object]:
        item = random.randint(1, ITEMS)
        async with request.app.state.writes.connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO bench_baseline_events (item_id, digest, created_at)"
                " VALUES ($1, md5(random()::text), now())",
                item,
            )
            hits = await conn.fetchval(
                "UPDATE bench_baseline_items SET hits = hits + 1, updated_at = now()"
                " WHERE id = $1 RETURNING hits",
                item,
            )
        return {"id": item, "hits": hits}

    return app
