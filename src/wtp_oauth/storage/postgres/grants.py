"""The code and refresh grants' statements: one round trip per token request.

Each statement starts with the client guard (``clients.CLIENT_CTES``), reads the code or token
it was asked about (``found``: the row as it was, for the grant's rules to explain a refusal),
consumes it only if the guard and the grant's rules hold (``source``: the SQL twin of
``code_refusal`` / ``refresh_refusal``), and inserts the new tokens from it — the refresh
token only for a client that enabled the refresh grant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wtp_oauth.oauth.clients import ClientCheck
from wtp_oauth.oauth.grants.authorization_code.storage import CodeRedemption
from wtp_oauth.oauth.grants.refresh_token.storage import Rotation, StoredRefreshToken
from wtp_oauth.oauth.records import Checked, CodeRecord, Issued, NewTokens, UserProfile
from wtp_oauth.storage.postgres.clients import (
    CLIENT_COLUMNS,
    CLIENT_CTES,
    OWNED_BY_TRUSTED,
    check_args,
    client_of,
)
from wtp_oauth.storage.postgres.pool import ConnectionPool
from wtp_oauth.storage.postgres.tokens import USER_COLUMNS


def _grant_statement(found: str, source: str) -> str:
    """A grant: the guard, ``found``, ``source`` (consumes and returns what the new tokens
    inherit), the inserts, and one row of answer (none when there is no such client), with the
    user's columns when the grant has the ``openid`` scope (for the ID token's claims).

    ``$7`` is the code's or token's digest, ``$8`` the grant's own parameter, ``$9`` the
    PKCE challenge (codes only), ``$10`` the issue time, ``$11``/``$12`` the access token's
    digest and expiry, ``$13``/``$14`` the refresh token's.
    """
    return f"""
WITH {CLIENT_CTES},
found AS ({found}),
source AS ({source}),
access AS (
  INSERT INTO access_tokens (token_digest, client_id, user_id, subject_type, scope, family_id,
                             created_at, expires_at)
  SELECT $11, client_id, user_id, subject_type, access_scope, family_id, $10, $12 FROM source
), refresh AS (
  INSERT INTO refresh_tokens (token_digest, client_id, user_id, subject_type, scope, family_id,
                              created_at, expires_at, auth_time, sid)
  SELECT $13, client_id, user_id, subject_type, scope, family_id, $10, $14, auth_time, sid
    FROM source
   WHERE (SELECT grant_types::jsonb ? 'refresh_token' FROM client)
  RETURNING 1
)
SELECT {CLIENT_COLUMNS}, f.*, s.user_id AS issued_user_id, s.scope AS issued_scope,
       s.access_scope, s.family_id AS issued_family_id, s.nonce AS issued_nonce,
       s.auth_time AS issued_auth_time, s.sid AS issued_sid, {USER_COLUMNS},
       EXISTS (SELECT FROM refresh) AS refresh_issued
  FROM client c LEFT JOIN found f ON true LEFT JOIN source s ON true
  LEFT JOIN users u ON u.id = s.user_id AND 'openid' = ANY (string_to_array(s.scope, ' '))
"""


# $8 the redirect URI (NULL: not sent), $9 the PKCE challenge (NULL: none).
_REDEEM_CODE = _grant_statement(
    """
  SELECT client_id AS found_client_id, redirect_uri AS found_redirect_uri,
         code_challenge AS found_code_challenge, family_id AS found_family_id,
         expires_at AS found_expires_at, consumed_at AS found_consumed_at
    FROM authorization_codes WHERE code_digest = $7""",
    f"""
  UPDATE authorization_codes SET consumed_at = $10
   WHERE code_digest = $7 AND {OWNED_BY_TRUSTED}
     AND consumed_at IS NULL AND expires_at > $10
     AND ($8::text IS NULL OR redirect_uri = $8::text)
     AND code_challenge IS NOT DISTINCT FROM $9::text
     AND ($9::text IS NOT NULL OR (SELECT client_type FROM client) <> 'public')
  RETURNING client_id, user_id, 'user'::varchar AS subject_type, scope,
            scope AS access_scope, family_id, nonce, auth_time, sid""",
)

# $8 the narrower access scope asked for (NULL: the grant's). $9 (no challenge here) is read
# in ``found`` only so that PostgreSQL knows its type.
_ROTATE_REFRESH = _grant_statement(
    """
  SELECT client_id AS found_client_id, scope AS found_scope, family_id AS found_family_id,
         expires_at AS found_expires_at, rotated_at AS found_rotated_at,
         revoked_at AS found_revoked_at, $9::text AS found_unused
    FROM refresh_tokens WHERE token_digest = $7""",
    f"""
  UPDATE refresh_tokens SET rotated_at = $10
   WHERE token_digest = $7 AND {OWNED_BY_TRUSTED}
     AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $10
     AND ($8::text IS NULL OR string_to_array(scope, ' ') @> string_to_array($8::text, ' '))
  RETURNING client_id, user_id, subject_type, scope, COALESCE($8::text, scope) AS access_scope,
            family_id, NULL::varchar AS nonce, auth_time, sid""",
)

_REVOKE_FAMILY = """
WITH a AS (
  UPDATE access_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL
)
UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL
"""


def _grant_args(
    check: ClientCheck, digest: str, own: str | None, challenge: str | None, tokens: NewTokens
) -> tuple[Any, ...]:
    return (
        *check_args(check),
        digest,
        own,
        challenge,
        tokens.issued_at,
        tokens.access_digest,
        tokens.access_expires_at,
        tokens.refresh_digest,
        tokens.refresh_expires_at,
    )


def _issued(row: Any) -> Issued | None:
    if row["issued_family_id"] is None:
        return None
    return Issued(
        user_id=row["issued_user_id"],
        scope=row["issued_scope"],
        access_scope=row["access_scope"],
        family_id=row["issued_family_id"],
        refresh_issued=row["refresh_issued"],
        nonce=row["issued_nonce"],
        auth_time=row["issued_auth_time"],
        sid=row["issued_sid"],
        user=UserProfile.maybe(row),
    )


def _code(row: Any) -> CodeRecord | None:
    if row["found_client_id"] is None:
        return None
    return CodeRecord(
        client_id=row["found_client_id"],
        redirect_uri=row["found_redirect_uri"],
        code_challenge=row["found_code_challenge"],
        family_id=row["found_family_id"],
        expires_at=row["found_expires_at"],
        consumed_at=row["found_consumed_at"],
    )


def _refresh(row: Any) -> StoredRefreshToken | None:
    if row["found_client_id"] is None:
        return None
    return StoredRefreshToken(
        client_id=row["found_client_id"],
        scope=row["found_scope"],
        family_id=row["found_family_id"],
        expires_at=row["found_expires_at"],
        rotated_at=row["found_rotated_at"],
        revoked_at=row["found_revoked_at"],
    )


class GrantStatements:
    """The code and refresh grants' storage on the write pool."""

    _pool: ConnectionPool

    async def redeem_code(
        self,
        *,
        client: ClientCheck,
        code_digest: str,
        redirect_uri: str | None,
        code_challenge: str | None,
        tokens: NewTokens,
    ) -> Checked[CodeRedemption]:
        args = _grant_args(client, code_digest, redirect_uri, code_challenge, tokens)
        row = await self._pool.fetchrow(_REDEEM_CODE, *args)
        if row is None:
            return Checked(None)
        return Checked(client_of(client, row), CodeRedemption(_code(row), _issued(row)))

    async def rotate_refresh_token(
        self,
        *,
        client: ClientCheck,
        token_digest: str,
        access_scope: str | None,
        tokens: NewTokens,
    ) -> Checked[Rotation]:
        args = _grant_args(client, token_digest, access_scope, None, tokens)
        row = await self._pool.fetchrow(_ROTATE_REFRESH, *args)
        if row is None:
            return Checked(None)
        return Checked(client_of(client, row), Rotation(_refresh(row), _issued(row)))

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        await self._pool.execute(_REVOKE_FAMILY, family_id, now)
