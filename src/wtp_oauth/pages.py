"""The HTML pages' helpers: rendering, error pages, cookies and CSRF bindings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from wtp_oauth.deps import CSRF_COOKIE, SESSION_COOKIE
from wtp_oauth.errors import DomainError
from wtp_oauth.models import BrowserSession
from wtp_oauth.security.csrf import csrf_token, verify_csrf_token
from wtp_oauth.security.tokens import new_secret
from wtp_oauth.state import AppState

NO_CACHE = {"Cache-Control": "no-store"}


class _Session(Protocol):
    @property
    def token_digest(self) -> str: ...


class _Person(Protocol):
    @property
    def username(self) -> str: ...


# Who is signed in, for the page header: the session (whose digest binds the sign-out form) and
# its user. From the ORM (``deps.SignedInDep``) or from the token store (``SignedInSession``,
# on the authorize link), so the pages need not care which.
Viewer = tuple[_Session, _Person]


def render(
    state: AppState,
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    signed_in: Viewer | None = None,
) -> HTMLResponse:
    page: dict[str, Any] = {"issuer": state.settings.issuer, "user": None}
    if signed_in is not None:
        page["user"] = signed_in[1]
        page["logout_csrf_token"] = form_token(state, signed_in[0].token_digest)
    page.update(context or {})
    response = state.templates.TemplateResponse(
        request, template, page, status_code=status_code, headers=NO_CACHE
    )
    assert isinstance(response, HTMLResponse)
    return response


def error_page(
    state: AppState,
    request: Request,
    message: str,
    *,
    status_code: int = 400,
    title: str = "",
    hint: str = "",
    signed_in: Viewer | None = None,
) -> HTMLResponse:
    """A friendly page that says what is wrong; ``hint`` says what to do about it."""
    return render(
        state,
        request,
        "error.html",
        {"title": title or "Something is not right", "message": message, "hint": hint},
        status_code=status_code,
        signed_in=signed_in,
    )


def problems(
    exc: ValidationError | DomainError,
    hints: Mapping[str, str],
    items: Mapping[str, Sequence[str]] | None = None,
) -> list[str]:
    """What is wrong with a submitted form, in words, one line per problem.

    ``exc`` is a schema's ``ValidationError`` or a service's ``DomainError`` (whose detail has
    FastAPI's shape). ``hints`` maps a field to a sentence saying what it accepts, used for
    schema errors; a service's message is shown as it is. ``items`` holds the submitted values
    of list fields, so that an error about one entry names it.
    """
    if isinstance(exc, DomainError) and isinstance(exc.detail, str):
        return [exc.detail]
    errors: Sequence[Mapping[str, Any]] = (
        exc.errors() if isinstance(exc, ValidationError) else exc.detail  # type: ignore[assignment]
    )
    lines: list[str] = []
    for error in errors:
        loc = [part for part in error.get("loc", ()) if part != "body"]
        field = str(loc[0]) if loc else ""
        message = str(error.get("msg", "Invalid value."))
        if isinstance(exc, ValidationError):
            message = hints.get(field, message)
        entries = (items or {}).get(field, ())
        if len(loc) > 1 and isinstance(loc[1], int) and 0 <= loc[1] < len(entries):
            message = f"{entries[loc[1]][:200]} — {message}"
        lines.append(message)
    return list(dict.fromkeys(lines))


def set_session_cookie(response: Response, state: AppState, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=state.settings.session_ttl,
        httponly=True,
        samesite="lax",
        secure=state.settings.secure_cookies,
        path="/",
    )


def clear_session_cookie(response: Response, state: AppState) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        httponly=True,
        samesite="lax",
        secure=state.settings.secure_cookies,
        path="/",
    )


def anonymous_binding(request: Request) -> tuple[str, bool]:
    """The pre-session CSRF cookie value, and whether it must be set now."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing, False
    return new_secret(), True


def set_anonymous_binding(response: Response, state: AppState, value: str) -> None:
    response.set_cookie(
        CSRF_COOKIE,
        value,
        httponly=True,
        samesite="lax",
        secure=state.settings.secure_cookies,
        path="/",
    )


def form_token(state: AppState, binding: str) -> str:
    return csrf_token(state.secret_key, binding)


def anonymous_token_ok(state: AppState, request: Request, token: str) -> bool:
    return verify_csrf_token(state.secret_key, request.cookies.get(CSRF_COOKIE), token)


def session_token_ok(state: AppState, browser_session: BrowserSession, token: str) -> bool:
    return verify_csrf_token(state.secret_key, browser_session.token_digest, token)
