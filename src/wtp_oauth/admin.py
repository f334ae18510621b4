"""What the command line does besides serving, through the same services as the API."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import delete, or_
from sqlmodel import col

from wtp_oauth.clock import utcnow
from wtp_oauth.config import Settings
from wtp_oauth.db import SessionFactory, create_engine, create_session_factory
from wtp_oauth.errors import DomainError
from wtp_oauth.models import (
    AccessToken,
    AuthFailure,
    AuthorizationCode,
    AuthorizationRequest,
    BrowserSession,
    RefreshToken,
)
from wtp_oauth.oauth import keys
from wtp_oauth.repositories.server import load_secret_key
from wtp_oauth.repositories.signing_keys import SigningKeyRepository, purge_retired_keys
from wtp_oauth.repositories.users import UserRepository
from wtp_oauth.schemas import ApplicationCreate, UserCreate
from wtp_oauth.services.accounts import THROTTLE_WINDOW, Accounts
from wtp_oauth.services.applications import Applications

# Revoked and used rows are kept a while for replay detection and audits.
RETENTION = timedelta(days=1)


def _message(exc: ValidationError | DomainError) -> str:
    if isinstance(exc, DomainError):
        return str(exc.detail)
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


async def create_user(settings: Settings, username: str, email: str, password: str) -> str:
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    try:
        data = UserCreate(username=username, email=email, password=password)
        async with factory.begin() as session:
            user = await Accounts(session, factory, settings, utcnow).register(data)
            return user.id
    except (ValidationError, DomainError) as exc:
        raise ValueError(_message(exc)) from exc
    finally:
        await engine.dispose()


async def create_client(
    settings: Settings, *, owner: str, name: str, redirect_uris: list[str], client_type: str
) -> dict[str, str | None]:
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    try:
        data = ApplicationCreate(
            name=name,
            redirect_uris=redirect_uris,
            client_type=client_type,
        )
        async with factory.begin() as session:
            user = await UserRepository(session).by_username(owner)
            if user is None:
                raise ValueError(f"no user named {owner!r}")
            registered = await Applications(session, utcnow).register(user, data)
            return {
                "client_id": registered.application.client_id,
                "client_secret": registered.client_secret,
            }
    except (ValidationError, DomainError) as exc:
        raise ValueError(_message(exc)) from exc
    finally:
        await engine.dispose()


async def purge(settings: Settings) -> dict[str, int]:
    """Delete what can never be used again (SPEC §2: ``wtp-oauth purge``)."""
    now = utcnow()
    keep_after = now - RETENTION
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    removed: dict[str, int] = {}
    statements = {
        "authorization_codes": delete(AuthorizationCode).where(
            col(AuthorizationCode.expires_at) < keep_after
        ),
        "access_tokens": delete(AccessToken).where(
            or_(col(AccessToken.expires_at) < now, col(AccessToken.revoked_at) < keep_after)
        ),
        "refresh_tokens": delete(RefreshToken).where(
            or_(col(RefreshToken.expires_at) < now, col(RefreshToken.revoked_at) < keep_after)
        ),
        "authorization_requests": delete(AuthorizationRequest).where(
            col(AuthorizationRequest.expires_at) < now
        ),
        "sessions": delete(BrowserSession).where(col(BrowserSession.expires_at) < now),
        "auth_failures": delete(AuthFailure).where(
            col(AuthFailure.created_at) < now - THROTTLE_WINDOW
        ),
    }
    try:
        async with factory.begin() as session:
            for name, statement in statements.items():
                result = await session.exec(statement)
                removed[name] = int(getattr(result, "rowcount", 0))
        removed["signing_keys"] = await _purge_signing_keys(factory, settings, now)
    finally:
        await engine.dispose()
    return removed


# -- OpenID Connect signing keys (SPEC §12): apart from the rest of purge, on purpose ---------


async def _purge_signing_keys(factory: SessionFactory, settings: Settings, now: datetime) -> int:
    """Drop retired signing keys once every ID token they signed has expired."""
    return await purge_retired_keys(factory, now, settings.id_token_ttl)


async def rotate_keys(settings: Settings) -> dict[str, object]:
    """New ID token signing keys (``wtp-oauth rotate-keys``, SPEC §12): published at once by
    every node within seconds, signing from ``keys.ACTIVATION_DELAY`` later; the keys they
    replace stay published until their tokens have expired."""
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    try:
        secret_key = settings.secret_key or await load_secret_key(factory)
        new = await keys.rotate(SigningKeyRepository(factory), secret_key, utcnow())
    finally:
        await engine.dispose()
    return {
        "kids": {key.alg: key.kid for key in new},
        "signing_from": new[0].activates_at.isoformat(),
    }
