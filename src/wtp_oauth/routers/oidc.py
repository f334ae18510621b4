"""OpenID Connect's own endpoints: UserInfo (Core §5.3) and RP-initiated logout (RP-Initiated
Logout 1.0). Discovery and the JWKS are in ``well_known``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from wtp_oauth.deps import oauth_of
from wtp_oauth.http_errors import NO_STORE
from wtp_oauth.oauth.endpoints.userinfo import userinfo

router = APIRouter(tags=["openid"])


_USERINFO: dict[str, Any] = {
    "operation_id": "getUserInfo",
    "responses": {
        200: {
            "description": "sub, and the claims of the token's profile and email scopes",
            "content": {"application/json": {"schema": {"type": "object"}}},
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
