"""The device authorization grant's HTTP side (RFC 8628; SPEC §15).

``POST /api/oauth/device_authorization`` (§3.1–3.2) and the verification page ``/device``
(§3.3), where a signed-in user types the code from the device, sees which application asks
(§5.4) and allows or denies it. The polling happens at the token endpoint.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from wtp_oauth.deps import SignedInDep, StateDep, oauth_of
from wtp_oauth.errors import TooManyAttempts
from wtp_oauth.http_errors import NO_STORE
from wtp_oauth.models import BrowserSession, User
from wtp_oauth.oauth.clients import credentials_from
from wtp_oauth.oauth.grants.device_code import rules
from wtp_oauth.oauth.grants.device_code.authorization import VERIFICATION_PATH, authorize_device
from wtp_oauth.oauth.grants.device_code.storage import PendingDevice
from wtp_oauth.oauth.grants.device_code.verification import (
    DeviceVerification,
    MalformedUserCode,
    UnknownUserCode,
)
from wtp_oauth.pages import error_page, form_token, render, session_token_ok
from wtp_oauth.repositories.throttle import ThrottleRepository
from wtp_oauth.routers.oauth_params import body_schema, oauth_params
from wtp_oauth.routers.token import CLIENT_AUTH, OAuthErrorOut, oauth_json
from wtp_oauth.scopes import SCOPES, parse_scope
from wtp_oauth.security.csrf import verify_csrf_token
from wtp_oauth.state import AppState

router = APIRouter()

FormStr = Annotated[str, Form()]
SignedIn = tuple[BrowserSession, User]


class DeviceAuthorizationOut(BaseModel):
    """RFC 8628 §3.2."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


_BODY = body_schema(
    {
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
        "scope": {"type": "string", "description": "Space-delimited scopes, e.g. user.read"},
        "scopes": {"type": "string", "description": "The developer guide's name for scope."},
        "resource": {"type": "string", "description": "RFC 8707: only {issuer}/api so far."},
    },
    [],
)


@router.post(
    "/api/oauth/device_authorization",
    tags=["oauth"],
    operation_id="createDeviceAuthorization",
    response_model=None,
    responses={
        200: {"model": DeviceAuthorizationOut},
        400: {"model": OAuthErrorOut, "description": "RFC 6749 §5.2 error"},
        401: {"model": OAuthErrorOut, "description": "invalid_client"},
        429: {"model": OAuthErrorOut, "description": "Too many failed client authentications"},
    },
    openapi_extra={**_BODY, "security": CLIENT_AUTH},
    summary="Start the device flow: a device code to poll with, a user code to type (RFC 8628)",
)
@oauth_json
async def device_authorization(request: Request) -> Response:
    params = await oauth_params(request)
    credentials = credentials_from(request.headers.get("authorization"), params)
    answer = await authorize_device(params, credentials, _address(request), oauth_of(request))
    return JSONResponse(answer.as_dict(), headers=NO_STORE)


def _verification(state: AppState) -> DeviceVerification:
    failures = ThrottleRepository(state.session_factory)
    return DeviceVerification(state.oauth.device_codes, failures, state.settings, state.clock)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _sign_in_first(user_code: str) -> RedirectResponse:
    """Through /login and back, keeping the code of ``verification_uri_complete``."""
    back = VERIFICATION_PATH
    if user_code:
        back += "?user_code=" + quote(user_code[: rules.MAX_TYPED_LENGTH], safe="")
    return RedirectResponse(f"/login?next={quote(back, safe='')}", status_code=303)


def _consent_binding(browser_session: BrowserSession, user_code: str) -> str:
    """What the consent form's token is bound to: this session and the code it looked up, so
    that the form can neither be forged from elsewhere (CSRF) nor skip the throttled lookup."""
    return f"device:{browser_session.token_digest}:{user_code}"


def _entry_page(
    state: AppState,
    request: Request,
    signed_in: SignedIn,
    user_code: str,
    *,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "user_code": user_code[: rules.MAX_TYPED_LENGTH],
        "csrf_token": form_token(state, signed_in[0].token_digest),
        "error": error,
    }
    return render(
        state,
        request,
        "device/entry.html",
        context,
        status_code=status_code,
        signed_in=signed_in,
    )


def _consent_page(
    state: AppState, request: Request, signed_in: SignedIn, pending: PendingDevice
) -> HTMLResponse:
    granted = parse_scope(pending.scope)
    context: dict[str, Any] = {
        "device": pending,
        "shown_code": rules.display_user_code(pending.user_code),
        "scopes": [scope for scope in SCOPES if scope.name in granted],
        "consent_token": form_token(state, _consent_binding(signed_in[0], pending.user_code)),
    }
    return render(state, request, "device/consent.html", context, signed_in=signed_in)


@router.get("/device", include_in_schema=False)
async def device_page(
    request: Request, state: StateDep, signed_in: SignedInDep, user_code: str = ""
) -> Response:
    if signed_in is None:
        return _sign_in_first(user_code)
    return _entry_page(state, request, signed_in, user_code)


@router.post("/device", include_in_schema=False)
async def enter_code(
    request: Request,
    state: StateDep,
    signed_in: SignedInDep,
    user_code: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    if signed_in is None:
        return _sign_in_first(user_code)
    if not session_token_ok(state, signed_in[0], csrf_token):
        return _entry_page(
            state,
            request,
            signed_in,
            user_code,
            error="This form has expired. Please type the code again.",
            status_code=400,
        )
    try:
        pending = await _verification(state).look_up(
            user_code, user_id=signed_in[1].id, address=_address(request)
        )
    except MalformedUserCode:
        message = "That is not a device code: it has eight letters, like BCDF-GHJK."
        return _entry_page(state, request, signed_in, user_code, error=message, status_code=400)
    except UnknownUserCode:
        message = (
            "No device is waiting for this code. Check it against your device's screen; "
            "if it has expired, start again on the device."
        )
        return _entry_page(state, request, signed_in, user_code, error=message, status_code=400)
    except TooManyAttempts as exc:
        page = error_page(
            state,
            request,
            "Too many wrong codes. Wait a few minutes before you try again.",
            status_code=429,
            title="Too many tries",
            hint="The code your device shows stays valid for a few minutes; if it expires, "
            "start again on the device.",
            signed_in=signed_in,
        )
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    return _consent_page(state, request, signed_in, pending)


@router.post("/device/consent", include_in_schema=False)
async def answer(
    request: Request,
    state: StateDep,
    signed_in: SignedInDep,
    user_code: FormStr = "",
    consent_token: FormStr = "",
    decision: FormStr = "",
) -> Response:
    if signed_in is None:
        return _sign_in_first("")
    code = rules.normalise_user_code(user_code) or ""
    binding = _consent_binding(signed_in[0], code)
    if not code or not verify_csrf_token(state.secret_key, binding, consent_token):
        return error_page(
            state,
            request,
            "This form has expired. Type the code from your device again.",
            title="Form expired",
            signed_in=signed_in,
        )
    if decision not in {"allow", "deny"}:
        return error_page(state, request, "Choose Allow or Deny.", signed_in=signed_in)
    allow = decision == "allow"
    if not await _verification(state).answer(code, signed_in[1].id, allow=allow):
        return error_page(
            state,
            request,
            "This code has expired or was already answered. Start again on your device.",
            title="Code no longer valid",
            signed_in=signed_in,
        )
    return render(state, request, "device/done.html", {"allowed": allow}, signed_in=signed_in)
