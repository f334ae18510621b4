"""The bearer check's, introspection's and revocation's statements.

A token's subject is a user or, for a client's own token, nobody: the user's columns come by
a LEFT JOIN and are NULL then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wtp_oauth.oauth.clients import ClientCheck
from wtp_oauth.oauth.records import AccessTokenRecord, Checked, RefreshTokenRecord, UserProfile
from wtp_oauth.storage.postgres.clients import (
    CLIENT_COLUMNS,
    CLIENT_CTES,
    OWNED_BY_TRUSTED,
    check_args,
    client_of,
)
from wtp_oauth.storage.postgres.pool import ConnectionPool

USER_COLUMNS = (
    "u.id, u.username, u.display_name, u.email, u.created_at AS user_created_at, "
    "u.updated_at AS user_updated_at"
)
_ACCESS_COLUMNS = "tok.client_id AS token_client_id, tok.scope, tok.family_id, tok.created_at, \
tok.expires_at, tok.revoked_at"
_REFRESH_COLUMNS = _ACCESS_COLUMNS + ", tok.rotated_at"

_FIND_ACCESS = f"""
SELECT {_ACCESS_COLUMNS}, {USER_COLUMNS}
  FROM access_tokens tok LEFT JOIN users u ON u.id = tok.user_id WHERE tok.token_digest = $1
"""


def _introspect(table: str, columns: str) -> str:
    """The guard, then the token ``$7`` if the authenticated client owns it."""
    return f"""
WITH {CLIENT_CTES}
SELECT {CLIENT_COLUMNS}, {columns}, {USER_COLUMNS}
  FROM client c LEFT JOIN trusted t ON true
  LEFT JOIN ({table} tok LEFT JOIN users u ON u.id = tok.user_id)
         ON tok.token_digest = $7 AND (tok.client_id = t.client_id) IS TRUE
"""


_INTROSPECT_ACCESS = _introspect("access_tokens", _ACCESS_COLUMNS)
_INTROSPECT_REFRESH = _introspect("refresh_tokens", _REFRESH_COLUMNS)

# $7 the token's digest, $8 now.
_REVOKE_ACCESS = f"""
WITH {CLIENT_CTES}, revoked AS (
  UPDATE access_tokens SET revoked_at = $8
   WHERE token_digest = $7 AND {OWNED_BY_TRUSTED} AND revoked_at IS NULL
)
SELECT {CLIENT_COLUMNS} FROM client c
"""

_REVOKE_REFRESH_FAMILY = f"""
WITH {CLIENT_CTES}, family AS (
  SELECT family_id FROM refresh_tokens
   WHERE token_digest = $7 AND {OWNED_BY_TRUSTED}
), access AS (
  UPDATE access_tokens SET revoked_at = $8
   WHERE family_id = (SELECT family_id FROM family) AND revoked_at IS NULL
), refresh AS (
  UPDATE refresh_tokens SET revoked_at = $8
   WHERE family_id = (SELECT family_id FROM family) AND revoked_at IS NULL
)
SELECT {CLIENT_COLUMNS} FROM client c
"""


def access_of(row: Any) -> AccessTokenRecord:
    return AccessTokenRecord(
        client_id=row["token_client_id"],
        scope=row["scope"],
        family_id=row["family_id"],
        issued_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        user=UserProfile.maybe(row),
    )


def refresh_of(row: Any) -> RefreshTokenRecord:
    return RefreshTokenRecord(
        client_id=row["token_client_id"],
        scope=row["scope"],
        family_id=row["family_id"],
        issued_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        user=UserProfile.maybe(row),
        rotated_at=row["rotated_at"],
    )


class TokenStatements:
    """``oauth.endpoints.storage.TokenStorage``: bearer checks and introspection read on the
    read pool; revocations write on the write pool."""

    _pool: ConnectionPool
    _reads: ConnectionPool

    async def find_access_token(self, token_digest: str) -> AccessTokenRecord | None:
        row = await self._reads.fetchrow(_FIND_ACCESS, token_digest)
        return None if row is None else access_of(row)

    async def introspect_token(
        self, *, client: ClientCheck, token_digest: str, refresh: bool
    ) -> Checked[AccessTokenRecord | RefreshTokenRecord]:
        query = _INTROSPECT_REFRESH if refresh else _INTROSPECT_ACCESS
        row = await self._reads.fetchrow(query, *check_args(client), token_digest)
        if row is None:
            return Checked(None)
        record: AccessTokenRecord | RefreshTokenRecord | None = None
        if row["token_client_id"] is not None:
            record = refresh_of(row) if refresh else access_of(row)
        return Checked(client_of(client, row), record)

    async def revoke_token(
        self, *, client: ClientCheck, token_digest: str, refresh: bool, now: datetime
    ) -> Checked[None]:
        query = _REVOKE_REFRESH_FAMILY if refresh else _REVOKE_ACCESS
        row = await self._pool.fetchrow(query, *check_args(client), token_digest, now)
        return Checked(client_of(client, row))
