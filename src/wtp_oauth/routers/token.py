"""Token, revocation and introspection endpoints (RFC 6749 §3.2, RFC 7009, RFC 7662).

These are the hot paths: each endpoint takes only the request (no dependency to solve) and is
declared with ``HOT_ROUTES``, which serves it ahead of FastAPI's router too. Each renders its
own errors as RFC 6749 §5.2 JSON (``oauth_json``): the endpoint chooses, not the URL.
"""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from wtp_oauth import metrics
from wtp_oauth.deps import oauth_of
from wtp_oauth.errors import OAuthError
from wtp_oauth.hot_paths import HOT_ROUTES, Endpoint
from wtp_oauth.http_errors import NO_STORE, oauth_error_response
from wtp_oauth.oauth.clients import credentials_from
from wtp_oauth.oauth.endpoints import tokens
from wtp_oauth.oauth.endpoints.token import exchange
from wtp_oauth.oauth.params import grant_type_of
from wtp_oauth.oauth.registry import token_request_properties
from wtp_oauth.routers.oauth_params import body_schema, oauth_params

router = APIRouter(tags=["oauth"])

CLIENT_AUTH: list[dict[str, list[str]]] = [{"clientBasic": []}, {"clientSecretBearer": []}, {}]


class TokenOut(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str | None = None
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


def oauth_json(endpoint: Endpoint) -> Endpoint:
    """An OAuth endpoint whose errors are answered as RFC 6749 §5.2 JSON, never cached."""

    @functools.wraps(endpoint)
    async def answer(request: Request) -> Response:
        try:
            return await endpoint(request)
        except OAuthError as error:
            metrics.oauth_error(error.error)
            return oauth_error_response(error)

    return answer


def _address(request: Request) -> str:
    """The client's address, as the server sees it (uvicorn's ``proxy_headers`` apply)."""
    return request.client.host if request.client is not None else ""


_TOKEN_ROUTE: dict[str, Any] = {
    "response_model": None,
    "responses": {200: {"model": TokenOut}, **_ERRORS},
    "openapi_extra": {**body_schema(token_request_properties(), []), "security": CLIENT_AUTH},
    "summary": "Exchange a code or a refresh token for tokens",
}


@HOT_ROUTES.route(
    router,
    "POST",
    "/api/token",
    operation_id="createTokenLegacy",
    **{**_TOKEN_ROUTE, "summary": "Same as /api/oauth/token (the developer guide's path)"},
)
@HOT_ROUTES.route(router, "POST", "/api/oauth/token", operation_id="createToken", **_TOKEN_ROUTE)
@oauth_json
async def token(request: Request) -> Response:
    params = await oauth_params(request)
    credentials = credentials_from(request.headers.get("authorization"), params)
    response = await exchange(params, credentials, _address(request), oauth_of(request))
    metrics.token_issued(grant_type_of(params))  # a registered grant type: exchange succeeded
    return JSONResponse(response.as_dict(), headers=NO_STORE)


_TOKEN_PARAM_BODY = body_schema(
    {
        "token": {"type": "string"},
        "token_type_hint": {"type": "string", "enum": ["access_token", "refresh_token"]},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
    },
    ["token"],
)


@HOT_ROUTES.route(
    router,
    "POST",
    "/api/oauth/revoke",
    operation_id="revokeToken",
    response_model=None,
    # An empty body: the schema declares none (a JSON one would fail generated SDKs).
    response_class=Response,
    responses={200: {"description": "Revoked, or nothing to revoke"}, **_ERRORS},
    openapi_extra={**_TOKEN_PARAM_BODY, "security": CLIENT_AUTH},
    summary="Revoke an access or refresh token (RFC 7009)",
)
@oauth_json
async def revoke(request: Request) -> Response:
    params = await oauth_params(request)
    credentials = credentials_from(request.headers.get("authorization"), params)
    await tokens.revoke(params, credentials, _address(request), oauth_of(request))
    return Response(status_code=200, headers=NO_STORE)


@HOT_ROUTES.route(
    router,
    "POST",
    "/api/oauth/introspect",
    operation_id="introspectToken",
    response_model=None,
    responses={200: {"model": IntrospectionOut}, **_ERRORS},
    openapi_extra={**_TOKEN_PARAM_BODY, "security": CLIENT_AUTH},
    summary="Describe one of this client's tokens (RFC 7662)",
)
@oauth_json
async def introspect(request: Request) -> Response:
    params = await oauth_params(request)
    credentials = credentials_from(request.headers.get("authorization"), params)
    answer = await tokens.introspect(params, credentials, _address(request), oauth_of(request))
    return JSONResponse(answer, headers=NO_STORE)
