"""The refresh token grant: RFC 6749 §6 with rotation and reuse detection (RFC 9700 §4.14.2)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from wtp_oauth.errors import InvalidGrant, InvalidScope
from wtp_oauth.repositories.token_store import ClientRecord
from wtp_oauth.scopes import format_scope, parse_scope, requested_scopes
from wtp_oauth.security.tokens import digest
from wtp_oauth.services.client_auth import client_check, verified
from wtp_oauth.services.grants.base import (
    ClientProof,
    GrantEnv,
    TokenResponse,
    checked_params,
    new_token_pair,
    required_or_alias,
    respond,
)


@dataclass(frozen=True, slots=True)
class _RefreshRequest:
    token: str
    access_scope: str | None


def _presented_token(params: Mapping[str, str]) -> str:
    """The refresh token, from ``refresh_token`` or, in the developer guide's way, ``code``."""
    return required_or_alias(params, "refresh_token", "code")


def _parse(params: Mapping[str, str]) -> _RefreshRequest:
    token = _presented_token(params)
    access_scope: str | None = None
    if params.get("scope"):
        access_scope = format_scope(requested_scopes([params["scope"]])) or None
    return _RefreshRequest(token, access_scope)


class RefreshTokenGrant:
    grant_type = "refresh_token"

    async def issue(
        self, params: Mapping[str, str], client: ClientProof, env: GrantEnv
    ) -> TokenResponse:
        """Rotate a refresh token into a new pair (RFC 6749 §6).

        ``scope`` may narrow the new access token but never widen it past the original grant;
        the new refresh token keeps the grant's scope. A retired token presented again
        revokes its whole family, and that revocation stands although the request fails.
        The client is authenticated, the token retired and the new pair stored by one
        statement.
        """
        request = await checked_params(lambda: _parse(params), client, env)
        pair = new_token_pair(env)
        token_digest = digest(request.token)
        checked = await env.store.rotate_refresh_token(
            client=client_check(client, env),
            token_digest=token_digest,
            access_scope=request.access_scope,
            tokens=pair.stored,
        )
        authenticated = await verified(client, checked, env)
        if checked.result is None:
            await _explain(token_digest, authenticated, request.access_scope, env)
        assert checked.result is not None
        return respond(pair, checked.result.access_scope, env)


async def _explain(
    token_digest: str, client: ClientRecord, access_scope: str | None, env: GrantEnv
) -> None:
    record = await env.store.find_refresh_token(token_digest)
    now = env.clock()
    if record is None or record.client_id != client.client_id:
        raise InvalidGrant("The refresh token is invalid or was issued to another client.")
    if record.rotated_at is not None and record.revoked_at is None:
        await env.store.revoke_family(record.family_id, now)
        raise InvalidGrant(
            "The refresh token was already used; every token of this grant is now revoked."
        )
    if record.revoked_at is not None or record.rotated_at is not None:
        raise InvalidGrant("The refresh token has been revoked.")
    if record.expires_at <= now:
        raise InvalidGrant("The refresh token has expired.")
    if access_scope is not None and not parse_scope(access_scope) <= parse_scope(record.scope):
        raise InvalidScope("The requested scope exceeds the scope originally granted.")
    raise InvalidGrant("The refresh token could not be used.")
