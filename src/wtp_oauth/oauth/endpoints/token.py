"""The token endpoint (RFC 6749 §3.2): pick the grant, authenticate the client once, issue."""

from __future__ import annotations

from collections.abc import Mapping

from wtp_oauth.errors import OAuthError, UnsupportedGrantType
from wtp_oauth.oauth.clients import ClientCredentials, authenticate, authenticated, client_check
from wtp_oauth.oauth.context import OAuthContext
from wtp_oauth.oauth.params import grant_type_of
from wtp_oauth.oauth.registry import GRANTS_BY_TYPE
from wtp_oauth.oauth.tokens import TokenResponse


async def exchange(
    params: Mapping[str, str], credentials: ClientCredentials, address: str, ctx: OAuthContext
) -> TokenResponse:
    """Handle one token request from ``address`` (RFC 6749 §4.1.3, §6; SPEC §6, §11).

    The client is authenticated once, from the answer of the grant's own storage call, which
    changes nothing unless that authentication holds (one round trip); the grant then
    answers for the authenticated client. A client that fails to authenticate hears that
    before anything about its parameters, and an unknown or disabled grant type is reported
    only to an authenticated client.
    """
    grant_type = grant_type_of(params)
    check = client_check(credentials, ctx, address)
    grant = GRANTS_BY_TYPE.get(grant_type)
    if grant is None:
        await authenticate(check, ctx)
        raise UnsupportedGrantType(f"Supported grant types: {', '.join(sorted(GRANTS_BY_TYPE))}.")
    check = check.for_grant(grant.grant_type)
    try:
        request = grant.parse(params)
    except OAuthError:
        await authenticate(check, ctx)
        raise
    redeemed = await grant.redeem(request, check, ctx)
    client = await authenticated(check, redeemed.client, ctx)
    return await grant.respond(request, client, redeemed.result, ctx)
