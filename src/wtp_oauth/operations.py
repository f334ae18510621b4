"""What the command line does besides serving (create-user, create-client, purge, rotate-keys),
through the same services as the API."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine
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
    DeviceCode,
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
# Rows deleted by one statement of ``purge``, each in a transaction of its own: a few
# milliseconds of locks at a time, so that purging is safe while the server runs.
BATCH_SIZE = 5000

# The command line's option for each input field, to name it in an error. A new option of
# create-user or create-client adds its field here.
OPTIONS = {
    "username": "--username",
    "email": "--email",
    "password": "--password",
    "name": "--name",
    "redirect_uris": "--redirect-uri",
    "client_type": "--public",
    "grant_types": "--grant-type",
    "post_logout_redirect_uris": "--post-logout-redirect-uri",
    "id_token_signed_response_alg": "--id-token-signed-response-alg",
}
# Inputs never repeated in a message.
_SECRET_FIELDS = {"password"}
# Rules said in words where the validator's message would quote a regular expression.
_RULES = {"username": "use 3 to 32 letters, digits, '.', '_' or '-'"}


def _message(exc: ValidationError | DomainError, given: Mapping[str, object]) -> str:
    """One line for a person: each problem after the option (and value) it is about."""
    errors: Sequence[Mapping[str, Any]]
    if isinstance(exc, DomainError):
        if isinstance(exc.detail, str):
            return exc.detail
        errors = exc.detail
    else:
        errors = exc.errors(include_url=False)
    return "; ".join(_problem(error, given) for error in errors)


def _problem(error: Mapping[str, Any], given: Mapping[str, object]) -> str:
    loc = [part for part in error["loc"] if part != "body"]
    message = str(error["msg"]).removeprefix("Value error, ")
    if not loc or loc[0] not in OPTIONS:
        return message
    field = str(loc[0])
    if error["type"] == "string_pattern_mismatch" and field in _RULES:
        message = _RULES[field]
    subject = OPTIONS[field]
    value = given.get(field)
    if len(loc) > 1 and isinstance(loc[1], int) and isinstance(value, list):
        value = value[loc[1]]
    if isinstance(value, str) and field not in _SECRET_FIELDS:
        subject = f"{subject} {shlex.quote(value)}"
    return f"{subject}: {message}"


async def create_user(settings: Settings, username: str, email: str, password: str) -> str:
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    try:
        data = UserCreate(username=username, email=email, password=password)
        async with factory.begin() as session:
            user = await Accounts(session, factory, settings, utcnow).register(data)
            return user.id
    except (ValidationError, DomainError) as exc:
        given = {"username": username, "email": email}
        raise ValueError(_message(exc, given)) from exc
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
    given: dict[str, object] = {
        "name": name,
        "redirect_uris": redirect_uris,
        "grant_types": grant_types,
        "post_logout_redirect_uris": post_logout_redirect_uris,
        "id_token_signed_response_alg": id_token_signed_response_alg,
    }
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
                raise ValueError(
                    f"--owner {owner}: no user named {owner!r} (create-user makes one)"
                )
            registered = await Applications(session, utcnow).register(user, data)
            return {
                "client_id": registered.application.client_id,
                "client_secret": registered.client_secret,
            }
    except (ValidationError, DomainError) as exc:
        raise ValueError(_message(exc, given)) from exc
    finally:
        await engine.dispose()


def _expired(now: datetime) -> dict[str, tuple[Any, ColumnElement[bool]]]:
    """For each table purge empties: its primary key and what makes a row useless."""
    keep_after = now - RETENTION
    return {
        "authorization_codes": (
            col(AuthorizationCode.code_digest),
            col(AuthorizationCode.expires_at) < keep_after,
        ),
        "access_tokens": (
            col(AccessToken.token_digest),
            or_(col(AccessToken.expires_at) < now, col(AccessToken.revoked_at) < keep_after),
        ),
        "refresh_tokens": (
            col(RefreshToken.token_digest),
            or_(col(RefreshToken.expires_at) < now, col(RefreshToken.revoked_at) < keep_after),
        ),
        "authorization_requests": (
            col(AuthorizationRequest.id_digest),
            col(AuthorizationRequest.expires_at) < now,
        ),
        "device_codes": (
            col(DeviceCode.device_code_digest),
            col(DeviceCode.expires_at) < keep_after,
        ),
        "sessions": (col(BrowserSession.token_digest), col(BrowserSession.expires_at) < now),
        "auth_failures": (col(AuthFailure.id), col(AuthFailure.created_at) < now - THROTTLE_WINDOW),
    }


async def purge(
    settings: Settings, *, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> dict[str, int]:
    """Delete what can never be used again (``wtp-oauth purge``); the rows deleted per table.

    Each table is walked once in the order of its primary key, ``batch_size`` rows per
    transaction, so no statement holds locks for long and none rescans what an earlier batch
    already passed: the tokens' ``expires_at`` has no index.
    """
    engine = create_engine(settings)
    try:
        moment = now or utcnow()
        removed = {
            table: await _purge_table(engine, key, condition, batch_size)
            for table, (key, condition) in _expired(moment).items()
        }
        factory = create_session_factory(engine)
        removed["signing_keys"] = await _purge_signing_keys(factory, settings, moment)
        return removed
    finally:
        await engine.dispose()


async def _purge_table(
    engine: AsyncEngine, key: Any, condition: ColumnElement[bool], batch_size: int
) -> int:
    removed = 0
    after = None
    while True:
        batch = select(key).where(condition).order_by(key).limit(batch_size)
        if after is not None:
            batch = batch.where(key > after)
        async with engine.begin() as connection:
            # The keys in the database's own order: the last one is where the next batch
            # starts, whatever the collation.
            keys = (await connection.execute(batch)).scalars().all()
            if keys:
                statement = delete(key.table).where(key.in_(keys), condition)
                result = await connection.execute(statement)
                removed += int(getattr(result, "rowcount", 0))
        if len(keys) < batch_size:
            return removed
        after = keys[-1]


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
