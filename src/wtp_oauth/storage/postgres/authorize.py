"""The authorization endpoint's statements (the authorize link, SPEC §5).

A sign-in with a remembered consent is on every client's sign-in path: the lookup of the
session, the client and the consent also stores, in the same statement, the code the request
offered as a hint (``PreparedCode``) when what it reads allows it — the SQL twin of the
authorization service's decision (a live session, a registered redirect URI, PKCE for public
clients, a consent that covers the scope, and SPEC §17's rule on skipping consent). The
service still decides; a code stored here that it then does not issue is deleted when the
request's ``authorizing()`` block ends, so no grant is left behind.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg

from wtp_oauth.oauth.grants.authorization_code.storage import AuthorizeSession, PreparedCode
from wtp_oauth.oauth.records import AuthorizeContext, NewCode, PendingRequest
from wtp_oauth.storage.postgres.pool import ConnectionPool
from wtp_oauth.storage.postgres.tokens import USER_COLUMNS

# $1 session digest, $2 client_id, $3 now (a NULL digest or client_id finds nothing). One row
# always: the session's user columns are NULL unless it is live, the application's unless it
# exists, the consent's scope unless both are there and the user granted something.
_AUTHORIZE_CONTEXT = f"""
SELECT {USER_COLUMNS}, s.auth_time AS session_auth_time, s.sid AS session_sid,
       a.client_id, a.name, a.description, a.client_type, a.redirect_uris,
       o.username AS owner_username, c.scope AS consent_scope
  FROM (SELECT 1) AS one
  LEFT JOIN sessions s ON s.token_digest = $1 AND s.expires_at > $3
  LEFT JOIN users u ON u.id = s.user_id
  LEFT JOIN applications a ON a.client_id = $2
  LEFT JOIN users o ON o.id = a.owner_id
  LEFT JOIN consents c ON c.user_id = u.id AND c.client_id = a.client_id
"""

# The lookup above and, in the same statement, the prepared code ($4 digest, $5 redirect URI,
# $6 scope, $7 challenge, $8 family, $9 creation, $10 expiry, $11 nonce) for the application and
# the session's user, with the session's sign-in time and id, on the conditions the module's
# docstring names.
_AUTHORIZE_CONTEXT_AND_CODE = f"""
WITH ctx AS MATERIALIZED ({_AUTHORIZE_CONTEXT}), code AS (
  INSERT INTO authorization_codes (code_digest, client_id, user_id, redirect_uri, scope,
                                   code_challenge, family_id, created_at, expires_at, nonce,
                                   auth_time, sid)
  SELECT $4, ctx.client_id, ctx.id, $5::text, $6::text, $7::text, $8, $9, $10, $11::text,
         ctx.session_auth_time, ctx.session_sid
    FROM ctx
   WHERE ctx.id IS NOT NULL AND ctx.owner_username IS NOT NULL
     AND ctx.redirect_uris::jsonb ? $5::text
     AND (ctx.client_type <> 'public' OR ($7::text IS NOT NULL AND $5::text LIKE 'https://%'))
     AND string_to_array(ctx.consent_scope, ' ') @> string_to_array($6::text, ' ')
  RETURNING 1
)
SELECT ctx.*, EXISTS (SELECT FROM code) AS code_stored FROM ctx
"""

_ADD_CODE = """
INSERT INTO authorization_codes (code_digest, client_id, user_id, redirect_uri, scope,
                                 code_challenge, family_id, created_at, expires_at, nonce,
                                 auth_time, sid)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
"""

_WITHDRAW_CODE = "DELETE FROM authorization_codes WHERE code_digest = $1"

_ADD_PENDING_REQUEST = """
INSERT INTO authorization_requests (id_digest, session_digest, client_id, redirect_uri, scope,
                                    state, code_challenge, created_at, expires_at, nonce)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""


class _Authorizing:
    """The statements of one authorization request on ``db`` (a pool, or one of its
    connections held for the request); each commits on its own. Remembers the prepared code
    it stored, so that :meth:`add_code` of that code writes nothing and :meth:`finish`
    deletes it if it was never issued."""

    def __init__(self, db: ConnectionPool | asyncpg.Connection) -> None:
        self._db = db
        self._stored: str | None = None

    async def authorize_context(
        self,
        *,
        session_digest: str | None,
        client_id: str | None,
        now: datetime,
        prepared: PreparedCode | None = None,
    ) -> AuthorizeContext:
        row = None
        if prepared is not None:
            try:
                row = await self._db.fetchrow(
                    _AUTHORIZE_CONTEXT_AND_CODE,
                    session_digest,
                    client_id,
                    now,
                    prepared.code_digest,
                    prepared.redirect_uri,
                    prepared.scope,
                    prepared.code_challenge,
                    prepared.family_id,
                    prepared.created_at,
                    prepared.expires_at,
                    prepared.nonce,
                )
            except asyncpg.ForeignKeyViolationError:
                # The application or the user was deleted as the code went in: read again,
                # without it, and let the caller see what is gone.
                row = None
            if row is not None and row["code_stored"]:
                self._stored = prepared.code_digest
        if row is None:
            row = await self._db.fetchrow(_AUTHORIZE_CONTEXT, session_digest, client_id, now)
        assert row is not None  # always one row: the lookup is LEFT JOINs on (SELECT 1)
        # A json column: asyncpg hands over its text (NULL when there is no application).
        uris = row["redirect_uris"]
        return AuthorizeContext.of(session_digest, row, [] if uris is None else json.loads(uris))

    async def add_code(self, code: NewCode) -> bool:
        if code.code_digest == self._stored:
            self._stored = None
            return True
        return await self._insert(
            _ADD_CODE,
            code.code_digest,
            code.client_id,
            code.user_id,
            code.redirect_uri,
            code.scope,
            code.code_challenge,
            code.family_id,
            code.created_at,
            code.expires_at,
            code.nonce,
            code.auth_time,
            code.sid,
        )

    async def add_pending_request(self, request: PendingRequest) -> bool:
        return await self._insert(
            _ADD_PENDING_REQUEST,
            request.id_digest,
            request.session_digest,
            request.client_id,
            request.redirect_uri,
            request.scope,
            request.state,
            request.code_challenge,
            request.created_at,
            request.expires_at,
            request.nonce,
        )

    async def finish(self) -> None:
        """Delete the prepared code if it was stored and never issued."""
        if self._stored is not None:
            stored, self._stored = self._stored, None
            await self._db.execute(_WITHDRAW_CODE, stored)

    async def _insert(self, query: str, *args: Any) -> bool:
        """Run an INSERT; False if a row it refers to was deleted since it was read."""
        try:
            await self._db.execute(query, *args)
        except asyncpg.ForeignKeyViolationError:
            return False
        return True


class AuthorizeStatements:
    """``AuthorizeStorage`` on the write pool, like the INSERT that follows the lookup and the
    grant it leads to: the read pool is kept for the bearer checks and introspections."""

    _pool: ConnectionPool

    @asynccontextmanager
    async def authorizing(self) -> AsyncIterator[AuthorizeSession]:
        async with self._pool.connection() as conn:
            session = _Authorizing(conn)
            yield session
            # Not on an error's way out: a prepared code left then is one nobody holds, and
            # it expires with WTP_CODE_TTL.
            await session.finish()
