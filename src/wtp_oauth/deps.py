"""FastAPI dependencies as ``Annotated`` aliases, so that routes stay short.

Every dependency is ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread,
and that hop cost more than the whole database query on the token path (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from wtp_oauth.errors import DomainError, NotSignedIn
from wtp_oauth.models import BrowserSession, User
from wtp_oauth.oauth.context import OAuthContext
from wtp_oauth.oauth.endpoints import bearer
from wtp_oauth.oauth.records import AccessTokenRecord
from wtp_oauth.services.accounts import Accounts
from wtp_oauth.services.applications import Applications
from wtp_oauth.services.consent_form import ConsentForm
from wtp_oauth.services.users import Users
from wtp_oauth.state import AppState

SESSION_COOKIE = "wtp_session"
CSRF_COOKIE = "wtp_csrf"


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.wtp
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_db(state: StateDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent."""
    async with state.session_factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


DbDep = Annotated[AsyncSession, Depends(get_db, scope="function")]


async def get_accounts(db: DbDep, state: StateDep) -> Accounts:
    return Accounts(db, state.session_factory, state.settings, state.clock)


async def get_applications(db: DbDep, state: StateDep) -> Applications:
    return Applications(db, state.clock)


async def get_consent_form(db: DbDep, state: StateDep) -> ConsentForm:
    return ConsentForm(db, state.settings, state.clock)


async def get_users(db: DbDep, state: StateDep) -> Users:
    return Users(db, state.clock)


AccountsDep = Annotated[Accounts, Depends(get_accounts)]
ApplicationsDep = Annotated[Applications, Depends(get_applications)]
ConsentFormDep = Annotated[ConsentForm, Depends(get_consent_form)]
UsersDep = Annotated[Users, Depends(get_users)]


async def get_signed_in(
    request: Request, accounts: AccountsDep
) -> tuple[BrowserSession, User] | None:
    return await accounts.current(request.cookies.get(SESSION_COOKIE))


SignedInDep = Annotated[tuple[BrowserSession, User] | None, Depends(get_signed_in)]


async def require_user(signed_in: SignedInDep) -> User:
    if signed_in is None:
        raise NotSignedIn("Sign in first: this needs a session cookie.")
    return signed_in[1]


CurrentUserDep = Annotated[User, Depends(require_user)]


class UnsupportedMediaType(DomainError):
    status_code = 415


async def require_json(request: Request) -> None:
    """State-changing JSON calls must say so; this keeps cross-site HTML forms out."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise UnsupportedMediaType("Send the body as application/json.")


JsonBody = Depends(require_json)


def oauth_of(request: Request) -> OAuthContext:
    """The OAuth core's context, read straight from the app: the hot paths skip FastAPI's
    dependency chain, which it would solve on every request."""
    state: AppState = request.app.state.wtp
    return state.oauth


def bearer_token(scope: str) -> Callable[[Request], Awaitable[AccessTokenRecord]]:
    """A dependency: the request's access token, which must hold ``scope`` (RFC 6750)."""

    async def dependency(request: Request) -> AccessTokenRecord:
        return await bearer.authenticate(
            request.headers.get("authorization"), scope, oauth_of(request)
        )

    return dependency


ReadToken = Annotated[AccessTokenRecord, Depends(bearer_token("user.read"))]
WriteToken = Annotated[AccessTokenRecord, Depends(bearer_token("user.write"))]
