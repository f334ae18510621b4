"""Revocation (RFC 7009) and introspection (RFC 7662) of a client's own tokens.

Each request is one statement: the client's authentication and the token's lookup (or
revocation) together, the client's credentials verified as at the token endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wtp_oauth.errors import InvalidRequest
from wtp_oauth.repositories.token_store import AccessTokenRecord
from wtp_oauth.security.tokens import ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, digest
from wtp_oauth.services.client_auth import (
    ClientCredentials,
    authenticate_client,
    client_check,
    verified,
)
from wtp_oauth.services.grants import GrantEnv

INACTIVE: dict[str, Any] = {"active": False}


def _is_refresh(token: str, hint: str | None) -> bool:
    """Which table to look in: the prefix says; the hint is only a fallback (RFC 7009 §2.1)."""
    if token.startswith(ACCESS_TOKEN_PREFIX):
        return False
    if token.startswith(REFRESH_TOKEN_PREFIX):
        return True
    return hint == "refresh_token"


async def _token(params: Mapping[str, str], credentials: ClientCredentials, env: GrantEnv) -> str:
    """The ``token`` parameter; without it, a client that fails to authenticate hears that."""
    token = params.get("token")
    if not token:
        await authenticate_client(credentials, env)
        raise InvalidRequest("The 'token' parameter is required.")
    return token


async def revoke(params: Mapping[str, str], credentials: ClientCredentials, env: GrantEnv) -> None:
    """RFC 7009 §2.1: revoke one of the client's tokens; revoking a refresh token ends its
    family. Unknown tokens and other clients' tokens are ignored (§2.2: answer 200 anyway)."""
    token = await _token(params, credentials, env)
    checked = await env.store.revoke_token(
        client=client_check(credentials, env),
        token_digest=digest(token),
        refresh=_is_refresh(token, params.get("token_type_hint")),
        now=env.clock(),
    )
    await verified(credentials, checked, env)


async def introspect(
    params: Mapping[str, str], credentials: ClientCredentials, env: GrantEnv
) -> dict[str, Any]:
    """RFC 7662 §2.2: describe an active token of this client; anything else is inactive."""
    token = await _token(params, credentials, env)
    checked = await env.store.introspect_token(
        client=client_check(credentials, env),
        token_digest=digest(token),
        refresh=_is_refresh(token, params.get("token_type_hint")),
    )
    client = await verified(credentials, checked, env)
    record = checked.result
    if record is None or record.client_id != client.client_id or not record.is_active(env.clock()):
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
