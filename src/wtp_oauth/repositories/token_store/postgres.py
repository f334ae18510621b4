"""The token store on the asyncpg driver connection (PostgreSQL).

The token path is the product's hot path (STYLE §9): each call is one prepared statement,
and each grant one round trip — the code is consumed (or the refresh token retired) and the
new tokens inserted by a single statement of data-modifying CTEs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from wtp_oauth.repositories.token_store.base import (
    AccessTokenRecord,
    ClientRecord,
    CodeRecord,
    Grant,
    NewTokens,
    RefreshTokenRecord,
    UserProfile,
)

_GET_CLIENT = """
SELECT a.client_type, a.secret_digest,
       (SELECT count(*) FROM auth_failures f
         WHERE f.subject = 'client:' || a.client_id AND f.created_at > $2) AS failures
  FROM applications a WHERE a.client_id = $1
"""

_RECORD_FAILURE = "INSERT INTO auth_failures (subject, created_at) VALUES ('client:' || $1, $2)"


def _insert_pair(n: int) -> str:
    """The CTE tail that stores an access/refresh pair from ``source``.

    Parameters ``$n``…``$n+3`` are the access digest and expiry, then the refresh digest and
    expiry; ``$1`` is the issue time.
    """
    return f"""
access AS (
  INSERT INTO access_tokens (token_digest, client_id, user_id, scope, family_id,
                             created_at, expires_at)
  SELECT ${n}, client_id, user_id, access_scope, family_id, $1, ${n + 1} FROM source
), refresh AS (
  INSERT INTO refresh_tokens (token_digest, client_id, user_id, scope, family_id,
                              created_at, expires_at)
  SELECT ${n + 2}, client_id, user_id, scope, family_id, $1, ${n + 3} FROM source
)
SELECT user_id, scope, access_scope, family_id FROM source
"""


_REDEEM_CODE = """
WITH source AS (
  UPDATE authorization_codes SET consumed_at = $1
   WHERE code_digest = $2 AND client_id = $3 AND consumed_at IS NULL AND expires_at > $1
     AND ($4::text IS NULL OR redirect_uri = $4)
     AND code_challenge IS NOT DISTINCT FROM $5::text
  RETURNING client_id, user_id, scope, scope AS access_scope, family_id
),""" + _insert_pair(6)

_ROTATE_REFRESH = """
WITH source AS (
  UPDATE refresh_tokens SET rotated_at = $1
   WHERE token_digest = $2 AND client_id = $3
     AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $1
     AND ($4::text IS NULL OR string_to_array(scope, ' ') @> string_to_array($4::text, ' '))
  RETURNING client_id, user_id, scope, COALESCE($4::text, scope) AS access_scope, family_id
),""" + _insert_pair(5)

_FIND_CODE = """
SELECT client_id, redirect_uri, code_challenge, family_id, expires_at, consumed_at
  FROM authorization_codes WHERE code_digest = $1
"""

_REVOKE_FAMILY = """
WITH a AS (
  UPDATE access_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL
)
UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL
"""

_USER_COLUMNS = "u.id, u.username, u.display_name, u.email, u.created_at AS user_created_at"

_FIND_ACCESS = f"""
SELECT t.client_id, t.scope, t.family_id, t.created_at, t.expires_at, t.revoked_at,
       {_USER_COLUMNS}
  FROM access_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_digest = $1
"""

_FIND_REFRESH = f"""
SELECT t.client_id, t.scope, t.family_id, t.created_at, t.expires_at, t.rotated_at,
       t.revoked_at, {_USER_COLUMNS}
  FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_digest = $1
"""

_REVOKE_ACCESS = """
UPDATE access_tokens SET revoked_at = $3
 WHERE token_digest = $1 AND client_id = $2 AND revoked_at IS NULL
"""


def asyncpg_dsn(database_url: str) -> str:
    """``postgresql+asyncpg://…`` as the plain DSN asyncpg accepts."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _profile(row: Any) -> UserProfile:
    return UserProfile(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        email=row["email"],
        created_at=row["user_created_at"],
    )


def _grant(row: Any) -> Grant:
    return Grant(
        user_id=row["user_id"],
        scope=row["scope"],
        access_scope=row["access_scope"],
        family_id=row["family_id"],
    )


def _token_args(tokens: NewTokens) -> tuple[str, datetime, str, datetime]:
    return (
        tokens.access_digest,
        tokens.access_expires_at,
        tokens.refresh_digest,
        tokens.refresh_expires_at,
    )


class PostgresTokenStore:
    """``TokenStore`` over an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, database_url: str, *, pool_size: int) -> PostgresTokenStore:
        pool = await asyncpg.create_pool(asyncpg_dsn(database_url), min_size=1, max_size=pool_size)
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    async def get_client(self, client_id: str, *, failures_since: datetime) -> ClientRecord | None:
        row = await self._pool.fetchrow(_GET_CLIENT, client_id, failures_since)
        if row is None:
            return None
        return ClientRecord(
            client_id=client_id,
            client_type=row["client_type"],
            secret_digest=row["secret_digest"],
            recent_failures=row["failures"],
        )

    async def record_client_failure(self, client_id: str, now: datetime) -> None:
        await self._pool.execute(_RECORD_FAILURE, client_id, now)

    async def redeem_code(
        self,
        *,
        code_digest: str,
        client_id: str,
        redirect_uri: str | None,
        code_challenge: str | None,
        tokens: NewTokens,
    ) -> Grant | None:
        row = await self._pool.fetchrow(
            _REDEEM_CODE,
            tokens.issued_at,
            code_digest,
            client_id,
            redirect_uri,
            code_challenge,
            *_token_args(tokens),
        )
        return None if row is None else _grant(row)

    async def find_code(self, code_digest: str) -> CodeRecord | None:
        row = await self._pool.fetchrow(_FIND_CODE, code_digest)
        return None if row is None else CodeRecord(**dict(row))

    async def rotate_refresh_token(
        self,
        *,
        token_digest: str,
        client_id: str,
        access_scope: str | None,
        tokens: NewTokens,
    ) -> Grant | None:
        row = await self._pool.fetchrow(
            _ROTATE_REFRESH,
            tokens.issued_at,
            token_digest,
            client_id,
            access_scope,
            *_token_args(tokens),
        )
        return None if row is None else _grant(row)

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        await self._pool.execute(_REVOKE_FAMILY, family_id, now)

    async def find_access_token(self, token_digest: str) -> AccessTokenRecord | None:
        row = await self._pool.fetchrow(_FIND_ACCESS, token_digest)
        if row is None:
            return None
        return AccessTokenRecord(
            client_id=row["client_id"],
            scope=row["scope"],
            family_id=row["family_id"],
            issued_at=row["created_at"],
            expires_at=row["expires_at"],
            revoked_at=row["revoked_at"],
            user=_profile(row),
        )

    async def find_refresh_token(self, token_digest: str) -> RefreshTokenRecord | None:
        row = await self._pool.fetchrow(_FIND_REFRESH, token_digest)
        if row is None:
            return None
        return RefreshTokenRecord(
            client_id=row["client_id"],
            scope=row["scope"],
            family_id=row["family_id"],
            issued_at=row["created_at"],
            expires_at=row["expires_at"],
            rotated_at=row["rotated_at"],
            revoked_at=row["revoked_at"],
            user=_profile(row),
        )

    async def revoke_access_token(self, token_digest: str, client_id: str, now: datetime) -> None:
        await self._pool.execute(_REVOKE_ACCESS, token_digest, client_id, now)
