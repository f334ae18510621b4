"""Showing a new client secret once, on the page the portal redirects to (SPEC §4, §17).

The portal answers the POST that makes a secret (registering an application, rotating its
secret) with 303 See Other, so that reloading the page cannot register a second application
or rotate again. The secret waits for that one GET here: sealed under a random key that only
the browser holds (in a cookie), bound to the browser session, for five minutes, and deleted
when shown. A second look finds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from wtp_oauth.clock import Clock
from wtp_oauth.models import Application
from wtp_oauth.models.applications import SecretReveal
from wtp_oauth.repositories.secret_reveals import SecretRevealRepository
from wtp_oauth.security.sealing import seal, unseal
from wtp_oauth.security.tokens import digest, matches_digest, new_secret

REVEAL_TTL = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Reveal:
    # True when the application was just registered, False after a rotation.
    created: bool
    # None for a public client, which has no secret.
    client_secret: str | None


class SecretReveals:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._reveals = SecretRevealRepository(session)
        self._clock = clock

    async def keep(
        self,
        session_digest: str,
        application: Application,
        client_secret: str | None,
        *,
        created: bool,
    ) -> str:
        """Keep the answer to the POST for one look; the key the browser must present."""
        now = self._clock()
        await self._reveals.remove_expired(now)
        key = new_secret()
        await self._reveals.add(
            SecretReveal(
                id_digest=digest(key),
                session_digest=session_digest,
                client_id=application.client_id,
                sealed_secret=None if client_secret is None else seal(client_secret, key),
                created=created,
                expires_at=now + REVEAL_TTL,
            )
        )
        return key

    async def take(self, key: str, session_digest: str, application: Application) -> Reveal | None:
        """What was kept under ``key`` for this session and application, once; None if it was
        already shown, has expired, or its secret has since been replaced."""
        if not key or len(key) > 100:
            return None
        kept = await self._reveals.take(
            digest(key), session_digest, application.client_id, self._clock()
        )
        if kept is None:
            return None
        if kept.sealed_secret is None:
            return Reveal(created=kept.created, client_secret=None)
        secret = unseal(kept.sealed_secret, key)
        if secret is None or not matches_digest(secret, application.secret_digest):
            return None
        return Reveal(created=kept.created, client_secret=secret)
