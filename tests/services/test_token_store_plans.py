"""The plans PostgreSQL picks for the hot statements (PostgreSQL only: SQLite has its own).

Each statement is prepared once per connection and, after five executions, runs on a generic
plan that is not revisited until the table's statistics change. A fresh test database is the
worst case for that choice: small tables that were never analysed. There, each statement must
still find its row through its unique index (a digest), never through ``client_id`` or
``expires_at`` (the first once made every request read all of a client's codes:
storage/postgres/clients.py, OWNED_BY_TRUSTED).
"""

from __future__ import annotations

import re

import asyncpg
import pytest

from wtp_oauth.storage.postgres import authorize, grants, tokens
from wtp_oauth.storage.postgres.store import asyncpg_dsn

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)

# Each statement, and the unique index through which it must find its row.
HOT_STATEMENTS = [
    (grants._REDEEM_CODE, "authorization_codes_pkey"),
    (grants._ROTATE_REFRESH, "refresh_tokens_pkey"),
    (tokens._INTROSPECT_ACCESS, "access_tokens_pkey"),
    (tokens._INTROSPECT_REFRESH, "refresh_tokens_pkey"),
    (tokens._REVOKE_ACCESS, "access_tokens_pkey"),
    (tokens._REVOKE_REFRESH_FAMILY, "refresh_tokens_pkey"),
    (tokens._FIND_ACCESS, "access_tokens_pkey"),
    (authorize._AUTHORIZE_CONTEXT, "sessions_pkey"),
    (authorize._AUTHORIZE_CONTEXT_AND_CODE, "sessions_pkey"),
]


def _arguments(types: list[str]) -> str:
    """A literal for each parameter, of the type PostgreSQL inferred for it."""
    literals = {
        "text": "'x'",
        "character varying": "'x'",
        "bigint": "10",
        "integer": "10",
        "timestamp with time zone": "now()",
    }
    return ", ".join(literals.get(t, "NULL") for t in types)


@pytest.mark.parametrize("plan_cache_mode", ["force_generic_plan", "force_custom_plan"])
@pytest.mark.parametrize(("query", "index"), HOT_STATEMENTS)
async def test_the_digest_index_is_the_way_in(
    database_url: str, query: str, index: str, plan_cache_mode: str
) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute(f"PREPARE hot AS {query}")
        types = await conn.fetchval(
            "SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = 'hot'"
        )
        await conn.execute(f"SET plan_cache_mode = {plan_cache_mode}")
        rows = await conn.fetch(f"EXPLAIN (COSTS OFF) EXECUTE hot({_arguments(types)})")
    finally:
        await conn.close()
    plan = "\n".join(row[0] for row in rows)
    assert f"using {index} on" in plan, plan
    assert not re.search(r"using ix_\w+_(client_id|expires_at)", plan), plan
