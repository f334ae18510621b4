"""The user API, for holders of access tokens (SPEC §7, RFC 6750).

``GET /api/users/@me`` is on every sign-in's path: it takes only the request and is also
served ahead of FastAPI's router (``hot_paths.HOT_ROUTES``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from wtp_oauth.deps import (
    CurrentUserDep,
    JsonBody,
    ReadToken,
    UsersDep,
    WriteToken,
    bearer_token,
)
from wtp_oauth.hot_paths import HOT_ROUTES
from wtp_oauth.oauth.endpoints.bearer import user_of
from wtp_oauth.schemas import (
    BAD_BODY,
    NOT_SIGNED_IN,
    AuthorizedApplication,
    Profile,
    ProfileUpdate,
    PublicProfile,
    error_responses,
)
from wtp_oauth.services.users import profile_for

router = APIRouter(tags=["users"])

# Bodies: ``ErrorDetail`` (wtp_oauth.openapi_schema); the challenge is in WWW-Authenticate.
_BEARER_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, invalid, expired or revoked access token"},
    403: {"description": "The token lacks the required scope"},
}
_READ: dict[str, Any] = {"security": [{"accessToken": ["user.read"]}]}
_WRITE: dict[str, Any] = {"security": [{"accessToken": ["user.write"]}]}
_SESSION: dict[str, Any] = {"security": [{"sessionCookie": []}]}


_read_token = bearer_token("user.read")


@HOT_ROUTES.route(
    router,
    "GET",
    "/api/users/@me",
    operation_id="getCurrentUser",
    response_model=Profile,
    response_model_exclude_none=True,
    responses=_BEARER_ERRORS,
    openapi_extra=_READ,
    summary="The signed-in user's profile (user.read; email with user.email)",
)
async def get_me(request: Request) -> Response:
    token = await _read_token(request)
    profile = profile_for(user_of(token), token)
    return Response(profile.model_dump_json(exclude_none=True), media_type="application/json")


@router.patch(
    "/api/users/@me",
    operation_id="updateCurrentUser",
    response_model_exclude_none=True,
    responses={**_BEARER_ERRORS, **error_responses(BAD_BODY)},
    openapi_extra=_WRITE,
    dependencies=[JsonBody],
    summary="Change the display name (user.write)",
)
async def update_me(body: ProfileUpdate, token: WriteToken, users: UsersDep) -> Profile:
    return await users.rename(token, body.display_name)


@router.get(
    "/api/users/@me/authorizations",
    operation_id="listMyAuthorizations",
    responses=error_responses(NOT_SIGNED_IN),
    openapi_extra=_SESSION,
    summary="Applications the signed-in user has authorized",
)
async def list_authorizations(user: CurrentUserDep, users: UsersDep) -> list[AuthorizedApplication]:
    return await users.authorizations(user.id)


@router.delete(
    "/api/users/@me/authorizations/{client_id}",
    operation_id="revokeMyAuthorization",
    status_code=204,
    responses=error_responses({**NOT_SIGNED_IN, 404: "This application is not authorized"}),
    openapi_extra=_SESSION,
    summary="Forget the consent and revoke the application's tokens",
)
async def revoke_authorization(client_id: str, user: CurrentUserDep, users: UsersDep) -> Response:
    await users.revoke_authorization(user.id, client_id)
    return Response(status_code=204)


@router.get(
    "/api/users/{user_id}",
    operation_id="getUser",
    responses={**_BEARER_ERRORS, **error_responses({404: "No user has this id"})},
    openapi_extra=_READ,
    summary="A user's public profile (user.read)",
)
async def get_user(user_id: str, _token: ReadToken, users: UsersDep) -> PublicProfile:
    return await users.public_profile(user_id)
