"""The failure log behind sign-in throttling, shared by every worker through the database.

Failures are written in their own short transaction, so they stand even though the request
that recorded them fails.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func
from sqlmodel import col, select

from wtp_oauth.db import SessionFactory
from wtp_oauth.models import AuthFailure


class ThrottleRepository:
    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def failures(self, subject: str, since: datetime) -> tuple[int, datetime | None]:
        """How many failures ``subject`` had since ``since``, and the oldest of them."""
        query = select(func.count(), func.min(AuthFailure.created_at)).where(
            AuthFailure.subject == subject, col(AuthFailure.created_at) > since
        )
        async with self._session_factory() as session:
            count, oldest = (await session.exec(query)).one()
        return int(count), oldest

    async def record(self, subjects: list[str], now: datetime) -> list[int]:
        """Count one failure against each subject, committed at once; the ids of the rows."""
        rows = [AuthFailure(subject=subject, created_at=now) for subject in subjects]
        async with self._session_factory.begin() as session:
            session.add_all(rows)
            await session.flush()
        return [row.id for row in rows if row.id is not None]

    async def forget(self, ids: list[int]) -> None:
        """Take back failures counted by ``record`` (the attempt turned out not to be one)."""
        async with self._session_factory.begin() as session:
            await session.exec(delete(AuthFailure).where(col(AuthFailure.id).in_(ids)))

    async def clear(self, subject: str) -> None:
        async with self._session_factory.begin() as session:
            await session.exec(delete(AuthFailure).where(col(AuthFailure.subject) == subject))

    async def purge(self, before: datetime) -> int:
        async with self._session_factory.begin() as session:
            result = await session.exec(
                delete(AuthFailure).where(col(AuthFailure.created_at) < before)
            )
        return int(getattr(result, "rowcount", 0))
