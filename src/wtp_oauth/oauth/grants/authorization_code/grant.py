"""The authorization code grant at the token endpoint: RFC 6749 §4.1.3, RFC 7636 §4.5–4.6."""

from __future__ import annotations

from collections.abc import Mapping

from wtp_oauth.errors import InvalidGrant
from wtp_oauth.oauth.clients import ClientCheck
from wtp_oauth.oauth.context import OAuthContext
from wtp_oauth.oauth.extensions import oidc
from wtp_oauth.oauth.grants.authorization_code.rules import (
    CodeRequest,
    Replayed,
    code_refusal,
    raced,
)
from wtp_oauth.oauth.grants.authorization_code.storage import CodeRedemption
from wtp_oauth.oauth.params import required
from wtp_oauth.oauth.records import Checked, ClientRecord
from wtp_oauth.oauth.tokens import IssuedTokens, TokenResponse, new_tokens
from wtp_oauth.security import pkce
from wtp_oauth.security.tokens import digest


class AuthorizationCodeGrant:
    grant_type = "authorization_code"
    parameters: Mapping[str, str] = {
        "code": "The authorization code, or (the guide's dialect, with grand_type=refresh_token) "
        "the refresh token.",
        "redirect_uri": "The redirect_uri of the authorization request, if it sent one.",
        "code_verifier": "The PKCE verifier (RFC 7636), when the request had a challenge.",
    }

    def parse(self, params: Mapping[str, str]) -> CodeRequest:
        code = required(params, "code")
        verifier = params.get("code_verifier") or None
        if verifier is not None and not pkce.is_valid_verifier(verifier):
            raise InvalidGrant("The code_verifier is malformed (RFC 7636 §4.1).")
        return CodeRequest(code, params.get("redirect_uri") or None, verifier)

    async def redeem(
        self, request: CodeRequest, client: ClientCheck, ctx: OAuthContext
    ) -> Checked[tuple[CodeRedemption, IssuedTokens]]:
        """Authenticate the client, consume the code and store the tokens: one statement."""
        tokens = new_tokens(ctx.settings, ctx.clock())
        checked = await ctx.store.redeem_code(
            client=client,
            code_digest=digest(request.code),
            redirect_uri=request.redirect_uri,
            code_challenge=request.challenge,
            tokens=tokens.stored,
        )
        result = None if checked.result is None else (checked.result, tokens)
        return Checked(checked.client, result)

    async def respond(
        self,
        request: CodeRequest,
        client: ClientRecord,
        redeemed: tuple[CodeRedemption, IssuedTokens] | None,
        ctx: OAuthContext,
    ) -> TokenResponse:
        """Exchange a code for tokens, once (RFC 6749 §4.1.3, §10.5).

        ``redirect_uri`` is optional (the developer guide omits it) but must match when sent.
        When the code carries a PKCE challenge, ``code_verifier`` must answer it (RFC 7636
        §4.6); public clients always use PKCE. A code presented again revokes the tokens
        issued from it.
        """
        assert redeemed is not None  # the client held, so the statement answered
        redemption, tokens = redeemed
        if redemption.issued is not None:
            issued = redemption.issued
            return tokens.response(
                ctx.settings,
                issued.access_scope,
                refresh=issued.refresh_issued,
                extra=oidc.token_members(ctx, client, issued, tokens.access_token),
            )
        refusal = code_refusal(
            redemption.code,
            redirect_uri=request.redirect_uri,
            challenge=request.challenge,
            client=client,
            now=ctx.clock(),
        )
        if refusal is None and redemption.code is not None:
            refusal = raced(redemption.code)
        if isinstance(refusal, Replayed):
            await ctx.store.revoke_family(refusal.family_id, ctx.clock())
        raise refusal or InvalidGrant("The authorization code could not be used.")
