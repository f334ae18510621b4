"""Sign-up, sign-in and sign-out: the JSON API and the HTML forms (SPEC §3)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from wtp_oauth.deps import SESSION_COOKIE, AccountsDep, JsonBody, SignedInDep, StateDep
from wtp_oauth.errors import Conflict, InvalidCredentials, TooManyAttempts
from wtp_oauth.pages import (
    anonymous_binding,
    anonymous_token_ok,
    clear_session_cookie,
    error_page,
    form_token,
    problems,
    render,
    session_token_ok,
    set_anonymous_binding,
    set_session_cookie,
)
from wtp_oauth.schemas import (
    BAD_BODY,
    PASSWORD_TOO_LONG,
    PublicProfile,
    SessionCreate,
    UserCreate,
    error_responses,
)
from wtp_oauth.security.redirect_uris import safe_next_path
from wtp_oauth.state import AppState

router = APIRouter(tags=["accounts"])

FormStr = Annotated[str, Form()]


@router.post(
    "/api/users",
    operation_id="createUser",
    status_code=201,
    dependencies=[JsonBody],
    responses=error_responses({**BAD_BODY, 409: "Username or email already taken"}),
    summary="Create an account",
)
async def create_user(body: UserCreate, accounts: AccountsDep) -> PublicProfile:
    user = await accounts.register(body)
    return PublicProfile.model_validate(user, from_attributes=True)


@router.post(
    "/api/session",
    operation_id="createSession",
    status_code=204,
    dependencies=[JsonBody],
    responses=error_responses(
        {**BAD_BODY, 401: "Wrong username or password", 429: "Throttled (Retry-After)"}
    ),
    summary="Sign in; sets the session cookie",
)
async def create_session(
    body: SessionCreate, request: Request, accounts: AccountsDep, state: StateDep
) -> Response:
    signed_in = await accounts.sign_in(body.username, body.password, _ip(request))
    response = Response(status_code=204)
    set_session_cookie(response, state, signed_in.token)
    return response


@router.delete(
    "/api/session",
    operation_id="deleteSession",
    status_code=204,
    openapi_extra={"security": [{"sessionCookie": []}]},
    summary="Sign out",
)
async def delete_session(request: Request, accounts: AccountsDep, state: StateDep) -> Response:
    await accounts.sign_out(request.cookies.get(SESSION_COOKIE))
    response = Response(status_code=204)
    clear_session_cookie(response, state)
    return response


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _form_page(
    state: AppState,
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    binding, fresh = anonymous_binding(request)
    response = render(
        state,
        request,
        template,
        {**context, "csrf_token": form_token(state, binding)},
        status_code=status_code,
    )
    if fresh:
        set_anonymous_binding(response, state, binding)
    response.headers.update(headers or {})
    return response


def _signed_in_redirect(state: AppState, token: str, next_path: str) -> RedirectResponse:
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(response, state, token)
    return response


@router.get("/login", include_in_schema=False)
async def login_page(
    request: Request, state: StateDep, next: str = "/", login_hint: str = ""
) -> HTMLResponse:
    # OpenID Connect's login_hint fills in the username (the template escapes it).
    context = {"next": safe_next_path(next), "username": login_hint[:320]}
    return _form_page(state, request, "login.html", context)


@router.post("/login", include_in_schema=False)
async def login(
    request: Request,
    state: StateDep,
    accounts: AccountsDep,
    username: FormStr = "",
    password: FormStr = "",
    next: FormStr = "/",
    csrf_token: FormStr = "",
) -> Response:
    next_path = safe_next_path(next)
    context = {"next": next_path, "username": username[:320]}
    if not anonymous_token_ok(state, request, csrf_token):
        return _form_page(
            state,
            request,
            "login.html",
            {**context, "error": "Your form expired. Please try again."},
            status_code=400,
        )
    try:
        # The JSON API's rules (SessionCreate): a password is refused, never cut short.
        credentials = SessionCreate(username=username, password=password)
        signed_in = await accounts.sign_in(credentials.username, credentials.password, _ip(request))
    except ValidationError as exc:
        if _too_long_password(exc):
            return _form_page(
                state,
                request,
                "login.html",
                {**context, "error": PASSWORD_TOO_LONG},
                status_code=422,
            )
        # Nothing that could be anyone's username and password (empty, say): not checked.
        return _form_page(
            state,
            request,
            "login.html",
            {**context, "error": "Incorrect username or password."},
            status_code=401,
        )
    except InvalidCredentials:
        return _form_page(
            state,
            request,
            "login.html",
            {**context, "error": "Incorrect username or password."},
            status_code=401,
        )
    except TooManyAttempts as exc:
        return _form_page(
            state,
            request,
            "login.html",
            {**context, "error": "Too many failed attempts. Wait a few minutes and try again."},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    return _signed_in_redirect(state, signed_in.token, next_path)


def _too_long_password(exc: ValidationError) -> bool:
    return any(
        error["loc"] == ("password",) and error["type"] == "string_too_long"
        for error in exc.errors()
    )


@router.get("/signup", include_in_schema=False)
async def signup_page(request: Request, state: StateDep, next: str = "/") -> HTMLResponse:
    return _form_page(state, request, "signup.html", {"next": safe_next_path(next)})


@router.post("/signup", include_in_schema=False)
async def signup(
    request: Request,
    state: StateDep,
    accounts: AccountsDep,
    username: FormStr = "",
    email: FormStr = "",
    password: FormStr = "",
    next: FormStr = "/",
    csrf_token: FormStr = "",
) -> Response:
    next_path = safe_next_path(next)
    context = {"next": next_path, "username": username[:64], "email": email[:320]}
    if not anonymous_token_ok(state, request, csrf_token):
        return _form_page(
            state,
            request,
            "signup.html",
            {**context, "error": "Your form expired. Please try again."},
            status_code=400,
        )
    try:
        data = UserCreate(username=username, email=email, password=password)
    except ValidationError as exc:
        errors = problems(exc, _FIELD_HINTS)
        return _form_page(
            state, request, "signup.html", {**context, "errors": errors}, status_code=422
        )
    try:
        user = await accounts.register(data)
    except Conflict as exc:
        return _form_page(
            state, request, "signup.html", {**context, "error": str(exc.detail)}, status_code=409
        )
    signed_in = await accounts.open_session(user)
    return _signed_in_redirect(state, signed_in.token, next_path)


_FIELD_HINTS = {
    "username": "Username: 3 to 32 letters, digits, '.', '_' or '-'.",
    "email": "Email: enter a valid email address.",
    # The password's own messages (PASSWORD_TOO_SHORT, PASSWORD_TOO_LONG) are the JSON API's.
}


@router.post("/logout", include_in_schema=False)
async def logout(
    request: Request,
    state: StateDep,
    accounts: AccountsDep,
    signed_in: SignedInDep,
    csrf_token: FormStr = "",
) -> Response:
    if signed_in is not None:
        if not session_token_ok(state, signed_in[0], csrf_token):
            return error_page(state, request, "Your form expired. Please try again.")
        await accounts.sign_out(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, state)
    return response
