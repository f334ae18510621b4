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
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
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
from wtp_oauth.oauth.endpoints.bearer import MissingToken, challenge

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
            headers={"WWW-Authenticate": challenge(exc, request.app.state.wtp.settings.issuer)},
        )
    # The OAuth endpoints answer their own errors (routers/token.py's ``oauth_json``).
    return JSONResponse(
        {"detail": exc.description}, status_code=exc.status_code, headers=exc.headers
    )


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


async def _conflict(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "That conflicts with existing data."}, status_code=409)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__
    )
    return JSONResponse(
        {"detail": "The service is temporarily unavailable."},
        status_code=503,
        headers={"Retry-After": "5", **NO_STORE},
    )


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
    for unavailable in (
        ServiceUnavailable,
        OperationalError,
        InterfaceError,
        OSError,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.CannotConnectNowError,
    ):
        app.add_exception_handler(unavailable, _unavailable)
    app.add_exception_handler(Exception, _unexpected)
