"""The device grant's storage on SQLite: SQLAlchemy Core on the application's engine.

SQLite serialises writers. Each state change is one short write transaction whose first
statement is a conditional ``UPDATE … RETURNING`` (a transaction that began with a read could
not become a writer once another worker had committed), behind an in-process lock so that this
worker's writers queue in order, with the token store's (``storage/sqlite/store.py``).

A poll needs the row as it was before the poll, and SQLite's ``RETURNING`` reports new values
only. Its first statement is therefore an ``UPDATE`` of the row that changes nothing: it takes
the write lock and returns the row as it is, as ``SELECT … FOR UPDATE`` would. The rules then
decide from that row (``rules.decide``, ``rules.next_interval``), nobody can change it before
the commit, and the second statement applies the decision (still conditional, as on PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from wtp_oauth.models import Application, Consent, DeviceCode, User
from wtp_oauth.oauth.grants.device_code import rules
from wtp_oauth.oauth.grants.device_code.storage import (
    Added,
    DeviceCodeRow,
    NewDeviceCode,
    PendingDevice,
    Polled,
)
from wtp_oauth.oauth.records import Issued, NewTokens
from wtp_oauth.scopes import format_scope, parse_scope
from wtp_oauth.storage.sqlite.store import SQLiteStore, insert_tokens

_codes = DeviceCode.__table__  # type: ignore[attr-defined]
_apps = Application.__table__  # type: ignore[attr-defined]
_users = User.__table__  # type: ignore[attr-defined]
_consents = Consent.__table__  # type: ignore[attr-defined]

_ROW_COLUMNS = (
    _codes.c.client_id,
    _codes.c.user_id,
    _codes.c.scope,
    _codes.c.family_id,
    _codes.c.poll_interval,
    _codes.c.last_polled_at,
    _codes.c.approved_at,
    _codes.c.denied_at,
    _codes.c.consumed_at,
    _codes.c.expires_at,
)


def _unanswered(user_code: str, now: datetime) -> Any:
    """A live request nobody has answered, by its user code."""
    return and_(
        _codes.c.user_code == user_code,
        _codes.c.expires_at > now,
        _codes.c.approved_at.is_(None),
        _codes.c.denied_at.is_(None),
        _codes.c.consumed_at.is_(None),
    )


def _live(device_code_digest: str, client_id: str, now: datetime) -> Any:
    """A live device code of this client: the only kind a poll changes."""
    return and_(
        _codes.c.device_code_digest == device_code_digest,
        _codes.c.client_id == client_id,
        _codes.c.consumed_at.is_(None),
        _codes.c.denied_at.is_(None),
        _codes.c.expires_at > now,
    )


class SQLiteDeviceCodes:
    """``DeviceCodeStorage`` beside the token store, queueing for SQLite's one writer with the
    token store's own writers (``SQLiteStore.writing``)."""

    def __init__(self, store: SQLiteStore) -> None:
        self._engine = store.engine
        self._writing = store.writing

    async def add_device_code(self, code: NewDeviceCode) -> Added:
        statement = (
            sqlite_insert(_codes)
            .values(
                device_code_digest=code.device_code_digest,
                user_code=code.user_code,
                client_id=code.client_id,
                scope=code.scope,
                family_id=code.family_id,
                poll_interval=code.poll_interval,
                created_at=code.created_at,
                expires_at=code.expires_at,
            )
            .on_conflict_do_nothing(index_elements=["user_code"])
        )
        try:
            async with self._writing() as conn:
                result = await conn.execute(statement)
        except IntegrityError as exc:
            if "FOREIGN KEY" not in str(exc.orig):
                raise
            return Added.CLIENT_GONE
        return Added.ADDED if result.rowcount == 1 else Added.USER_CODE_TAKEN

    async def find_by_user_code(self, user_code: str, now: datetime) -> PendingDevice | None:
        query = (
            select(
                _codes.c.user_code,
                _codes.c.client_id,
                _codes.c.scope,
                _codes.c.expires_at,
                _apps.c.name,
                _apps.c.description,
                _users.c.username.label("owner_username"),
            )
            .join(_apps, _apps.c.client_id == _codes.c.client_id)
            .outerjoin(_users, _users.c.id == _apps.c.owner_id)
            .where(_unanswered(user_code, now))
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return PendingDevice(
            user_code=row.user_code,
            client_id=row.client_id,
            scope=row.scope,
            expires_at=row.expires_at,
            application_name=row.name,
            application_description=row.description,
            owner_username=row.owner_username,
        )

    async def approve(self, user_code: str, user_id: str, now: datetime) -> bool:
        approve = (
            update(_codes)
            .where(_unanswered(user_code, now))
            .values(approved_at=now, user_id=user_id)
            .returning(_codes.c.client_id, _codes.c.scope)
        )
        async with self._writing() as conn:
            approved = (await conn.execute(approve)).first()
            if approved is None:
                return False
            await _grant_consent(conn, user_id, approved.client_id, approved.scope, now)
        return True

    async def deny(self, user_code: str, now: datetime) -> bool:
        deny = (
            update(_codes)
            .where(_unanswered(user_code, now))
            .values(denied_at=now)
            .returning(_codes.c.client_id)
        )
        async with self._writing() as conn:
            return (await conn.execute(deny)).first() is not None

    async def poll(
        self, *, device_code_digest: str, client_id: str, now: datetime, tokens: NewTokens
    ) -> Polled:
        lock_and_read = (
            update(_codes)
            .where(_codes.c.device_code_digest == device_code_digest)
            .values(poll_interval=_codes.c.poll_interval)
            .returning(*_ROW_COLUMNS)
        )
        async with self._writing() as conn:
            found = (await conn.execute(lock_and_read)).first()
            if found is None:
                return Polled(seen=None, issued=False)
            seen = DeviceCodeRow(**found._asdict())
            decision = rules.decide(seen, client_id, now)
            if decision is rules.Poll.ISSUED:
                issued = await _redeem(conn, device_code_digest, client_id, now, tokens)
                return Polled(seen=seen, issued=issued)
            if decision in (rules.Poll.PENDING, rules.Poll.SLOW_DOWN):
                await conn.execute(
                    update(_codes)
                    .where(_live(device_code_digest, client_id, now))
                    .values(last_polled_at=now, poll_interval=rules.next_interval(seen, now))
                )
        return Polled(seen=seen, issued=False)


async def _redeem(
    conn: AsyncConnection, device_code_digest: str, client_id: str, now: datetime, tokens: NewTokens
) -> bool:
    """Mark the allowed code redeemed and store the tokens for its user, scope and family."""
    consume = (
        update(_codes)
        .where(_live(device_code_digest, client_id, now), _codes.c.approved_at.is_not(None))
        .values(consumed_at=now, last_polled_at=now)
        .returning(_codes.c.user_id, _codes.c.scope, _codes.c.family_id)
    )
    row = (await conn.execute(consume)).first()
    if row is None:
        return False
    issued = Issued(
        user_id=row.user_id, scope=row.scope, access_scope=row.scope, family_id=row.family_id
    )
    await insert_tokens(conn, tokens, client_id=client_id, issued=issued)
    return True


async def _grant_consent(
    conn: AsyncConnection, user_id: str, client_id: str, scope: str, now: datetime
) -> None:
    """The user's consent to the client comes to cover ``scope`` too."""
    current = (
        await conn.execute(
            select(_consents.c.scope).where(
                _consents.c.user_id == user_id, _consents.c.client_id == client_id
            )
        )
    ).scalar()
    merged = format_scope(parse_scope(scope) | parse_scope(current or ""))
    upsert = sqlite_insert(_consents).values(
        user_id=user_id, client_id=client_id, scope=merged, granted_at=now
    )
    await conn.execute(
        upsert.on_conflict_do_update(
            index_elements=["user_id", "client_id"],
            set_={"scope": merged, "granted_at": now},
        )
    )
