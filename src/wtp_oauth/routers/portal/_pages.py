"""What the portal's pages share: sign-in redirects, CSRF-carrying pages, error pages."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wtp_oauth.errors import NotFound
from wtp_oauth.models import BrowserSession, User
from wtp_oauth.pages import error_page, form_token, render, session_token_ok
from wtp_oauth.state import AppState

FormStr = Annotated[str, Form()]
SignedIn = tuple[BrowserSession, User]

FORM_EXPIRED = "This form has expired. Go back, reload the page and try again."


def sign_in_first(next_path: str) -> RedirectResponse:
    """Send an anonymous visitor through /login and back to ``next_path``."""
    return RedirectResponse(f"/login?next={quote(next_path, safe='')}", status_code=303)


def page(
    state: AppState,
    request: Request,
    signed_in: SignedIn,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """A signed-in page; its forms carry the session-bound CSRF token."""
    csrf = form_token(state, signed_in[0].token_digest)
    return render(
        state,
        request,
        template,
        {**context, "csrf_token": csrf},
        status_code=status_code,
        signed_in=signed_in,
    )


def form_user(
    state: AppState,
    request: Request,
    signed_in: SignedIn | None,
    csrf_token: str,
    next_path: str,
) -> SignedIn | Response:
    """Who sent this form, or the answer when nobody may: not signed in, or a bad CSRF token."""
    if signed_in is None:
        return sign_in_first(next_path)
    if not session_token_ok(state, signed_in[0], csrf_token):
        return error_page(state, request, FORM_EXPIRED, title="Form expired", signed_in=signed_in)
    return signed_in


def not_found(
    state: AppState, request: Request, signed_in: SignedIn, exc: NotFound
) -> HTMLResponse:
    return error_page(
        state,
        request,
        str(exc.detail),
        status_code=404,
        title="Not found",
        hint="It may have been deleted, or it belongs to another account.",
        signed_in=signed_in,
    )
