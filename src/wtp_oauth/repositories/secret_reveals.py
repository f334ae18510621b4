"""Client secrets waiting to be shown once on the portal (``SecretReveal``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from wtp_oauth.models.applications import SecretReveal


class SecretRevealRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, reveal: SecretReveal) -> None:
        self._session.add(reveal)
        await self._session.flush()

    async def take(
        self, id_digest: str, session_digest: str, client_id: str, now: datetime
    ) -> SecretReveal | None:
        """Remove and return the reveal, if it is this session's, for this application, and
        not expired; of two racing requests only the one that deleted the row gets it."""
        query = (
            select(SecretReveal)
            .where(SecretReveal.id_digest == id_digest)
            .where(SecretReveal.session_digest == session_digest)
            .where(SecretReveal.client_id == client_id)
            .where(col(SecretReveal.expires_at) > now)
        )
        reveal = (await self._session.exec(query)).first()
        if reveal is None:
            return None
        result = await self._session.exec(
            delete(SecretReveal).where(col(SecretReveal.id_digest) == id_digest)
        )
        return reveal if getattr(result, "rowcount", 0) == 1 else None

    async def remove_expired(self, now: datetime) -> None:
        await self._session.exec(delete(SecretReveal).where(col(SecretReveal.expires_at) <= now))
