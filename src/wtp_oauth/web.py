"""Helpers for the HTML pages: rendering, cookies and CSRF bindings."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from wtp_oauth.deps import CSRF_COOKIE, SESSION_COOKIE
from wtp_oauth.models import BrowserSession, User
from wtp_oauth.security.csrf import csrf_token, verify_csrf_token
from wtp_oauth.security.tokens import new_secret
from wtp_oauth.state import AppState

NO_CACHE = {"Cache-Control": "no-store"}


def render(
    state: AppState,
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    signed_in: tuple[BrowserSession, User] | None = None,
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
    state: AppState, request: Request, message: str, *, status_code: int = 400, title: str = ""
) -> HTMLResponse:
    return render(
        state,
        request,
        "error.html",
        {"title": title or "Something is not right", "message": message},
        status_code=status_code,
    )


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
