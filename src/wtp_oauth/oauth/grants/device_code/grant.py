"""The device code grant at the token endpoint (RFC 8628 §3.4–3.5): thin glue.

The client is authenticated first; one storage call polls the code (and, once the user has
allowed it, redeems it and stores the tokens, atomically); ``rules`` say what the poll came to.
"""

from __future__ import annotations

from collections.abc import Mapping

from wtp_oauth.oauth.grants.device_code import rules
from wtp_oauth.security.tokens import digest
from wtp_oauth.services.client_auth import authenticate_client
from wtp_oauth.services.grants.base import (
    ClientProof,
    GrantEnv,
    TokenResponse,
    new_token_pair,
    required,
    respond,
)


class DeviceCodeGrant:
    grant_type = rules.GRANT_TYPE

    async def issue(
        self, params: Mapping[str, str], client: ClientProof, env: GrantEnv
    ) -> TokenResponse:
        """Poll with ``device_code`` (RFC 8628 §3.4): the usual access and refresh tokens, once,
        after the user allowed the request; until then ``authorization_pending`` or
        ``slow_down``, then ``access_denied`` or ``expired_token`` (§3.5). A code presented
        again after it was redeemed revokes the tokens it gave (RFC 6749 §4.1.2's rule for a
        replayed code), and that revocation stands although the request fails.
        """
        authenticated = await authenticate_client(client, env)
        device_code = required(params, "device_code")
        rules.check_resource(params.get("resource") or None, env.settings.issuer)
        rules.check_grant_enabled(await env.device_codes.grant_types(authenticated.client_id))
        pair = new_token_pair(env)
        now = pair.stored.issued_at
        polled = await env.device_codes.poll(
            device_code_digest=digest(device_code),
            client_id=authenticated.client_id,
            now=now,
            tokens=pair.stored,
        )
        poll = rules.outcome(polled, authenticated.client_id, now)
        if poll is rules.Poll.ISSUED:
            assert polled.seen is not None
            return respond(pair, polled.seen.scope, env)
        if poll is rules.Poll.REPLAYED and polled.seen is not None:
            await env.store.revoke_family(polled.seen.family_id, now)
        raise rules.refusal(poll, polled.seen)
