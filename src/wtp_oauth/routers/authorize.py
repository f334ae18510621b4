"""The authorization endpoint and the consent form (RFC 6749 §3.1, §4.1.1; SPEC §5, §12).

``GET /oauth/authorize`` is on every sign-in's path: it takes only the request, runs on the
token store and opens no ORM session, and is also served ahead of FastAPI's router
(``HOT_ROUTES``). ``POST /oauth/authorize`` is the consent form's answer when it carries
``decision``, and otherwise an authorization request sent as a form (OpenID Connect Core
§3.1.2.1): both cold paths.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wtp_oauth.deps import SESSION_COOKIE, ConsentFormDep, SignedInDep, StateDep
from wtp_oauth.hot_paths import HOT_ROUTES
from wtp_oauth.oauth.grants.authorization_code.authorize import (
    Authorization,
    InvalidAuthorizationRequest,
    NeedsConsent,
    NeedsLogin,
    Redirect,
)
from wtp_oauth.pages import Viewer, error_page, form_token, render, session_token_ok
from wtp_oauth.scopes import SCOPES
from wtp_oauth.state import AppState

router = APIRouter(include_in_schema=False)

_BROKEN_LINK_HINT = (
    "You have not been sent anywhere. If a website or app gave you this link, let its makers "
    "know. If you made the app: compare the link's client_id and redirect_uri with what you "
    "registered in the developer portal at /developers."
)


def _to_client(outcome: Redirect) -> RedirectResponse:
    return RedirectResponse(outcome.url, status_code=302, headers={"Cache-Control": "no-store"})


def _consent_page(
    state: AppState,
    request: Request,
    outcome: NeedsConsent,
    signed_in: Viewer,
) -> HTMLResponse:
    request_ = outcome.request
    target = urlsplit(request_.redirect_uri)
    return render(
        state,
        request,
        "consent.html",
        {
            "application": request_.application,
            "scopes": [scope for scope in SCOPES if scope.name in request_.scopes],
            "redirect_host": target.hostname or target.scheme,
            "request_id": outcome.request_id,
            "csrf_token": form_token(state, signed_in[0].token_digest),
        },
        signed_in=signed_in,
    )


def _query(request: Request) -> list[tuple[str, str]] | None:
    """The query's parameters, or None if it is not UTF-8 (RFC 3986 §2.5): decoded strictly,
    where Starlette would turn broken bytes into U+FFFD and carry them into a stored request."""
    try:
        raw = request.scope["query_string"].decode("utf-8")
        return parse_qsl(raw, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        return None


def _login(outcome: NeedsLogin) -> RedirectResponse:
    target = f"/login?next={quote(outcome.next_path, safe='')}"
    if outcome.login_hint:
        target += f"&login_hint={quote(outcome.login_hint, safe='')}"
    return RedirectResponse(target, status_code=302)


@HOT_ROUTES.route(router, "GET", "/oauth/authorize")
async def authorize(request: Request) -> Response:
    return await _authorization_request(request, _query(request))


async def _authorization_request(
    request: Request, params: list[tuple[str, str]] | None
) -> Response:
    state: AppState = request.app.state.wtp
    # The request's statements on one connection; the page, if any, is drawn after.
    async with state.oauth.store.authorizing() as store:
        authorization = Authorization(store, state.settings, state.clock, state.oauth.keys)
        context, outcome = await authorization.authorize(
            request.cookies.get(SESSION_COOKIE), params
        )
    signed_in: Viewer | None = None
    if context.session is not None:
        signed_in = (context.session, context.session.user)
    if outcome is None or isinstance(outcome, InvalidAuthorizationRequest):
        message = "This sign-in link is not valid UTF-8." if outcome is None else outcome.message
        return error_page(
            state,
            request,
            message,
            title="This sign-in link is broken",
            hint=_BROKEN_LINK_HINT,
            signed_in=signed_in,
        )
    if isinstance(outcome, Redirect):
        return _to_client(outcome)
    if isinstance(outcome, NeedsLogin):
        return _login(outcome)
    assert signed_in is not None
    return _consent_page(state, request, outcome, signed_in)


async def _form(request: Request) -> list[tuple[str, str]] | None:
    """A form-encoded body's parameters, or None if it is not one (or not UTF-8)."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return None
    try:
        text = (await request.body()).decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        return None


@router.post("/oauth/authorize")
async def consent(
    request: Request,
    state: StateDep,
    consent_form: ConsentFormDep,
    signed_in: SignedInDep,
) -> Response:
    """The consent form's answer, or an authorization request sent as a form."""
    params = await _form(request)
    if params is None:
        return error_page(state, request, "Send the form as application/x-www-form-urlencoded.")
    fields = dict(reversed(params))  # the first of each name, as _single takes it
    if "decision" not in fields:
        # OpenID Connect Core §3.1.2.1. A cross-site form POST carries no SameSite=Lax
        # cookie: without one, go on as the GET it stands for, which a browser sends with it.
        if SESSION_COOKIE not in request.cookies:
            location = "/oauth/authorize?" + urlencode(params)
            return RedirectResponse(location, status_code=303)
        return await _authorization_request(request, params)
    request_id = fields.get("request_id", "")
    csrf_token = fields.get("csrf_token", "")
    decision = fields["decision"]
    if signed_in is None:
        return error_page(
            state, request, "Your session has ended. Start again from the application."
        )
    if not session_token_ok(state, signed_in[0], csrf_token):
        return error_page(
            state, request, "This form has expired. Start again from the application."
        )
    if decision not in {"allow", "deny"}:
        return error_page(state, request, "Choose Allow or Deny.")
    try:
        outcome = await consent_form.answer(request_id[:200], signed_in, decision == "allow")
    except InvalidAuthorizationRequest as exc:
        return error_page(state, request, exc.message)
    return RedirectResponse(outcome.url, status_code=303, headers={"Cache-Control": "no-store"})
