"""Server-wide secrets, generated on first start and shared by every worker."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from wtp_oauth.db import SessionFactory
from wtp_oauth.models import ServerSecret
from wtp_oauth.security.tokens import new_secret

SECRET_KEY = "secret_key"


async def load_secret_key(session_factory: SessionFactory) -> str:
    """The stored secret key; the first worker to start creates it, the others read it."""
    async with session_factory() as session:
        stored = await session.get(ServerSecret, SECRET_KEY)
        if stored is not None:
            return stored.value
    try:
        async with session_factory.begin() as session:
            session.add(ServerSecret(name=SECRET_KEY, value=new_secret()))
    except IntegrityError:
        pass  # another worker won the race; read its key below
    async with session_factory() as session:
        stored = await session.get(ServerSecret, SECRET_KEY)
        assert stored is not None
        return stored.value
