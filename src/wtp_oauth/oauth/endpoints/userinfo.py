"""The UserInfo endpoint (OpenID Connect Core §5.3): the claims an access token's scopes allow."""

from __future__ import annotations

from typing import Any

from wtp_oauth.oauth.context import OAuthContext
from wtp_oauth.oauth.endpoints import bearer
from wtp_oauth.oauth.extensions.oidc import OPENID, user_claims
from wtp_oauth.scopes import parse_scope


async def userinfo(authorization: str | None, ctx: OAuthContext) -> dict[str, Any]:
    """``sub`` and the ``profile`` / ``email`` claims of the user an access token with the
    ``openid`` scope speaks for (Core §5.3.2); RFC 6750 errors otherwise (SPEC §7, §12)."""
    token = await bearer.authenticate(authorization, OPENID, ctx)
    return user_claims(bearer.user_of(token), parse_scope(token.scope))
