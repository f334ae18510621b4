"""The token endpoint (RFC 6749 §3.2): pick the grant, authenticate the client, issue."""

from __future__ import annotations

from collections.abc import Mapping

from wtp_oauth.errors import UnsupportedGrantType
from wtp_oauth.services.client_auth import ClientCredentials, authenticate_client
from wtp_oauth.services.grants import GRANTS, GrantEnv, TokenResponse
from wtp_oauth.services.grants.base import required_or_alias


def grant_type_of(params: Mapping[str, str]) -> str:
    """``grant_type``, or the developer guide's ``grand_type``; both and different is an error."""
    return required_or_alias(params, "grant_type", "grand_type")


async def exchange(
    params: Mapping[str, str], credentials: ClientCredentials, env: GrantEnv
) -> TokenResponse:
    """Handle one token request (RFC 6749 §4.1.3, §6).

    The grant authenticates the client itself, in the statement that redeems the grant (one
    round trip); an unknown grant type is reported only to an authenticated client.
    """
    grant_type = grant_type_of(params)
    handler = GRANTS.get(grant_type)
    if handler is None:
        await authenticate_client(credentials, env)
        raise UnsupportedGrantType(f"Supported grant types: {', '.join(sorted(GRANTS))}.")
    return await handler.issue(params, credentials, env)
