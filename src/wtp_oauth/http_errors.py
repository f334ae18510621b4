"""Every error rendered in one place (STYLE §2).

OAuth endpoints answer RFC 6749 §5.2 JSON with ``Cache-Control: no-store``; the user API adds
RFC 6750's ``WWW-Authenticate``; the rest of the JSON API is FastAPI's ``{"detail": …}``.
A person in a browser who meets a missing page, a wrong method, a malformed form or a crash
gets the site's own HTML page instead (SPEC §17). A database outage is a 503, never a
traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
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
from wtp_oauth.oauth.endpoints.bearer import MissingToken, challenge
from wtp_oauth.pages import error_page
from wtp_oauth.state import AppState

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


# The JSON API and the metadata documents (RFC 8414) answer JSON whatever the client accepts.
JSON_PATHS = ("/api/", "/.well-known/")


def _quality(accept: str, html: bool) -> tuple[float, int]:
    """RFC 9110 §12.5.1: the quality ``accept`` gives text/html (``html``) or JSON, from the
    most specific media range that matches, and how specific that is (2 named, 1 ``type/*``,
    0 ``*/*``; a missing header accepts anything)."""
    if not accept.strip():
        return 1.0, 0
    best, quality = -1, 0.0
    for item in accept.split(","):
        media_range, *params = item.split(";")
        kind, _, subtype = media_range.strip().lower().partition("/")
        if kind == "*" and subtype == "*":
            specificity = 0
        elif subtype == "*":
            specificity = 1 if kind == ("text" if html else "application") else -1
        elif html:
            specificity = 2 if (kind, subtype) == ("text", "html") else -1
        else:
            specificity = 2 if subtype == "json" or subtype.endswith("+json") else -1
        if specificity <= best:
            continue
        best, quality = specificity, 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
    return quality, max(best, 0)


def wants_html(request: Request) -> bool:
    """Whether the error goes to a person in a browser: not the JSON API, and an ``Accept``
    header that does not prefer JSON to HTML (at equal quality, the type it names rather than
    reaches by a wildcard)."""
    if _route_path(request).startswith(JSON_PATHS):
        return False
    accept = request.headers.get("accept", "")
    return _quality(accept, html=True) >= _quality(accept, html=False)


_PAGES: dict[int, tuple[str, str, str]] = {
    400: (
        "Something is not right",
        "The server could not read this request.",
        "Go back, reload the page and try again.",
    ),
    404: (
        "Page not found",
        "There is no page at this address.",
        "Check the address for a typing mistake, or start again from the home page.",
    ),
    405: (
        "Not available this way",
        "This address does not answer {method} requests.",
        "If you followed a link or sent a form, go back, reload the page and try again.",
    ),
    422: (
        "Something is missing",
        "The form or the address is incomplete or malformed.",
        "Go back, reload the page and try again.",
    ),
    500: (
        "Something went wrong",
        "Something went wrong on our side, and your request was not completed.",
        "Please try again in a moment.",
    ),
}


def _browser_page(
    request: Request, status_code: int, headers: Mapping[str, str] | None = None
) -> HTMLResponse | None:
    """The site's error page for ``status_code``; None where it cannot be rendered (the
    application is not running), so the caller answers JSON."""
    state: AppState | None = getattr(request.app.state, "wtp", None)
    if state is None:
        return None
    phrase = HTTPStatus(status_code).phrase
    title, message, hint = _PAGES.get(status_code, (phrase, f"{phrase}.", "Go back and try again."))
    response = error_page(
        state,
        request,
        message.format(method=request.method),
        status_code=status_code,
        title=title,
        hint=hint,
    )
    response.headers.update(headers or {})
    return response


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


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if is_oauth_endpoint(_route_path(request)):
        return oauth_error_response(InvalidRequest("The request is malformed."))
    if wants_html(request) and (page := _browser_page(request, 422)) is not None:
        return page
    errors = [
        {key: value for key, value in error.items() if key in {"type", "loc", "msg"}}
        for error in exc.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (404, 405, an unreadable form); in the browser the site's page,
    at the OAuth endpoints never cached either."""
    assert isinstance(exc, StarletteHTTPException)
    if (
        wants_html(request)
        and (page := _browser_page(request, exc.status_code, exc.headers)) is not None
    ):
        return page
    response = await http_exception_handler(request, exc)
    if is_oauth_endpoint(request.url.path):
        response.headers.update(NO_STORE)
    return response


# Starlette sends the answer to an unexpected error from its outermost middleware, around
# SecurityHeaders, so the headers every response carries are added here.
_CRASH_HEADERS = {name.decode(): value.decode() for name, value in SECURITY_HEADERS} | NO_STORE


async def _unexpected(request: Request, exc: Exception) -> Response:
    """A bug: logged with its traceback, answered with nothing of it."""
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    if wants_html(request):
        try:
            page = _browser_page(request, 500, _CRASH_HEADERS)
        except Exception:  # the page itself failed: the JSON below still goes out
            log.exception("the error page failed too")
            page = None
        if page is not None:
            return page
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
