"""Client authentication's statements, and the guard every token-path statement starts with.

Every guarded statement takes the same first six parameters — ``$1`` client_id, ``$2`` the
digest of the presented secret (NULL: none), ``$3`` failures since, ``$4`` the failure limit,
``$5`` the throttle subject (client and source address), ``$6`` the grant type the client must
have enabled (NULL: none) — and starts with :data:`CLIENT_CTES`: ``client`` is the client's
row with its recent failures, ``trusted`` has that row only if the authentication holds. That
condition is the SQL twin of ``oauth.clients.judge``, which judges the returned row.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any

from wtp_oauth.oauth.clients import ClientCheck
from wtp_oauth.oauth.records import ClientRecord
from wtp_oauth.storage.postgres.pool import ConnectionPool

# The failures are counted through ix_auth_failures_subject_at and at most up to the limit,
# so a client under a guessing attack costs no more to check than any other.
_FAILURES = """(SELECT count(*) FROM (
   SELECT 1 FROM auth_failures f WHERE f.subject = $5 AND f.created_at > $3 LIMIT $4
 ) AS recent)"""

CLIENT_CTES = f"""
client AS (
  SELECT a.client_id, a.client_type, a.secret_digest, a.grant_types,
         a.id_token_signed_response_alg, {_FAILURES} AS failures
    FROM applications a WHERE a.client_id = $1
), trusted AS (
  SELECT client_id FROM client
   WHERE failures < $4
     AND CASE WHEN client_type = 'public' THEN $2::text IS NULL
              ELSE secret_digest = $2::text END
     AND ($6::text IS NULL OR grant_types::jsonb ? $6::text)
)"""

# What a guarded statement answers about the client, for ``judge``.
CLIENT_COLUMNS = (
    "c.client_type, c.secret_digest, c.grant_types, c.id_token_signed_response_alg, c.failures"
)

# A token (or code) belongs to the authenticated client: compared as ``(…) IS TRUE``, which
# PostgreSQL can only apply as a filter, never as an index condition. These statements are
# prepared once per connection, and after five executions PostgreSQL settles on a generic plan.
# Planned while the tables were small (a new install, or statistics gone stale with autovacuum
# off), that plan looked the row up through the ``client_id`` index and filtered on the digest:
# every request from then on read every code or token of the client. Code exchanges fell from
# 2,280/s to 1,680/s over four 5-second runs and came back on fresh connections (docs/
# performance.md). With the comparison as a filter, the digest's unique index is the way in.
OWNED_BY_TRUSTED = "(client_id = (SELECT client_id FROM trusted)) IS TRUE"

_FIND_CLIENT = f"""
WITH {CLIENT_CTES}
SELECT {CLIENT_COLUMNS} FROM client c
"""

_RECORD_FAILURE = "INSERT INTO auth_failures (subject, created_at) VALUES ($1, $2)"


def check_args(check: ClientCheck) -> tuple[Any, ...]:
    """``$1``…``$6`` of a guarded statement."""
    return (
        check.client_id,
        check.secret_digest,
        check.failures_since,
        check.failure_limit,
        check.throttle_subject,
        check.grant_type,
    )


@functools.lru_cache(maxsize=64)
def _grant_types(text: str) -> frozenset[str]:
    """A json column's text (asyncpg hands over the text): few distinct values, parsed once."""
    return frozenset(json.loads(text))


def client_of(check: ClientCheck, row: Any) -> ClientRecord | None:
    """The client's record from a guarded statement's row (None: no such client)."""
    if row is None:
        return None
    return ClientRecord(
        client_id=check.client_id,
        client_type=row["client_type"],
        secret_digest=row["secret_digest"],
        recent_failures=row["failures"],
        grant_types=_grant_types(row["grant_types"]),
        id_token_alg=row["id_token_signed_response_alg"],
    )


class ClientStatements:
    """``oauth.clients.ClientStorage`` on the write pool."""

    _pool: ConnectionPool

    async def find_client(self, check: ClientCheck) -> ClientRecord | None:
        return client_of(check, await self._pool.fetchrow(_FIND_CLIENT, *check_args(check)))

    async def record_client_failure(self, check: ClientCheck, now: datetime) -> None:
        await self._pool.execute(_RECORD_FAILURE, check.throttle_subject, now)
