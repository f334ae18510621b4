"""Token, revocation and introspection endpoints (RFC 6749 §3.2, RFC 7009, RFC 7662).

These are the hot paths: each endpoint takes only the request (no dependency to solve), and
``HOT_ENDPOINTS`` lets ``hot_paths.HotPaths`` serve them ahead of FastAPI's router.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from wtp_oauth.deps import grant_env_of
from wtp_oauth.hot_paths import Endpoint
from wtp_oauth.http_errors import NO_STORE
from wtp_oauth.routers.oauth_params import body_schema, oauth_params
from wtp_oauth.services import token_admin
from wtp_oauth.services.client_auth import credentials_from
from wtp_oauth.services.grants import GRANTS
from wtp_oauth.services.token_endpoint import exchange

router = APIRouter(tags=["oauth"])

CLIENT_AUTH: list[dict[str, list[str]]] = [{"clientBasic": []}, {"clientSecretBearer": []}, {}]


class TokenOut(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str
    scope: str


class OAuthErrorOut(BaseModel):
    error: str
    error_description: str | None = None


class IntrospectionOut(BaseModel):
    active: bool
    scope: str | None = None
    client_id: str | None = None
    username: str | None = None
    token_type: str | None = None
    exp: int | None = None
    iat: int | None = None
    sub: str | None = None
    iss: str | None = None


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthErrorOut, "description": "RFC 6749 §5.2 error"},
    401: {"model": OAuthErrorOut, "description": "invalid_client"},
    429: {"model": OAuthErrorOut, "description": "Too many failed client authentications"},
}

_TOKEN_BODY = body_schema(
    {
        "grant_type": {"type": "string", "enum": sorted(GRANTS)},
        "grand_type": {
            "type": "string",
            "description": "The developer guide's spelling of grant_type.",
        },
        "code": {
            "type": "string",
            "description": "The authorization code, or (guide dialect) the refresh token.",
        },
        "redirect_uri": {"type": "string"},
        "code_verifier": {"type": "string"},
        "refresh_token": {"type": "string"},
        "device_code": {"type": "string", "description": "RFC 8628: the device code to poll with."},
        "scope": {"type": "string"},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
    },
    [],
)


async def _token(request: Request) -> Response:
    params = await oauth_params(request)
    credentials = credentials_from(request.headers.get("authorization"), params)
    response = await exchange(params, credentials, grant_env_of(request))
    return JSONResponse(response.as_dict(), headers=NO_STORE)


_TOKEN_ROUTE: dict[str, Any] = {
    "response_model": None,
    "responses": {200: {"model": TokenOut}, **_ERRORS},
    "openapi_extra": {**_TOKEN_BODY, "security": CLIENT_AUTH},
    "summary": "Exchange a code or a refresh token for tokens",
}

router.add_api_route(
    "/api/oauth/token", _token, methods=["POST"], operation_id="createToken", **_TOKEN_ROUTE
)
router.add_api_route(
    "/api/token",
    _token,
    methods=["POST"],
    operation_id="createTokenLegacy",
    **{**_TOKEN_ROUTE, "summary": "Same as /api/oauth/token (the developer guide's path)"},
)

_TOKEN_PARAM_BODY = body_schema(
    {
        "token": {"type": "string"},
        "token_type_hint": {"type": "string", "enum": ["access_token", "refresh_token"]},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
    },
    ["token"],
)


@router.post(
    "/api/oauth/revoke",
    operation_id="revokeToken",
    response_model=None,
    responses={200: {"description": "Revoked, or nothing to revoke"}, **_ERRORS},
    openapi_extra={**_TOKEN_PARAM_BODY, "security": CLIENT_AUTH},
    summary="Revoke an access or refresh token (RFC 7009)",
)
async def revoke(request: Request) -> Response:
    params = await oauth_params(request)
    credentials = credentials_from(request.headers.get("authorization"), params)
    await token_admin.revoke(params, credentials, grant_env_of(request))
    return Response(status_code=200, headers=NO_STORE)


@router.post(
    "/api/oauth/introspect",
    operation_id="introspectToken",
    response_model=None,
    responses={200: {"model": IntrospectionOut}, **_ERRORS},
    openapi_extra={**_TOKEN_PARAM_BODY, "security": CLIENT_AUTH},
    summary="Describe one of this client's tokens (RFC 7662)",
)
async def introspect(request: Request) -> Response:
    params = await oauth_params(request)
    credentials = credentials_from(request.headers.get("authorization"), params)
    answer = await token_admin.introspect(params, credentials, grant_env_of(request))
    return JSONResponse(answer, headers=NO_STORE)


HOT_ENDPOINTS: dict[tuple[str, str], Endpoint] = {
    ("POST", "/api/oauth/token"): _token,
    ("POST", "/api/token"): _token,
    ("POST", "/api/oauth/revoke"): revoke,
    ("POST", "/api/oauth/introspect"): introspect,
}
