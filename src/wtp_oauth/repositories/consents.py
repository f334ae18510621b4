"""Consents, pending authorization requests, codes, and the cold-path token revocations."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from wtp_oauth.models import (
    AccessToken,
    Application,
    AuthorizationCode,
    AuthorizationRequest,
    Consent,
    RefreshToken,
)
from wtp_oauth.oauth.records import NewCode


class ConsentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def consent(self, user_id: str, client_id: str) -> Consent | None:
        return await self._session.get(Consent, (user_id, client_id))

    async def save_consent(self, consent: Consent) -> None:
        await self._session.merge(consent)
        await self._session.flush()

    async def consents_of(self, user_id: str) -> list[tuple[Consent, Application]]:
        query = (
            select(Consent, Application)
            .join(Application, col(Application.client_id) == col(Consent.client_id))
            .where(Consent.user_id == user_id)
            .order_by(col(Consent.granted_at).desc())
        )
        return [(row[0], row[1]) for row in (await self._session.exec(query)).all()]

    async def forget_consent(self, user_id: str, client_id: str, now: datetime) -> bool:
        """Delete the consent and revoke the application's tokens for this user."""
        result = await self._session.exec(
            delete(Consent)
            .where(col(Consent.user_id) == user_id)
            .where(col(Consent.client_id) == client_id)
        )
        for table in (AccessToken, RefreshToken):
            await self._session.exec(
                update(table)
                .where(col(table.user_id) == user_id)
                .where(col(table.client_id) == client_id)
                .where(col(table.revoked_at).is_(None))
                .values(revoked_at=now)
            )
        await self._session.exec(
            delete(AuthorizationCode)
            .where(col(AuthorizationCode.user_id) == user_id)
            .where(col(AuthorizationCode.client_id) == client_id)
        )
        return bool(getattr(result, "rowcount", 0))

    async def take_request(
        self, id_digest: str, session_digest: str, now: datetime
    ) -> AuthorizationRequest | None:
        """Remove and return a pending request of this browser session, if still valid."""
        query = (
            select(AuthorizationRequest)
            .where(AuthorizationRequest.id_digest == id_digest)
            .where(AuthorizationRequest.session_digest == session_digest)
            .where(col(AuthorizationRequest.expires_at) > now)
        )
        request = (await self._session.exec(query)).first()
        if request is None:
            return None
        result = await self._session.exec(
            delete(AuthorizationRequest).where(col(AuthorizationRequest.id_digest) == id_digest)
        )
        # Two racing submissions of one form: only the one that deleted the row goes on.
        return request if getattr(result, "rowcount", 0) == 1 else None

    async def add_code(self, code: NewCode) -> None:
        """The consent form's code, in the form's transaction (the authorize link's codes go
        through the token store)."""
        self._session.add(AuthorizationCode(**asdict(code)))
        await self._session.flush()
