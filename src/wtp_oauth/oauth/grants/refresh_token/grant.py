"""The refresh token grant: RFC 6749 §6 with rotation and reuse detection (RFC 9700 §4.14.2)."""

from __future__ import annotations

from collections.abc import Mapping

from wtp_oauth.errors import InvalidGrant
from wtp_oauth.oauth.clients import ClientCheck
from wtp_oauth.oauth.context import OAuthContext
from wtp_oauth.oauth.extensions import oidc
from wtp_oauth.oauth.grants.authorization_code.rules import Replayed
from wtp_oauth.oauth.grants.refresh_token.rules import (
    RefreshRequest,
    explained,
    raced,
    refresh_refusal,
)
from wtp_oauth.oauth.grants.refresh_token.storage import Rotation
from wtp_oauth.oauth.params import required_or_alias
from wtp_oauth.oauth.records import Checked, ClientRecord
from wtp_oauth.oauth.tokens import IssuedTokens, TokenResponse, new_tokens
from wtp_oauth.scopes import format_scope, requested_scopes
from wtp_oauth.security.tokens import digest


class RefreshTokenGrant:
    grant_type = "refresh_token"
    parameters: Mapping[str, str] = {
        "refresh_token": "The refresh token (the guide's dialect sends it in 'code').",
        "scope": "A narrower scope for the new access token (RFC 6749 §6).",
    }

    def parse(self, params: Mapping[str, str]) -> RefreshRequest:
        # The token in ``refresh_token`` or, in the developer guide's way, in ``code``.
        token = required_or_alias(params, "refresh_token", "code")
        access_scope: str | None = None
        if params.get("scope"):
            access_scope = format_scope(requested_scopes([params["scope"]])) or None
        return RefreshRequest(token, access_scope)

    async def redeem(
        self, request: RefreshRequest, client: ClientCheck, ctx: OAuthContext
    ) -> Checked[tuple[Rotation, IssuedTokens]]:
        """Authenticate the client, retire the token and store the new pair: one statement."""
        tokens = new_tokens(ctx.settings, ctx.clock())
        checked = await ctx.store.rotate_refresh_token(
            client=client,
            token_digest=digest(request.token),
            access_scope=request.access_scope,
            tokens=tokens.stored,
        )
        result = None if checked.result is None else (checked.result, tokens)
        return Checked(checked.client, result)

    async def respond(
        self,
        request: RefreshRequest,
        client: ClientRecord,
        redeemed: tuple[Rotation, IssuedTokens] | None,
        ctx: OAuthContext,
    ) -> TokenResponse:
        """Rotate a refresh token into a new pair (RFC 6749 §6).

        ``scope`` may narrow the new access token but never widen it past the original grant;
        the new refresh token keeps the grant's scope. A retired token presented again
        revokes its whole family, and that revocation stands although the request fails.
        """
        assert redeemed is not None  # the client held, so the statement answered
        rotation, tokens = redeemed
        if rotation.issued is not None:
            issued = rotation.issued
            return tokens.response(
                ctx.settings,
                issued.access_scope,
                refresh=issued.refresh_issued,
                extra=oidc.token_members(ctx, client, issued, tokens.access_token),
            )
        refusal = refresh_refusal(
            rotation.token, access_scope=request.access_scope, client=client, now=ctx.clock()
        )
        if refusal is None and rotation.token is not None:
            refusal = raced(rotation.token)
        if isinstance(refusal, Replayed):
            await ctx.store.revoke_family(refusal.family_id, ctx.clock())
        raise explained(refusal or InvalidGrant("The refresh token could not be used."), request)
