"""What the command line does besides serving, through the same services as the API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, or_
from sqlmodel import col

from wtp_oauth.clock import utcnow
from wtp_oauth.config import Settings
from wtp_oauth.db import create_engine, create_session_factory
from wtp_oauth.errors import DomainError
from wtp_oauth.models import (
    AccessToken,
    AuthFailure,
    AuthorizationCode,
    AuthorizationRequest,
    BrowserSession,
    DeviceCode,
    RefreshToken,
)
from wtp_oauth.repositories.users import UserRepository
from wtp_oauth.schemas import ApplicationCreate, UserCreate
from wtp_oauth.services.accounts import THROTTLE_WINDOW, Accounts
from wtp_oauth.services.applications import Applications

# Revoked and used rows are kept a while for replay detection and audits.
RETENTION = timedelta(days=1)


def _message(exc: ValidationError | DomainError) -> str:
    if isinstance(exc, DomainError) and isinstance(exc.detail, str):
        return exc.detail
    errors: Sequence[Mapping[str, Any]] = (
        exc.errors() if isinstance(exc, ValidationError) else exc.detail  # type: ignore[assignment]
    )
    # A service's InvalidInput has FastAPI's shape: its loc starts with "body".
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc'] if part != 'body')}: {e['msg']}" for e in errors
    )


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
    settings: Settings,
    *,
    owner: str,
    name: str,
    redirect_uris: list[str],
    client_type: str,
    grant_types: list[str] | None = None,
    post_logout_redirect_uris: list[str] | None = None,
    id_token_signed_response_alg: str | None = None,
) -> dict[str, str | None]:
    """Register an application as ``owner`` (SPEC §2, §11); unset options keep the API's
    defaults."""
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    options: dict[str, object] = {
        "grant_types": grant_types,
        "post_logout_redirect_uris": post_logout_redirect_uris,
        "id_token_signed_response_alg": id_token_signed_response_alg,
    }
    try:
        data = ApplicationCreate(
            name=name,
            redirect_uris=redirect_uris,
            client_type=client_type,
            **{key: value for key, value in options.items() if value is not None},
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
        "device_codes": delete(DeviceCode).where(col(DeviceCode.expires_at) < keep_after),
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
    finally:
        await engine.dispose()
    return removed
