"""The device code grant at the token endpoint (RFC 8628 §3.4–3.5): thin glue.

The token endpoint has authenticated the client (and checked that it enabled this grant) when
:meth:`DeviceCodeGrant.respond` runs; one storage call polls the code (and, once the user has
allowed it, redeems it and stores the tokens, atomically); ``rules`` say what the poll came to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from wtp_oauth.oauth.context import OAuthContext
from wtp_oauth.oauth.grants.base import LookupGrant
from wtp_oauth.oauth.grants.device_code import rules
from wtp_oauth.oauth.params import required
from wtp_oauth.oauth.records import ClientRecord
from wtp_oauth.oauth.tokens import TokenResponse, new_tokens
from wtp_oauth.security.tokens import digest


@dataclass(frozen=True, slots=True)
class DeviceCodeRequest:
    """RFC 8628 §3.4's parameters."""

    device_code: str
    resource: str | None


class DeviceCodeGrant(LookupGrant):
    grant_type = rules.GRANT_TYPE
    parameters: Mapping[str, str] = {
        "device_code": "RFC 8628: the device code to poll with.",
        "resource": "RFC 8707: the API the token is for (only the user API so far).",
    }

    def parse(self, params: Mapping[str, str]) -> DeviceCodeRequest:
        return DeviceCodeRequest(required(params, "device_code"), params.get("resource") or None)

    async def respond(
        self,
        request: DeviceCodeRequest,
        client: ClientRecord,
        redeemed: None,
        ctx: OAuthContext,
    ) -> TokenResponse:
        """Poll with ``device_code`` (RFC 8628 §3.4): the usual access and refresh tokens, once,
        after the user allowed the request; until then ``authorization_pending`` or
        ``slow_down``, then ``access_denied`` or ``expired_token`` (§3.5). A code presented
        again after it was redeemed revokes the tokens it gave (RFC 6749 §4.1.2's rule for a
        replayed code), and that revocation stands although the request fails.
        """
        rules.check_resource(request.resource, ctx.settings.issuer)
        tokens = new_tokens(ctx.settings, ctx.clock())
        now = tokens.stored.issued_at
        polled = await ctx.device_codes.poll(
            device_code_digest=digest(request.device_code),
            client_id=client.client_id,
            now=now,
            tokens=tokens.stored,
        )
        poll = rules.outcome(polled, client.client_id, now)
        if poll is rules.Poll.ISSUED:
            assert polled.seen is not None
            return tokens.response(ctx.settings, polled.seen.scope, refresh=True)
        if poll is rules.Poll.REPLAYED and polled.seen is not None:
            await ctx.store.revoke_family(polled.seen.family_id, now)
        raise rules.refusal(poll, polled.seen)
