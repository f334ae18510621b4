"""OpenID Connect's own endpoints: UserInfo (Core §5.3) and RP-initiated logout (RP-Initiated
Logout 1.0). Discovery and the JWKS are in ``well_known``."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict

from wtp_oauth.deps import SESSION_COOKIE, AccountsDep, DbDep, SignedInDep, StateDep, oauth_of
from wtp_oauth.http_errors import NO_STORE
from wtp_oauth.oauth.endpoints.userinfo import userinfo
from wtp_oauth.pages import (
    NO_CACHE,
    clear_session_cookie,
    error_page,
    form_token,
    render,
    session_token_ok,
)
from wtp_oauth.services.logout import Logout
from wtp_oauth.state import AppState

router = APIRouter(tags=["openid"])


class UserInfo(BaseModel):
    """OpenID Connect Core §5.3.2: ``sub``, and the claims the token's scopes allow."""

    model_config = ConfigDict(extra="allow")

    sub: str
    name: str | None = None
    preferred_username: str | None = None
    updated_at: int | None = None
    email: str | None = None
    email_verified: bool | None = None


_USERINFO: dict[str, Any] = {
    "operation_id": "getUserInfo",
    "responses": {
        200: {
            "model": UserInfo,
            "description": "sub, and the claims of the token's profile and email scopes",
        },
        401: {"description": "Missing, invalid, expired or revoked access token"},
        403: {"description": "The token lacks the openid scope"},
    },
    "openapi_extra": {"security": [{"accessToken": ["openid"]}]},
    "summary": "The signed-in user's claims (OpenID Connect UserInfo)",
}


async def _userinfo(request: Request) -> Response:
    claims = await userinfo(request.headers.get("authorization"), oauth_of(request))
    return JSONResponse(claims, headers=NO_STORE)


router.add_api_route("/api/oauth/userinfo", _userinfo, methods=["GET"], **_USERINFO)
router.add_api_route(
    "/api/oauth/userinfo",
    _userinfo,
    methods=["POST"],
    **{**_USERINFO, "operation_id": "postUserInfo"},
)


def _parameters(request: Request, body: bytes) -> dict[str, str] | None:
    """A logout request's parameters, from the query (GET) or a form body (POST); the first
    of each name. None when they are not UTF-8."""
    raw = request.scope["query_string"] if request.method == "GET" else body
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        return None
    return dict(reversed(pairs))


def _signed_out_page(state: AppState, request: Request) -> HTMLResponse:
    return render(state, request, "logout.html", {"signed_out": True})


@router.api_route("/oauth/logout", methods=["GET", "POST"], include_in_schema=False)
async def logout(
    request: Request,
    state: StateDep,
    db: DbDep,
    accounts: AccountsDep,
    signed_in: SignedInDep,
) -> Response:
    """RP-initiated logout (RP-Initiated Logout 1.0 §2, SPEC §12). A POST that carries
    ``csrf_token`` is the answer of our own confirmation form; any other request asks to
    sign out."""
    params = _parameters(request, await request.body() if request.method == "POST" else b"")
    if params is None:
        return error_page(state, request, "This sign-out link is not valid UTF-8.")
    plan = await Logout(db, state.oauth.keys, state.settings, state.clock).plan(params, signed_in)
    confirmed = request.method == "POST" and "csrf_token" in params
    if confirmed and signed_in is not None:
        if not session_token_ok(state, signed_in[0], params["csrf_token"]):
            return error_page(state, request, "This form has expired. Please try again.")
    elif not plan.at_once:
        if signed_in is None:
            return _signed_out_page(state, request)
        context = {
            "application_name": plan.application_name,
            "params": plan.params,
            "csrf_token": form_token(state, signed_in[0].token_digest),
        }
        return render(state, request, "logout.html", context, signed_in=signed_in)
    await accounts.sign_out(request.cookies.get(SESSION_COOKIE))
    response: Response
    if plan.redirect is not None:
        response = RedirectResponse(plan.redirect, status_code=303, headers=NO_CACHE)
    else:
        response = _signed_out_page(state, request)
    clear_session_cookie(response, state)
    return response
