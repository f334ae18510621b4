"""The token store on the asyncpg driver connection (PostgreSQL).

The token path is the product's hot path (STYLE §9): each call is one prepared statement on a
connection of a small fair pool (``pool.py``), and each request one round trip. A grant's
statement authenticates the client, consumes the code (or retires the refresh token) and
inserts the new tokens, with data-modifying CTEs; it returns the client's record with the
grant, so that a refusal can be explained without asking again.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from wtp_oauth.repositories.token_store.base import (
    AccessTokenRecord,
    AuthorizeContext,
    AuthorizeStore,
    Checked,
    ClientCheck,
    ClientRecord,
    CodeRecord,
    Grant,
    NewCode,
    NewTokens,
    PendingRequest,
    ProspectiveCode,
    RefreshTokenRecord,
    UserProfile,
)
from wtp_oauth.repositories.token_store.pool import ConnectionPool


# The client's failures are counted through ix_auth_failures_subject_at and at most up to the
# limit, so a client under a guessing attack costs no more to check than any other.
def _failures(since: str, limit: str) -> str:
    return f"""(SELECT count(*) FROM (
   SELECT 1 FROM auth_failures f
    WHERE f.subject = 'client:' || a.client_id AND f.created_at > {since} LIMIT {limit}
 ) AS recent)"""


_GET_CLIENT = f"""
SELECT a.client_type, a.secret_digest, {_failures("$2", "$3")} AS failures
  FROM applications a WHERE a.client_id = $1
"""

# $1 client_id, $2 digest of the presented secret (NULL: none), $3 failures since, $4 limit.
# ``trusted`` has the client's row only if the authentication holds (ClientCheck).
_CLIENT_CTES = f"""
client AS (
  SELECT a.client_id, a.client_type, a.secret_digest, {_failures("$3", "$4")} AS failures
    FROM applications a WHERE a.client_id = $1
), trusted AS (
  SELECT client_id FROM client
   WHERE failures < $4
     AND CASE WHEN client_type = 'public' THEN $2::text IS NULL
              ELSE secret_digest = $2::text END
)"""

# A token (or code) belongs to the authenticated client: compared as ``(…) IS TRUE``, which
# PostgreSQL can only apply as a filter, never as an index condition. These statements are
# prepared once per connection, and after five executions PostgreSQL settles on a generic plan.
# Planned while the tables were small (a new install, or statistics gone stale with autovacuum
# off), that plan looked the row up through the ``client_id`` index and filtered on the digest:
# every request from then on read every code or token of the client. Code exchanges fell from
# 2,280/s to 1,680/s over four 5-second runs and came back on fresh connections (docs/
# performance.md). With the comparison as a filter, the digest's unique index is the way in.
_OWNED_BY_TRUSTED = "(client_id = (SELECT client_id FROM trusted)) IS TRUE"

_CLIENT_COLUMNS = """c.client_type, c.secret_digest, c.failures,
       t.client_id IS NOT NULL AS authenticated"""

_RECORD_FAILURE = "INSERT INTO auth_failures (subject, created_at) VALUES ('client:' || $1, $2)"


def _grant_statement(source: str) -> str:
    """A grant: the client CTEs, ``source`` (consumes a code or retires a refresh token,
    returning what the new tokens inherit), the two inserts, and one row of answer.

    ``$5`` is the issue time; ``$6``… are used by ``source``; ``$8``…``$11`` are the access
    digest and expiry, then the refresh digest and expiry.
    """
    return f"""
WITH {_CLIENT_CTES},
source AS ({source}),
access AS (
  INSERT INTO access_tokens (token_digest, client_id, user_id, scope, family_id,
                             created_at, expires_at)
  SELECT $8, client_id, user_id, access_scope, family_id, $5, $9 FROM source
), refresh AS (
  INSERT INTO refresh_tokens (token_digest, client_id, user_id, scope, family_id,
                              created_at, expires_at)
  SELECT $10, client_id, user_id, scope, family_id, $5, $11 FROM source
)
SELECT {_CLIENT_COLUMNS}, s.user_id, s.scope, s.access_scope, s.family_id
  FROM client c LEFT JOIN trusted t ON true LEFT JOIN source s ON true
"""


# $6 code digest, $7 redirect URI (NULL: not sent); $12 the PKCE challenge (NULL: none).
_REDEEM_CODE = _grant_statement(f"""
  UPDATE authorization_codes SET consumed_at = $5
   WHERE code_digest = $6 AND {_OWNED_BY_TRUSTED}
     AND consumed_at IS NULL AND expires_at > $5
     AND ($7::text IS NULL OR redirect_uri = $7)
     AND code_challenge IS NOT DISTINCT FROM $12::text
     AND ($12::text IS NOT NULL OR (SELECT client_type FROM client) <> 'public')
  RETURNING client_id, user_id, scope, scope AS access_scope, family_id""")

# $6 refresh token digest, $7 the narrower access scope asked for (NULL: the grant's).
_ROTATE_REFRESH = _grant_statement(f"""
  UPDATE refresh_tokens SET rotated_at = $5
   WHERE token_digest = $6 AND {_OWNED_BY_TRUSTED}
     AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $5
     AND ($7::text IS NULL OR string_to_array(scope, ' ') @> string_to_array($7::text, ' '))
  RETURNING client_id, user_id, scope, COALESCE($7::text, scope) AS access_scope, family_id""")

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
_ACCESS_COLUMNS = "tok.client_id AS token_client_id, tok.scope, tok.family_id, tok.created_at, \
tok.expires_at, tok.revoked_at"
_REFRESH_COLUMNS = _ACCESS_COLUMNS + ", tok.rotated_at"

_FIND_ACCESS = f"""
SELECT {_ACCESS_COLUMNS}, {_USER_COLUMNS}
  FROM access_tokens tok JOIN users u ON u.id = tok.user_id WHERE tok.token_digest = $1
"""

_FIND_REFRESH = f"""
SELECT {_REFRESH_COLUMNS}, {_USER_COLUMNS}
  FROM refresh_tokens tok JOIN users u ON u.id = tok.user_id WHERE tok.token_digest = $1
"""


def _introspect(table: str, columns: str) -> str:
    """The client CTEs, then the token ``$5`` if the authenticated client owns it."""
    return f"""
WITH {_CLIENT_CTES}
SELECT {_CLIENT_COLUMNS}, {columns}, {_USER_COLUMNS}
  FROM client c LEFT JOIN trusted t ON true
  LEFT JOIN ({table} tok JOIN users u ON u.id = tok.user_id)
         ON tok.token_digest = $5 AND (tok.client_id = t.client_id) IS TRUE
"""


_INTROSPECT_ACCESS = _introspect("access_tokens", _ACCESS_COLUMNS)
_INTROSPECT_REFRESH = _introspect("refresh_tokens", _REFRESH_COLUMNS)

# $5 the token's digest, $6 now.
_REVOKE_ACCESS = f"""
WITH {_CLIENT_CTES}, revoked AS (
  UPDATE access_tokens SET revoked_at = $6
   WHERE token_digest = $5 AND {_OWNED_BY_TRUSTED} AND revoked_at IS NULL
)
SELECT {_CLIENT_COLUMNS} FROM client c LEFT JOIN trusted t ON true
"""

_REVOKE_REFRESH_FAMILY = f"""
WITH {_CLIENT_CTES}, family AS (
  SELECT family_id FROM refresh_tokens
   WHERE token_digest = $5 AND {_OWNED_BY_TRUSTED}
), access AS (
  UPDATE access_tokens SET revoked_at = $6
   WHERE family_id = (SELECT family_id FROM family) AND revoked_at IS NULL
), refresh AS (
  UPDATE refresh_tokens SET revoked_at = $6
   WHERE family_id = (SELECT family_id FROM family) AND revoked_at IS NULL
)
SELECT {_CLIENT_COLUMNS} FROM client c LEFT JOIN trusted t ON true
"""


# $1 session digest, $2 client_id, $3 now (a NULL digest or client_id finds nothing). One row
# always: the session's user columns are NULL unless it is live, the application's unless it
# exists, the consent's scope unless both are there and the user granted something.
_AUTHORIZE_CONTEXT = f"""
SELECT {_USER_COLUMNS}, a.client_id, a.name, a.description, a.client_type, a.redirect_uris,
       o.username AS owner_username, c.scope AS consent_scope
  FROM (SELECT 1) AS one
  LEFT JOIN sessions s ON s.token_digest = $1 AND s.expires_at > $3
  LEFT JOIN users u ON u.id = s.user_id
  LEFT JOIN applications a ON a.client_id = $2
  LEFT JOIN users o ON o.id = a.owner_id
  LEFT JOIN consents c ON c.user_id = u.id AND c.client_id = a.client_id
"""

# The lookup above and, in the same statement, the prospective code ($4 digest, $5 redirect
# URI, $6 scope, $7 challenge, $8 family, $9 creation, $10 expiry) for the application and the
# session's user, on the conditions of base.ProspectiveCode.
_AUTHORIZE_CONTEXT_AND_CODE = f"""
WITH ctx AS MATERIALIZED ({_AUTHORIZE_CONTEXT}), code AS (
  INSERT INTO authorization_codes (code_digest, client_id, user_id, redirect_uri, scope,
                                   code_challenge, family_id, created_at, expires_at)
  SELECT $4, ctx.client_id, ctx.id, $5::text, $6::text, $7::text, $8, $9, $10
    FROM ctx
   WHERE ctx.id IS NOT NULL AND ctx.owner_username IS NOT NULL
     AND ctx.redirect_uris::jsonb ? $5::text
     AND (ctx.client_type <> 'public' OR $7::text IS NOT NULL)
     AND string_to_array(ctx.consent_scope, ' ') @> string_to_array($6::text, ' ')
  RETURNING 1
)
SELECT ctx.*, EXISTS (SELECT FROM code) AS code_stored FROM ctx
"""

_ADD_CODE = """
INSERT INTO authorization_codes (code_digest, client_id, user_id, redirect_uri, scope,
                                 code_challenge, family_id, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""

_WITHDRAW_CODE = "DELETE FROM authorization_codes WHERE code_digest = $1"

_ADD_PENDING_REQUEST = """
INSERT INTO authorization_requests (id_digest, session_digest, client_id, redirect_uri, scope,
                                    state, code_challenge, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""


def asyncpg_dsn(database_url: str) -> str:
    """``postgresql+asyncpg://…`` as the plain DSN asyncpg accepts."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _check_args(check: ClientCheck) -> tuple[str, str | None, datetime, int]:
    return (check.client_id, check.secret_digest, check.failures_since, check.failure_limit)


def _client(check: ClientCheck, row: Any) -> ClientRecord | None:
    if row is None:
        return None
    return ClientRecord(
        client_id=check.client_id,
        client_type=row["client_type"],
        secret_digest=row["secret_digest"],
        recent_failures=row["failures"],
    )


def _access(row: Any) -> AccessTokenRecord:
    return AccessTokenRecord(
        client_id=row["token_client_id"],
        scope=row["scope"],
        family_id=row["family_id"],
        issued_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        user=UserProfile.of(row),
    )


def _refresh(row: Any) -> RefreshTokenRecord:
    return RefreshTokenRecord(
        client_id=row["token_client_id"],
        scope=row["scope"],
        family_id=row["family_id"],
        issued_at=row["created_at"],
        expires_at=row["expires_at"],
        rotated_at=row["rotated_at"],
        revoked_at=row["revoked_at"],
        user=UserProfile.of(row),
    )


def _granted(check: ClientCheck, row: Any) -> Checked[Grant]:
    if row is None:
        return Checked(client=None, authenticated=False)
    grant = None
    if row["family_id"] is not None:
        grant = Grant(
            user_id=row["user_id"],
            scope=row["scope"],
            access_scope=row["access_scope"],
            family_id=row["family_id"],
        )
    return Checked(client=_client(check, row), authenticated=row["authenticated"], result=grant)


def _grant_args(
    check: ClientCheck, tokens: NewTokens, digest: str, narrowing: str | None
) -> tuple[Any, ...]:
    return (
        *_check_args(check),
        tokens.issued_at,
        digest,
        narrowing,
        tokens.access_digest,
        tokens.access_expires_at,
        tokens.refresh_digest,
        tokens.refresh_expires_at,
    )


class _Authorizing:
    """The authorize link's statements on ``db``: a pool, or one of its connections held for
    the request. Each statement commits on its own."""

    def __init__(self, db: ConnectionPool | asyncpg.Connection) -> None:
        self._db = db

    async def authorize_context(
        self,
        *,
        session_digest: str | None,
        client_id: str | None,
        now: datetime,
        code: ProspectiveCode | None = None,
    ) -> AuthorizeContext:
        row = None
        if code is not None:
            try:
                row = await self._db.fetchrow(
                    _AUTHORIZE_CONTEXT_AND_CODE,
                    session_digest,
                    client_id,
                    now,
                    code.code_digest,
                    code.redirect_uri,
                    code.scope,
                    code.code_challenge,
                    code.family_id,
                    code.created_at,
                    code.expires_at,
                )
            except asyncpg.ForeignKeyViolationError:
                # The application or the user was deleted as the code went in: read again,
                # without it, and let the caller see what is gone.
                row = None
        if row is None:
            row = await self._db.fetchrow(_AUTHORIZE_CONTEXT, session_digest, client_id, now)
        assert row is not None  # always one row: the lookup is LEFT JOINs on (SELECT 1)
        # A json column: asyncpg hands over its text (NULL when there is no application).
        uris = row["redirect_uris"]
        redirect_uris = [] if uris is None else json.loads(uris)
        stored = code is not None and row.get("code_stored", False)
        return AuthorizeContext.of(session_digest, row, redirect_uris, code_stored=stored)

    async def add_code(self, code: NewCode) -> bool:
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
        )

    async def withdraw_code(self, code_digest: str) -> None:
        await self._db.execute(_WITHDRAW_CODE, code_digest)

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
        )

    async def _insert(self, query: str, *args: Any) -> bool:
        """Run an INSERT; False if a row it refers to was deleted since it was read."""
        try:
            await self._db.execute(query, *args)
        except asyncpg.ForeignKeyViolationError:
            return False
        return True


class PostgresTokenStore(_Authorizing):
    """``TokenStore`` over two :class:`ConnectionPool`: one for writes, one for reads.

    The authorize link's statements, called on the store itself, run on the write pool (one
    connection each); :meth:`authorizing` holds one connection for a request's statements.
    """

    def __init__(self, writes: ConnectionPool, reads: ConnectionPool) -> None:
        super().__init__(writes)
        self._pool = writes
        self._reads = reads

    @classmethod
    async def connect(cls, database_url: str, *, reads: int, writes: int) -> PostgresTokenStore:
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

    async def get_client(
        self, client_id: str, *, failures_since: datetime, failure_limit: int | None = None
    ) -> ClientRecord | None:
        row = await self._pool.fetchrow(_GET_CLIENT, client_id, failures_since, failure_limit)
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
        client: ClientCheck,
        code_digest: str,
        redirect_uri: str | None,
        code_challenge: str | None,
        tokens: NewTokens,
    ) -> Checked[Grant]:
        args = _grant_args(client, tokens, code_digest, redirect_uri)
        return _granted(client, await self._pool.fetchrow(_REDEEM_CODE, *args, code_challenge))

    async def find_code(self, code_digest: str) -> CodeRecord | None:
        row = await self._pool.fetchrow(_FIND_CODE, code_digest)
        return None if row is None else CodeRecord(**dict(row))

    async def rotate_refresh_token(
        self,
        *,
        client: ClientCheck,
        token_digest: str,
        access_scope: str | None,
        tokens: NewTokens,
    ) -> Checked[Grant]:
        args = _grant_args(client, tokens, token_digest, access_scope)
        return _granted(client, await self._pool.fetchrow(_ROTATE_REFRESH, *args))

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        await self._pool.execute(_REVOKE_FAMILY, family_id, now)

    @asynccontextmanager
    async def authorizing(self) -> AsyncIterator[AuthorizeStore]:
        # On the write pool, like the INSERT that follows the lookup and the grant it leads
        # to: the read pool is kept for the bearer checks and introspections.
        async with self._pool.connection() as conn:
            yield _Authorizing(conn)

    async def find_access_token(self, token_digest: str) -> AccessTokenRecord | None:
        row = await self._reads.fetchrow(_FIND_ACCESS, token_digest)
        return None if row is None else _access(row)

    async def find_refresh_token(self, token_digest: str) -> RefreshTokenRecord | None:
        row = await self._pool.fetchrow(_FIND_REFRESH, token_digest)
        return None if row is None else _refresh(row)

    async def introspect_token(
        self, *, client: ClientCheck, token_digest: str, refresh: bool
    ) -> Checked[AccessTokenRecord | RefreshTokenRecord]:
        query = _INTROSPECT_REFRESH if refresh else _INTROSPECT_ACCESS
        row = await self._reads.fetchrow(query, *_check_args(client), token_digest)
        if row is None:
            return Checked(client=None, authenticated=False)
        record: AccessTokenRecord | RefreshTokenRecord | None = None
        if row["token_client_id"] is not None:
            record = _refresh(row) if refresh else _access(row)
        return Checked(
            client=_client(client, row), authenticated=row["authenticated"], result=record
        )

    async def revoke_token(
        self, *, client: ClientCheck, token_digest: str, refresh: bool, now: datetime
    ) -> Checked[None]:
        query = _REVOKE_REFRESH_FAMILY if refresh else _REVOKE_ACCESS
        row = await self._pool.fetchrow(query, *_check_args(client), token_digest, now)
        if row is None:
            return Checked(client=None, authenticated=False)
        return Checked(client=_client(client, row), authenticated=row["authenticated"])
