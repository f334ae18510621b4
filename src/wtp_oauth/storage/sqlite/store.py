"""The OAuth core's storage on SQLAlchemy Core over aiosqlite (the embedded default).

In-process, a read costs no round trip, so each guarded call reads the client and the code or
token, lets the core's own rules decide (``oauth.clients.holds``, ``code_refusal``,
``refresh_refusal``: no policy is written here), and only then writes. SQLite serialises
writers, so the write is one short transaction whose first statement is the conditional
``UPDATE … RETURNING`` that consumes the code or retires the refresh token: of two racing
requests only one sees a row, and the other is told it raced (a replay). This process's
writers queue for that one writer in order (``_writing``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wtp_oauth.models import (
    AccessToken,
    Application,
    AuthFailure,
    AuthorizationCode,
    AuthorizationRequest,
    BrowserSession,
    Consent,
    RefreshToken,
)
from wtp_oauth.models import User as UserRow
from wtp_oauth.oauth.clients import ClientCheck, holds
from wtp_oauth.oauth.grants.authorization_code.rules import code_refusal
from wtp_oauth.oauth.grants.authorization_code.storage import (
    AuthorizeSession,
    CodeRedemption,
    PreparedCode,
)
from wtp_oauth.oauth.grants.refresh_token.rules import refresh_refusal
from wtp_oauth.oauth.grants.refresh_token.storage import Rotation, StoredRefreshToken
from wtp_oauth.oauth.records import (
    AccessTokenRecord,
    AuthorizeContext,
    Checked,
    ClientRecord,
    CodeRecord,
    Issued,
    NewCode,
    NewTokens,
    PendingRequest,
    RefreshTokenRecord,
    UserProfile,
)

_codes = AuthorizationCode.__table__  # type: ignore[attr-defined]
_access = AccessToken.__table__  # type: ignore[attr-defined]
_refresh = RefreshToken.__table__  # type: ignore[attr-defined]
_apps = Application.__table__  # type: ignore[attr-defined]
_failures = AuthFailure.__table__  # type: ignore[attr-defined]
_users = UserRow.__table__  # type: ignore[attr-defined]
_sessions = BrowserSession.__table__  # type: ignore[attr-defined]
_consents = Consent.__table__  # type: ignore[attr-defined]
_requests = AuthorizationRequest.__table__  # type: ignore[attr-defined]
_owners = _users.alias("owners")

_USER_COLUMNS = (
    _users.c.id,
    _users.c.username,
    _users.c.display_name,
    _users.c.email,
    _users.c.created_at.label("user_created_at"),
    _users.c.updated_at.label("user_updated_at"),
)


# The same statement as on PostgreSQL (postgres/authorize.py), built once: one row always,
# with NULLs for a session that is not live, an application that does not exist, a consent
# never given.
_AUTHORIZE_CONTEXT = select(
    *_USER_COLUMNS,
    _sessions.c.auth_time.label("session_auth_time"),
    _sessions.c.sid.label("session_sid"),
    _apps.c.client_id,
    _apps.c.name,
    _apps.c.description,
    _apps.c.client_type,
    _apps.c.redirect_uris,
    _owners.c.username.label("owner_username"),
    _consents.c.scope.label("consent_scope"),
).select_from(
    select(literal(1).label("one"))
    .subquery("one")
    .outerjoin(
        _sessions,
        and_(
            _sessions.c.token_digest == bindparam("session_digest"),
            _sessions.c.expires_at > bindparam("now"),
        ),
    )
    .outerjoin(_users, _users.c.id == _sessions.c.user_id)
    .outerjoin(_apps, _apps.c.client_id == bindparam("client_id"))
    .outerjoin(_owners, _owners.c.id == _apps.c.owner_id)
    .outerjoin(
        _consents,
        and_(_consents.c.user_id == _users.c.id, _consents.c.client_id == _apps.c.client_id),
    )
)


def _token_query(table: Any, *extra: Any) -> Any:
    """A token with its user's columns (NULL for a client's own token)."""
    return select(
        table.c.client_id,
        table.c.scope,
        table.c.family_id,
        table.c.created_at,
        table.c.expires_at,
        table.c.revoked_at,
        *extra,
        *_USER_COLUMNS,
    ).outerjoin(_users, _users.c.id == table.c.user_id)


def _record_fields(row: Any) -> dict[str, Any]:
    return {
        "client_id": row.client_id,
        "scope": row.scope,
        "family_id": row.family_id,
        "issued_at": row.created_at,
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
        "user": UserProfile.maybe(row._mapping),
    }


class SQLiteStore:
    """Every storage interface of the core over the application's SQLAlchemy async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # SQLite has one writer at a time. Queueing this process's writers here, in order,
        # spares them SQLite's busy handler, whose growing sleeps made seconds-long tails.
        self._write_lock = asyncio.Lock()

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction, after this process's earlier writers."""
        async with self._write_lock, self._engine.begin() as conn:
            yield conn

    async def close(self) -> None:
        """The engine belongs to the application, which disposes of it."""

    # -- client authentication (oauth.clients.ClientStorage) --------------------------------

    async def find_client(self, check: ClientCheck) -> ClientRecord | None:
        recent = (
            select(_failures.c.id)
            .where(_failures.c.subject == check.throttle_subject)
            .where(_failures.c.created_at > check.failures_since)
            .limit(check.failure_limit)
            .subquery()
        )
        failures = select(func.count()).select_from(recent).scalar_subquery()
        query = select(
            _apps.c.client_type,
            _apps.c.secret_digest,
            _apps.c.grant_types,
            _apps.c.id_token_signed_response_alg,
            failures.label("failures"),
        ).where(_apps.c.client_id == check.client_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return ClientRecord(
            client_id=check.client_id,
            client_type=row.client_type,
            secret_digest=row.secret_digest,
            recent_failures=row.failures,
            grant_types=frozenset(row.grant_types),
            id_token_alg=row.id_token_signed_response_alg,
        )

    async def record_client_failure(self, check: ClientCheck, now: datetime) -> None:
        async with self.writing() as conn:
            await conn.execute(
                insert(_failures).values(subject=check.throttle_subject, created_at=now)
            )

    # -- the code and refresh grants --------------------------------------------------------

    async def redeem_code(
        self,
        *,
        client: ClientCheck,
        code_digest: str,
        redirect_uri: str | None,
        code_challenge: str | None,
        tokens: NewTokens,
    ) -> Checked[CodeRedemption]:
        found = await self.find_client(client)
        if found is None or not holds(client, found):
            return Checked(found)
        query = select(
            _codes.c.client_id,
            _codes.c.redirect_uri,
            _codes.c.code_challenge,
            _codes.c.family_id,
            _codes.c.expires_at,
            _codes.c.consumed_at,
        ).where(_codes.c.code_digest == code_digest)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        code = None if row is None else CodeRecord(**row._asdict())
        now = tokens.issued_at
        refusal = code_refusal(
            code, redirect_uri=redirect_uri, challenge=code_challenge, client=found, now=now
        )
        if refusal is not None:
            return Checked(found, CodeRedemption(code, None))
        consume = (
            update(_codes)
            .where(_codes.c.code_digest == code_digest, _codes.c.consumed_at.is_(None))
            .values(consumed_at=now)
            .returning(
                _codes.c.user_id,
                _codes.c.scope,
                _codes.c.family_id,
                _codes.c.nonce,
                _codes.c.auth_time,
                _codes.c.sid,
            )
        )
        async with self.writing() as conn:
            consumed = (await conn.execute(consume)).first()
            if consumed is None:  # another request consumed it meanwhile
                return Checked(found, CodeRedemption(code, None))
            issued = Issued(
                user_id=consumed.user_id,
                scope=consumed.scope,
                access_scope=consumed.scope,
                family_id=consumed.family_id,
                refresh_issued="refresh_token" in found.grant_types,
                nonce=consumed.nonce,
                auth_time=consumed.auth_time,
                sid=consumed.sid,
            )
            await insert_tokens(conn, tokens, client_id=found.client_id, issued=issued)
        return Checked(found, CodeRedemption(code, await self._with_claims(issued)))

    async def rotate_refresh_token(
        self,
        *,
        client: ClientCheck,
        token_digest: str,
        access_scope: str | None,
        tokens: NewTokens,
    ) -> Checked[Rotation]:
        found = await self.find_client(client)
        if found is None or not holds(client, found):
            return Checked(found)
        query = select(
            _refresh.c.client_id,
            _refresh.c.scope,
            _refresh.c.family_id,
            _refresh.c.expires_at,
            _refresh.c.rotated_at,
            _refresh.c.revoked_at,
        ).where(_refresh.c.token_digest == token_digest)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        token = None if row is None else StoredRefreshToken(**row._asdict())
        now = tokens.issued_at
        if refresh_refusal(token, access_scope=access_scope, client=found, now=now) is not None:
            return Checked(found, Rotation(token, None))
        retire = (
            update(_refresh)
            .where(_refresh.c.token_digest == token_digest)
            .where(_refresh.c.rotated_at.is_(None), _refresh.c.revoked_at.is_(None))
            .values(rotated_at=now)
            .returning(
                _refresh.c.user_id,
                _refresh.c.subject_type,
                _refresh.c.scope,
                _refresh.c.family_id,
                _refresh.c.auth_time,
                _refresh.c.sid,
            )
        )
        async with self.writing() as conn:
            retired = (await conn.execute(retire)).first()
            if retired is None:  # another request rotated it meanwhile
                return Checked(found, Rotation(token, None))
            issued = Issued(
                user_id=retired.user_id,
                scope=retired.scope,
                access_scope=retired.scope if access_scope is None else access_scope,
                family_id=retired.family_id,
                refresh_issued="refresh_token" in found.grant_types,
                auth_time=retired.auth_time,
                sid=retired.sid,
            )
            await insert_tokens(
                conn,
                tokens,
                client_id=found.client_id,
                issued=issued,
                subject_type=retired.subject_type,
            )
        return Checked(found, Rotation(token, await self._with_claims(issued)))

    async def _with_claims(self, issued: Issued) -> Issued:
        """``issued`` with its user's profile when the grant has ``openid`` (the ID token's
        claims; PostgreSQL reads them in the grant's statement)."""
        if issued.user_id is None or "openid" not in issued.scope.split():
            return issued
        query = select(*_USER_COLUMNS).where(_users.c.id == issued.user_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return issued if row is None else replace(issued, user=UserProfile.of(row._mapping))

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        async with self.writing() as conn:
            for table in (_access, _refresh):
                await conn.execute(
                    update(table)
                    .where(table.c.family_id == family_id)
                    .where(table.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                )

    # -- bearer checks, introspection and revocation (oauth.endpoints.storage) --------------

    async def find_access_token(self, token_digest: str) -> AccessTokenRecord | None:
        query = _token_query(_access).where(_access.c.token_digest == token_digest)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else AccessTokenRecord(**_record_fields(row))

    async def _find_refresh_token(self, token_digest: str) -> RefreshTokenRecord | None:
        query = _token_query(_refresh, _refresh.c.rotated_at).where(
            _refresh.c.token_digest == token_digest
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return RefreshTokenRecord(**_record_fields(row), rotated_at=row.rotated_at)

    async def introspect_token(
        self, *, client: ClientCheck, token_digest: str, refresh: bool
    ) -> Checked[AccessTokenRecord | RefreshTokenRecord]:
        found = await self.find_client(client)
        if found is None or not holds(client, found):
            return Checked(found)
        record: AccessTokenRecord | RefreshTokenRecord | None
        if refresh:
            record = await self._find_refresh_token(token_digest)
        else:
            record = await self.find_access_token(token_digest)
        if record is not None and record.client_id != client.client_id:
            record = None
        return Checked(found, record)

    async def revoke_token(
        self, *, client: ClientCheck, token_digest: str, refresh: bool, now: datetime
    ) -> Checked[None]:
        found = await self.find_client(client)
        if found is None or not holds(client, found):
            return Checked(found)
        if refresh:
            query = select(_refresh.c.family_id).where(
                _refresh.c.token_digest == token_digest, _refresh.c.client_id == client.client_id
            )
            async with self._engine.connect() as conn:
                family_id = (await conn.execute(query)).scalar()
            if family_id is not None:
                await self.revoke_family(family_id, now)
        else:
            async with self.writing() as conn:
                await conn.execute(
                    update(_access)
                    .where(_access.c.token_digest == token_digest)
                    .where(_access.c.client_id == client.client_id)
                    .where(_access.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
        return Checked(found)

    # -- the authorization endpoint ---------------------------------------------------------

    async def authorize_context(
        self,
        *,
        session_digest: str | None,
        client_id: str | None,
        now: datetime,
        prepared: PreparedCode | None = None,
    ) -> AuthorizeContext:
        # The prepared code is declined: in-process, a second statement costs no round trip.
        params = {"session_digest": session_digest, "client_id": client_id, "now": now}
        async with self._engine.connect() as conn:
            row = (await conn.execute(_AUTHORIZE_CONTEXT, params)).one()
        return AuthorizeContext.of(session_digest, row._mapping, row.redirect_uris or [])

    async def add_code(self, code: NewCode) -> bool:
        return await self._insert(_codes, asdict(code))

    async def add_pending_request(self, request: PendingRequest) -> bool:
        return await self._insert(_requests, asdict(request))

    @asynccontextmanager
    async def authorizing(self) -> AsyncIterator[AuthorizeSession]:
        # No pool of driver connections here: each statement takes its own, as ever.
        yield self

    async def _insert(self, table: Any, row: dict[str, Any]) -> bool:
        """Insert ``row``; False if a row it refers to was deleted since it was read."""
        try:
            async with self.writing() as conn:
                await conn.execute(insert(table), row)
        except IntegrityError as exc:
            # As on PostgreSQL, only a vanished parent row is an answer; anything else is a bug.
            if "FOREIGN KEY" not in str(exc.orig):
                raise
            return False
        return True


async def insert_tokens(
    conn: AsyncConnection,
    tokens: NewTokens,
    *,
    client_id: str,
    issued: Issued,
    subject_type: str = "user",
) -> None:
    """Store the access token, and the refresh token when one is issued, of a grant that
    redeemed something in ``conn``'s transaction (every grant's tokens go through here)."""
    common = {
        "client_id": client_id,
        "user_id": issued.user_id,
        "subject_type": subject_type,
        "family_id": issued.family_id,
        "created_at": tokens.issued_at,
    }
    await conn.execute(
        insert(_access).values(
            token_digest=tokens.access_digest,
            scope=issued.access_scope,
            expires_at=tokens.access_expires_at,
            **common,
        )
    )
    if issued.refresh_issued and tokens.refresh_digest is not None:
        await conn.execute(
            insert(_refresh).values(
                token_digest=tokens.refresh_digest,
                scope=issued.scope,
                expires_at=tokens.refresh_expires_at,
                auth_time=issued.auth_time,
                sid=issued.sid,
                **common,
            )
        )
