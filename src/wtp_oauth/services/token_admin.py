"""Revocation (RFC 7009) and introspection (RFC 7662) of a client's own tokens."""

from __future__ import annotations

from typing import Any

from wtp_oauth.errors import InvalidRequest
from wtp_oauth.repositories.token_store import AccessTokenRecord, RefreshTokenRecord
from wtp_oauth.security.tokens import ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, digest
from wtp_oauth.services.grants import GrantEnv

INACTIVE: dict[str, Any] = {"active": False}


async def _lookup(
    token: str, hint: str | None, env: GrantEnv
) -> AccessTokenRecord | RefreshTokenRecord | None:
    """Find a token by digest; the prefix says which table, so a hint is only a fallback."""
    token_digest = digest(token)
    if token.startswith(ACCESS_TOKEN_PREFIX):
        return await env.store.find_access_token(token_digest)
    if token.startswith(REFRESH_TOKEN_PREFIX):
        return await env.store.find_refresh_token(token_digest)
    if hint == "refresh_token":
        return await env.store.find_refresh_token(token_digest)
    return await env.store.find_access_token(token_digest)


def _token(params: dict[str, str]) -> str:
    token = params.get("token")
    if not token:
        raise InvalidRequest("The 'token' parameter is required.")
    return token


async def revoke(params: dict[str, str], client_id: str, env: GrantEnv) -> None:
    """RFC 7009 §2.1: revoke one of the client's tokens; revoking a refresh token ends its
    family. Unknown tokens and other clients' tokens are ignored (§2.2: answer 200 anyway)."""
    record = await _lookup(_token(params), params.get("token_type_hint"), env)
    if record is None or record.client_id != client_id:
        return
    now = env.clock()
    if isinstance(record, RefreshTokenRecord):
        await env.store.revoke_family(record.family_id, now)
    else:
        await env.store.revoke_access_token(digest(_token(params)), client_id, now)


async def introspect(params: dict[str, str], client_id: str, env: GrantEnv) -> dict[str, Any]:
    """RFC 7662 §2.2: describe an active token of this client; anything else is inactive."""
    record = await _lookup(_token(params), params.get("token_type_hint"), env)
    if record is None or record.client_id != client_id or not record.is_active(env.clock()):
        return dict(INACTIVE)
    return {
        "active": True,
        "scope": record.scope,
        "client_id": record.client_id,
        "username": record.user.username,
        "token_type": "Bearer" if isinstance(record, AccessTokenRecord) else "refresh_token",
        "exp": int(record.expires_at.timestamp()),
        "iat": int(record.issued_at.timestamp()),
        "sub": record.user.id,
        "iss": env.settings.issuer,
    }
