"""Revocation (RFC 7009) and introspection (RFC 7662) of a client's own tokens.

Each request is one statement: the token's lookup (or revocation), guarded by the client's
authentication, which is then judged once from the statement's answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wtp_oauth.errors import InvalidRequest
from wtp_oauth.oauth.clients import ClientCheck, ClientCredentials, authenticate, authenticated
from wtp_oauth.oauth.clients import client_check as _client_check
from wtp_oauth.oauth.context import OAuthContext
from wtp_oauth.oauth.records import AccessTokenRecord
from wtp_oauth.security.tokens import ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, digest

INACTIVE: dict[str, Any] = {"active": False}


def _is_refresh(token: str, hint: str | None) -> bool:
    """Which table to look in: the prefix says; the hint is only a fallback (RFC 7009 §2.1)."""
    if token.startswith(ACCESS_TOKEN_PREFIX):
        return False
    if token.startswith(REFRESH_TOKEN_PREFIX):
        return True
    return hint == "refresh_token"


async def _token(params: Mapping[str, str], check: ClientCheck, ctx: OAuthContext) -> str:
    """The ``token`` parameter; without it, a client that fails to authenticate hears that."""
    token = params.get("token")
    if not token:
        await authenticate(check, ctx)
        raise InvalidRequest("The 'token' parameter is required.")
    return token


async def revoke(
    params: Mapping[str, str], credentials: ClientCredentials, address: str, ctx: OAuthContext
) -> None:
    """RFC 7009 §2.1: revoke one of the client's tokens; revoking a refresh token ends its
    family. Unknown tokens and other clients' tokens are ignored (§2.2: answer 200 anyway)."""
    check = _client_check(credentials, ctx, address)
    token = await _token(params, check, ctx)
    checked = await ctx.store.revoke_token(
        client=check,
        token_digest=digest(token),
        refresh=_is_refresh(token, params.get("token_type_hint")),
        now=ctx.clock(),
    )
    await authenticated(check, checked.client, ctx)


async def introspect(
    params: Mapping[str, str], credentials: ClientCredentials, address: str, ctx: OAuthContext
) -> dict[str, Any]:
    """RFC 7662 §2.2: describe an active token of this client; anything else is inactive."""
    check = _client_check(credentials, ctx, address)
    token = await _token(params, check, ctx)
    checked = await ctx.store.introspect_token(
        client=check,
        token_digest=digest(token),
        refresh=_is_refresh(token, params.get("token_type_hint")),
    )
    client = await authenticated(check, checked.client, ctx)
    record = checked.result
    if record is None or record.client_id != client.client_id or not record.is_active(ctx.clock()):
        return dict(INACTIVE)
    answer: dict[str, Any] = {
        "active": True,
        "scope": record.scope,
        "client_id": record.client_id,
    }
    if record.user is not None:
        answer["username"] = record.user.username
    answer.update(
        {
            "token_type": "Bearer" if isinstance(record, AccessTokenRecord) else "refresh_token",
            "exp": int(record.expires_at.timestamp()),
            "iat": int(record.issued_at.timestamp()),
            "sub": record.subject,
            "iss": ctx.settings.issuer,
        }
    )
    return answer
