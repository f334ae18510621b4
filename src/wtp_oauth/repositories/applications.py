"""Applications (OAuth clients)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from wtp_oauth.models import Application, User


class ApplicationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, client_id: str) -> Application | None:
        return await self._session.get(Application, client_id)

    async def with_owner(self, client_id: str) -> tuple[Application, User] | None:
        query = (
            select(Application, User)
            .join(User, col(User.id) == col(Application.owner_id))
            .where(Application.client_id == client_id)
        )
        row = (await self._session.exec(query)).first()
        return None if row is None else (row[0], row[1])

    async def owned_by(self, owner_id: str) -> list[Application]:
        query = (
            select(Application)
            .where(Application.owner_id == owner_id)
            .order_by(col(Application.created_at))
        )
        return list((await self._session.exec(query)).all())

    async def add(self, application: Application) -> Application:
        self._session.add(application)
        await self._session.flush()
        return application

    async def save(self, application: Application) -> Application:
        self._session.add(application)
        await self._session.flush()
        return application

    async def remove(self, client_id: str) -> None:
        """Delete the application; its codes, tokens and consents go with it (ON DELETE CASCADE)."""
        await self._session.exec(delete(Application).where(col(Application.client_id) == client_id))
