"""Users and their browser sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from wtp_oauth.models import BrowserSession, User


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: str) -> User | None:
        return await self._session.get(User, user_id)

    async def by_username(self, username: str) -> User | None:
        query = select(User).where(User.username_key == username.lower())
        return (await self._session.exec(query)).first()

    async def taken(self, username: str, email: str) -> tuple[bool, bool]:
        """Whether the username and the email are already in use (case-insensitively)."""
        query = select(User.username_key, User.email_key).where(
            or_(col(User.username_key) == username.lower(), col(User.email_key) == email.lower())
        )
        rows = (await self._session.exec(query)).all()
        return (
            any(row[0] == username.lower() for row in rows),
            any(row[1] == email.lower() for row in rows),
        )

    async def add(self, user: User) -> User:
        self._session.add(user)
        await self._session.flush()
        return user


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, browser_session: BrowserSession) -> None:
        self._session.add(browser_session)
        await self._session.flush()

    async def active(self, token_digest: str, now: datetime) -> tuple[BrowserSession, User] | None:
        query = (
            select(BrowserSession, User)
            .join(User, col(User.id) == col(BrowserSession.user_id))
            .where(BrowserSession.token_digest == token_digest)
            .where(col(BrowserSession.expires_at) > now)
        )
        row = (await self._session.exec(query)).first()
        return None if row is None else (row[0], row[1])

    async def remove(self, token_digest: str) -> None:
        await self._session.exec(
            delete(BrowserSession).where(col(BrowserSession.token_digest) == token_digest)
        )
