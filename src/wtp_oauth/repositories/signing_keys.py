"""The signing keys' table (``oauth/keys.py``): a cold path, on the ORM."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from wtp_oauth.db import SessionFactory
from wtp_oauth.models import ServerSecret, SigningKey
from wtp_oauth.oauth.keys import StoredKey

# Written with the first keys, in their transaction: of nodes starting at once, one wins.
_FIRST_KEYS_MARKER = "signing_keys_created"


def _row(key: StoredKey) -> SigningKey:
    return SigningKey(
        kid=key.kid,
        alg=key.alg,
        public_jwk=dict(key.public_jwk),
        private_key=key.private_key,
        created_at=key.created_at,
        activates_at=key.activates_at,
        retires_at=key.retires_at,
    )


class SigningKeyRepository:
    """``oauth.keys.KeyStorage`` over the application's session factory."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._factory = session_factory

    async def all_keys(self) -> list[StoredKey]:
        async with self._factory() as session:
            rows = (await session.exec(select(SigningKey))).all()
        return [
            StoredKey(
                kid=row.kid,
                alg=row.alg,
                public_jwk=row.public_jwk,
                private_key=row.private_key,
                created_at=row.created_at,
                activates_at=row.activates_at,
                retires_at=row.retires_at,
            )
            for row in rows
        ]

    async def add_first_keys(self, keys: Sequence[StoredKey]) -> bool:
        try:
            async with self._factory.begin() as session:
                session.add(ServerSecret(name=_FIRST_KEYS_MARKER, value=keys[0].kid))
                await session.flush()
                session.add_all([_row(key) for key in keys])
        except IntegrityError:
            return False
        return True

    async def rotate(self, keys: Sequence[StoredKey]) -> None:
        async with self._factory.begin() as session:
            for key in keys:
                await session.exec(
                    update(SigningKey)
                    .where(col(SigningKey.alg) == key.alg, col(SigningKey.retires_at).is_(None))
                    .values(retires_at=key.activates_at)
                )
            session.add_all([_row(key) for key in keys])


# -- purge (``operations.purge``) ------------------------------------------------------------


async def purge_retired_keys(session_factory: SessionFactory, now: datetime, ttl: int) -> int:
    """Delete the keys no valid ID token can need (``StoredKey.published_until``)."""
    keys = await SigningKeyRepository(session_factory).all_keys()
    done = [key.kid for key in keys if (until := key.published_until(ttl)) and until <= now]
    if not done:
        return 0
    async with session_factory.begin() as session:
        result = await session.exec(delete(SigningKey).where(col(SigningKey.kid).in_(done)))
    return int(getattr(result, "rowcount", 0))
