"""The token store on SQLAlchemy Core over aiosqlite (the embedded default).

SQLite serialises writers, so each redemption runs as one short write transaction whose first
statement is the conditional ``UPDATE … RETURNING`` that consumes the code or retires the
refresh token: of two racing requests, only one sees a row; this process's writers queue for
that one writer in order. The client is read and checked
(``ClientCheck.authenticates``) just before, in its own read: starting the write transaction
with a read could not be upgraded to a write once another writer had committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, literal, select, update
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
from wtp_oauth.scopes import parse_scope

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
)


# The same statement as on PostgreSQL (postgres.py), built once: one row always, with NULLs
# for a session that is not live, an application that does not exist, a consent never given.
_AUTHORIZE_CONTEXT = select(
    *_USER_COLUMNS,
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


async def _insert_pair(
    conn: AsyncConnection, tokens: NewTokens, *, client_id: str, grant: Grant
) -> None:
    common = {
        "client_id": client_id,
        "user_id": grant.user_id,
        "family_id": grant.family_id,
        "created_at": tokens.issued_at,
    }
    await conn.execute(
        insert(_access).values(
            token_digest=tokens.access_digest,
            scope=grant.access_scope,
            expires_at=tokens.access_expires_at,
            **common,
        )
    )
    await conn.execute(
        insert(_refresh).values(
            token_digest=tokens.refresh_digest,
            scope=grant.scope,
            expires_at=tokens.refresh_expires_at,
            **common,
        )
    )


class SQLiteTokenStore:
    """``TokenStore`` over the application's SQLAlchemy async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # SQLite has one writer at a time. Queueing this process's writers here, in order,
        # spares them SQLite's busy handler, whose growing sleeps made seconds-long tails.
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        async with self._write_lock, self._engine.begin() as conn:
            yield conn

    async def close(self) -> None:
        """The engine belongs to the application, which disposes of it."""

    async def get_client(
        self, client_id: str, *, failures_since: datetime, failure_limit: int | None = None
    ) -> ClientRecord | None:
        recent = (
            select(_failures.c.id)
            .where(_failures.c.subject == "client:" + client_id)
            .where(_failures.c.created_at > failures_since)
            .limit(failure_limit if failure_limit is not None else -1)
            .subquery()
        )
        failures = select(func.count()).select_from(recent).scalar_subquery()
        query = select(_apps.c.client_type, _apps.c.secret_digest, failures.label("failures"))
        async with self._engine.connect() as conn:
            row = (await conn.execute(query.where(_apps.c.client_id == client_id))).first()
        if row is None:
            return None
        return ClientRecord(
            client_id=client_id,
            client_type=row.client_type,
            secret_digest=row.secret_digest,
            recent_failures=row.failures,
        )

    async def record_client_failure(self, client_id: str, now: datetime) -> None:
        async with self._writing() as conn:
            await conn.execute(
                insert(_failures).values(subject="client:" + client_id, created_at=now)
            )

    async def _check(self, check: ClientCheck) -> Checked[Any]:
        client = await self.get_client(
            check.client_id,
            failures_since=check.failures_since,
            failure_limit=check.failure_limit,
        )
        return Checked(client=client, authenticated=check.authenticates(client))

    async def redeem_code(
        self,
        *,
        client: ClientCheck,
        code_digest: str,
        redirect_uri: str | None,
        code_challenge: str | None,
        tokens: NewTokens,
    ) -> Checked[Grant]:
        checked = await self._check(client)
        if not checked.authenticated:
            return checked
        assert checked.client is not None
        if code_challenge is None and checked.client.is_public:
            return checked
        grant = await self._redeem(
            client.client_id, code_digest, redirect_uri, code_challenge, tokens
        )
        return Checked(client=checked.client, authenticated=True, result=grant)

    async def _redeem(
        self,
        client_id: str,
        code_digest: str,
        redirect_uri: str | None,
        code_challenge: str | None,
        tokens: NewTokens,
    ) -> Grant | None:
        now = tokens.issued_at
        consume = (
            update(_codes)
            .where(_codes.c.code_digest == code_digest)
            .where(_codes.c.client_id == client_id)
            .where(_codes.c.consumed_at.is_(None))
            .where(_codes.c.expires_at > now)
            .where(_codes.c.code_challenge.is_not_distinct_from(code_challenge))
            .values(consumed_at=now)
            .returning(_codes.c.user_id, _codes.c.scope, _codes.c.family_id)
        )
        if redirect_uri is not None:
            consume = consume.where(_codes.c.redirect_uri == redirect_uri)
        async with self._writing() as conn:
            row = (await conn.execute(consume)).first()
            if row is None:
                return None
            grant = Grant(
                user_id=row.user_id,
                scope=row.scope,
                access_scope=row.scope,
                family_id=row.family_id,
            )
            await _insert_pair(conn, tokens, client_id=client_id, grant=grant)
        return grant

    async def find_code(self, code_digest: str) -> CodeRecord | None:
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
        return None if row is None else CodeRecord(**row._asdict())

    async def rotate_refresh_token(
        self,
        *,
        client: ClientCheck,
        token_digest: str,
        access_scope: str | None,
        tokens: NewTokens,
    ) -> Checked[Grant]:
        checked = await self._check(client)
        if not checked.authenticated:
            return checked
        grant = await self._rotate(client.client_id, token_digest, access_scope, tokens)
        return Checked(client=checked.client, authenticated=True, result=grant)

    async def _rotate(
        self, client_id: str, token_digest: str, access_scope: str | None, tokens: NewTokens
    ) -> Grant | None:
        now = tokens.issued_at
        retire = (
            update(_refresh)
            .where(_refresh.c.token_digest == token_digest)
            .where(_refresh.c.client_id == client_id)
            .where(_refresh.c.rotated_at.is_(None))
            .where(_refresh.c.revoked_at.is_(None))
            .where(_refresh.c.expires_at > now)
            .values(rotated_at=now)
            .returning(_refresh.c.user_id, _refresh.c.scope, _refresh.c.family_id)
        )
        async with self._writing() as conn:
            row = (await conn.execute(retire)).first()
            if row is None:
                return None
            if access_scope is not None and not parse_scope(access_scope) <= parse_scope(row.scope):
                await conn.rollback()
                return None
            grant = Grant(
                user_id=row.user_id,
                scope=row.scope,
                access_scope=row.scope if access_scope is None else access_scope,
                family_id=row.family_id,
            )
            await _insert_pair(conn, tokens, client_id=client_id, grant=grant)
        return grant

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        async with self._writing() as conn:
            for table in (_access, _refresh):
                await conn.execute(
                    update(table)
                    .where(table.c.family_id == family_id)
                    .where(table.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                )

    async def authorize_context(
        self,
        *,
        session_digest: str | None,
        client_id: str | None,
        now: datetime,
        code: ProspectiveCode | None = None,
    ) -> AuthorizeContext:
        # The offered code is declined: in-process, a second statement costs no round trip.
        params = {"session_digest": session_digest, "client_id": client_id, "now": now}
        async with self._engine.connect() as conn:
            row = (await conn.execute(_AUTHORIZE_CONTEXT, params)).one()
        return AuthorizeContext.of(session_digest, row._mapping, row.redirect_uris or [])

    async def add_code(self, code: NewCode) -> bool:
        return await self._insert(_codes, asdict(code))

    async def withdraw_code(self, code_digest: str) -> None:
        async with self._writing() as conn:
            await conn.execute(delete(_codes).where(_codes.c.code_digest == code_digest))

    async def add_pending_request(self, request: PendingRequest) -> bool:
        return await self._insert(_requests, asdict(request))

    @asynccontextmanager
    async def authorizing(self) -> AsyncIterator[AuthorizeStore]:
        # No pool of driver connections here: each statement takes its own, as ever.
        yield self

    async def _insert(self, table: Any, row: dict[str, Any]) -> bool:
        """Insert ``row``; False if a row it refers to was deleted since it was read."""
        try:
            async with self._writing() as conn:
                await conn.execute(insert(table), row)
        except IntegrityError as exc:
            # As on PostgreSQL, only a vanished parent row is an answer; anything else is a bug.
            if "FOREIGN KEY" not in str(exc.orig):
                raise
            return False
        return True

    async def find_access_token(self, token_digest: str) -> AccessTokenRecord | None:
        query = (
            select(
                _access.c.client_id,
                _access.c.scope,
                _access.c.family_id,
                _access.c.created_at,
                _access.c.expires_at,
                _access.c.revoked_at,
                *_USER_COLUMNS,
            )
            .join(_users, _users.c.id == _access.c.user_id)
            .where(_access.c.token_digest == token_digest)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return AccessTokenRecord(
            client_id=row.client_id,
            scope=row.scope,
            family_id=row.family_id,
            issued_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            user=UserProfile.of(row._mapping),
        )

    async def find_refresh_token(self, token_digest: str) -> RefreshTokenRecord | None:
        query = (
            select(
                _refresh.c.client_id,
                _refresh.c.scope,
                _refresh.c.family_id,
                _refresh.c.created_at,
                _refresh.c.expires_at,
                _refresh.c.rotated_at,
                _refresh.c.revoked_at,
                *_USER_COLUMNS,
            )
            .join(_users, _users.c.id == _refresh.c.user_id)
            .where(_refresh.c.token_digest == token_digest)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return RefreshTokenRecord(
            client_id=row.client_id,
            scope=row.scope,
            family_id=row.family_id,
            issued_at=row.created_at,
            expires_at=row.expires_at,
            rotated_at=row.rotated_at,
            revoked_at=row.revoked_at,
            user=UserProfile.of(row._mapping),
        )

    async def introspect_token(
        self, *, client: ClientCheck, token_digest: str, refresh: bool
    ) -> Checked[AccessTokenRecord | RefreshTokenRecord]:
        checked = await self._check(client)
        if not checked.authenticated:
            return checked
        record: AccessTokenRecord | RefreshTokenRecord | None
        if refresh:
            record = await self.find_refresh_token(token_digest)
        else:
            record = await self.find_access_token(token_digest)
        if record is not None and record.client_id != client.client_id:
            record = None
        return Checked(client=checked.client, authenticated=True, result=record)

    async def revoke_token(
        self, *, client: ClientCheck, token_digest: str, refresh: bool, now: datetime
    ) -> Checked[None]:
        checked = await self._check(client)
        if not checked.authenticated:
            return checked
        if refresh:
            query = select(_refresh.c.family_id).where(
                _refresh.c.token_digest == token_digest, _refresh.c.client_id == client.client_id
            )
            async with self._engine.connect() as conn:
                family_id = (await conn.execute(query)).scalar()
            if family_id is not None:
                await self.revoke_family(family_id, now)
        else:
            async with self._writing() as conn:
                await conn.execute(
                    update(_access)
                    .where(_access.c.token_digest == token_digest)
                    .where(_access.c.client_id == client.client_id)
                    .where(_access.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
        return checked
