"""The device grant's storage on PostgreSQL: asyncpg, on the token store's write pool.

Each call is one prepared statement. A poll is one statement too: it reads the row as it is
(``seen``, the statement's snapshot), updates it only if it is live and the client's, and — when
the user allowed it — marks it redeemed and inserts the access and refresh tokens in the same
statement, with data-modifying CTEs like the authorization code's redemption
(``storage/postgres/grants.py``). Under READ COMMITTED, a second poll racing the first
waits for its row lock and then finds ``consumed_at`` set: only one redeems it. The ``CASE``
expressions are ``rules.decide`` and ``rules.next_interval`` written in SQL; the API tests run
the same polls on both databases.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from wtp_oauth.oauth.grants.device_code.rules import SLOW_DOWN_STEP
from wtp_oauth.oauth.grants.device_code.storage import (
    Added,
    DeviceCodeRow,
    NewDeviceCode,
    PendingDevice,
    Polled,
)
from wtp_oauth.oauth.records import NewTokens
from wtp_oauth.scopes import SCOPES
from wtp_oauth.storage.postgres.pool import ConnectionPool

_ADD = """
INSERT INTO device_codes (device_code_digest, user_code, client_id, scope, family_id,
                          poll_interval, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (user_code) DO NOTHING
RETURNING 1
"""

# A live request nobody has answered: the conditions of find, approve and deny.
_UNANSWERED = """expires_at > $2 AND approved_at IS NULL AND denied_at IS NULL
     AND consumed_at IS NULL"""

_FIND_BY_USER_CODE = f"""
SELECT d.user_code, d.client_id, d.scope, d.expires_at, a.name, a.description,
       o.username AS owner_username
  FROM device_codes d
  JOIN applications a ON a.client_id = d.client_id
  LEFT JOIN users o ON o.id = a.owner_id
 WHERE d.user_code = $1 AND {_UNANSWERED}
"""

# $1 user code, $2 now, $3 user, $4 the known scopes in their order. The consent's scope
# becomes the union of what it held and the request's, in the order of scopes.SCOPES.
_APPROVE = f"""
WITH approved AS (
  UPDATE device_codes SET approved_at = $2, user_id = $3
   WHERE user_code = $1 AND {_UNANSWERED}
  RETURNING client_id, scope
), consent AS (
  INSERT INTO consents AS c (user_id, client_id, scope, granted_at)
  SELECT $3, client_id, scope, $2 FROM approved
  ON CONFLICT (user_id, client_id) DO UPDATE
     SET scope = array_to_string(ARRAY(
           SELECT s FROM unnest(string_to_array(c.scope, ' ')
                                || string_to_array(EXCLUDED.scope, ' ')) AS u(s)
            GROUP BY s ORDER BY array_position($4::text[], s) NULLS LAST, s), ' '),
         granted_at = EXCLUDED.granted_at
)
SELECT count(*) AS approved FROM approved
"""

_DENY = f"UPDATE device_codes SET denied_at = $2 WHERE user_code = $1 AND {_UNANSWERED}"

# $1 device code digest, $2 client_id, $3 now, $4 SLOW_DOWN_STEP, $5/$6 the access token's
# digest and expiry, $7/$8 the refresh token's.
_POLL = """
WITH seen AS (
  SELECT client_id, user_id, scope, family_id, poll_interval, last_polled_at,
         approved_at, denied_at, consumed_at, expires_at
    FROM device_codes WHERE device_code_digest = $1
), polled AS (
  UPDATE device_codes
     SET last_polled_at = $3,
         consumed_at = CASE WHEN approved_at IS NOT NULL THEN $3::timestamptz END,
         poll_interval = CASE
           WHEN approved_at IS NULL
                AND last_polled_at > $3::timestamptz - poll_interval * interval '1 second'
           THEN poll_interval + $4::integer ELSE poll_interval END
   WHERE device_code_digest = $1 AND client_id = $2
     AND consumed_at IS NULL AND denied_at IS NULL AND expires_at > $3
  RETURNING client_id, user_id, scope, family_id, consumed_at IS NOT NULL AS issued
), access AS (
  INSERT INTO access_tokens (token_digest, client_id, user_id, scope, family_id,
                             created_at, expires_at)
  SELECT $5, client_id, user_id, scope, family_id, $3, $6 FROM polled WHERE issued
), refresh AS (
  INSERT INTO refresh_tokens (token_digest, client_id, user_id, scope, family_id,
                              created_at, expires_at)
  SELECT $7, client_id, user_id, scope, family_id, $3, $8 FROM polled WHERE issued
)
SELECT seen.*, EXISTS (SELECT FROM polled WHERE issued) AS issued
  FROM (SELECT 1) AS one LEFT JOIN seen ON true
"""

_KNOWN_SCOPES = [scope.name for scope in SCOPES]


class PostgresDeviceCodes:
    """``DeviceCodeStorage`` over a :class:`ConnectionPool` (autocommit, one statement a call)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    async def add_device_code(self, code: NewDeviceCode) -> Added:
        try:
            row = await self._pool.fetchrow(
                _ADD,
                code.device_code_digest,
                code.user_code,
                code.client_id,
                code.scope,
                code.family_id,
                code.poll_interval,
                code.created_at,
                code.expires_at,
            )
        except asyncpg.ForeignKeyViolationError:
            return Added.CLIENT_GONE
        return Added.USER_CODE_TAKEN if row is None else Added.ADDED

    async def find_by_user_code(self, user_code: str, now: datetime) -> PendingDevice | None:
        row = await self._pool.fetchrow(_FIND_BY_USER_CODE, user_code, now)
        if row is None:
            return None
        return PendingDevice(
            user_code=row["user_code"],
            client_id=row["client_id"],
            scope=row["scope"],
            expires_at=row["expires_at"],
            application_name=row["name"],
            application_description=row["description"],
            owner_username=row["owner_username"],
        )

    async def approve(self, user_code: str, user_id: str, now: datetime) -> bool:
        row = await self._pool.fetchrow(_APPROVE, user_code, now, user_id, _KNOWN_SCOPES)
        return row is not None and row["approved"] == 1

    async def deny(self, user_code: str, now: datetime) -> bool:
        return await self._pool.execute(_DENY, user_code, now) == "UPDATE 1"

    async def poll(
        self, *, device_code_digest: str, client_id: str, now: datetime, tokens: NewTokens
    ) -> Polled:
        row = await self._pool.fetchrow(
            _POLL,
            device_code_digest,
            client_id,
            now,
            SLOW_DOWN_STEP,
            tokens.access_digest,
            tokens.access_expires_at,
            tokens.refresh_digest,
            tokens.refresh_expires_at,
        )
        assert row is not None  # always one row: the lookup is a LEFT JOIN on (SELECT 1)
        seen = None
        if row["client_id"] is not None:
            seen = DeviceCodeRow(
                client_id=row["client_id"],
                user_id=row["user_id"],
                scope=row["scope"],
                family_id=row["family_id"],
                poll_interval=row["poll_interval"],
                last_polled_at=row["last_polled_at"],
                approved_at=row["approved_at"],
                denied_at=row["denied_at"],
                consumed_at=row["consumed_at"],
                expires_at=row["expires_at"],
            )
        return Polled(seen=seen, issued=row["issued"])
