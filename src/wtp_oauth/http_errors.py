"""Every error rendered in one place (STYLE §2).

OAuth endpoints answer RFC 6749 §5.2 JSON with ``Cache-Control: no-store``; the user API adds
RFC 6750's ``WWW-Authenticate``; everything else is FastAPI's ``{"detail": …}``. A database
outage is a 503, never a traceback.
"""

from __future__ import annotations

import logging

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from wtp_oauth.errors import (
    DomainError,
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
    OAuthError,
    ServiceUnavailable,
)
from wtp_oauth.middleware import SECURITY_HEADERS
from wtp_oauth.services.bearer import MissingToken, challenge

log = logging.getLogger("wtp_oauth")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
OAUTH_PATHS = ("/api/oauth/", "/api/token")


def is_oauth_endpoint(path: str) -> bool:
    return path.startswith(OAUTH_PATHS)


def _route_path(request: Request) -> str:
    """The path within this application: behind a proxy's ``root_path`` the URL's path
    begins with that prefix."""
    path, root = request.url.path, request.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def oauth_error_response(error: OAuthError) -> JSONResponse:
    body = {"error": error.error}
    if error.description:
        body["error_description"] = error.description
    return JSONResponse(body, status_code=error.status_code, headers={**NO_STORE, **error.headers})


async def _oauth_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OAuthError)
    if isinstance(exc, InvalidToken | InsufficientScope | MissingToken):
        return JSONResponse(
            {"detail": exc.description},
            status_code=exc.status_code,
            headers={"WWW-Authenticate": challenge(exc)},
        )
    if is_oauth_endpoint(_route_path(request)):
        return oauth_error_response(exc)
    return JSONResponse(
        {"detail": exc.description}, status_code=exc.status_code, headers=exc.headers
    )


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


async def _conflict(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "That conflicts with existing data."}, status_code=409)


_UNAVAILABLE = "The service is temporarily unavailable."


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 with ``Retry-After``; at the OAuth endpoints in RFC 6749's shape, with the code
    §4.1.2.1 defines for a server that cannot handle the request now."""
    log.error(
        "database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__
    )
    body: dict[str, str] = {"detail": _UNAVAILABLE}
    if is_oauth_endpoint(_route_path(request)):
        body = {"error": "temporarily_unavailable", "error_description": _UNAVAILABLE}
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5", **NO_STORE})


# What a refused or lost database connection raises: SQLAlchemy's errors on the cold paths,
# asyncpg's on the token store, the socket's own.
_UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    ServiceUnavailable,
    OperationalError,
    InterfaceError,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    # 57P01-57P03: the session was terminated, the server is shutting down or starting up.
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
)


def _database_lost(exc: DBAPIError) -> bool:
    """Whether ``exc`` comes of a lost connection. SQLAlchemy wraps most of asyncpg's errors,
    "connection was closed in the middle of operation" among them, in a plain ``DBAPIError``,
    and the rollback after one can fail in turn: its cause, or what it interrupted, tells."""
    if exc.connection_invalidated:
        return True
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc.__cause__, exc.__context__]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, _UNAVAILABLE_ERRORS):
            return True
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        pending += [error.__cause__, error.__context__]
    return False


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Any other database error: 503 if the connection was lost, else a bug (500, below)."""
    assert isinstance(exc, DBAPIError)
    if _database_lost(exc):
        return await _unavailable(request, exc)
    raise exc


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if is_oauth_endpoint(_route_path(request)):
        return oauth_error_response(InvalidRequest("The request is malformed."))
    errors = [
        {key: value for key, value in error.items() if key in {"type", "loc", "msg"}}
        for error in exc.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (404, 405); at the OAuth endpoints, never cached either."""
    assert isinstance(exc, StarletteHTTPException)
    response = await http_exception_handler(request, exc)
    if is_oauth_endpoint(request.url.path):
        response.headers.update(NO_STORE)
    return response


# Starlette sends the answer to an unexpected error from its outermost middleware, around
# SecurityHeaders, so the headers every response carries are added here.
_CRASH_HEADERS = {name.decode(): value.decode() for name, value in SECURITY_HEADERS} | NO_STORE


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {"detail": "Internal server error."}, status_code=500, headers=_CRASH_HEADERS
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(OAuthError, _oauth_error)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _conflict)
    for unavailable in _UNAVAILABLE_ERRORS:
        app.add_exception_handler(unavailable, _unavailable)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
