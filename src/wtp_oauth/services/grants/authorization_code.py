"""The authorization code grant at the token endpoint: RFC 6749 §4.1.3, RFC 7636 §4.5–4.6."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from wtp_oauth.errors import InvalidGrant
from wtp_oauth.repositories.token_store import ClientRecord
from wtp_oauth.security import pkce
from wtp_oauth.security.tokens import digest
from wtp_oauth.services.client_auth import client_check, verified
from wtp_oauth.services.grants.base import (
    ClientProof,
    GrantEnv,
    TokenResponse,
    checked_params,
    new_token_pair,
    required,
    respond,
)


@dataclass(frozen=True, slots=True)
class _CodeRequest:
    code: str
    redirect_uri: str | None
    verifier: str | None


def _parse(params: Mapping[str, str]) -> _CodeRequest:
    code = required(params, "code")
    verifier = params.get("code_verifier") or None
    if verifier is not None and not pkce.is_valid_verifier(verifier):
        raise InvalidGrant("The code_verifier is malformed (RFC 7636 §4.1).")
    return _CodeRequest(code, params.get("redirect_uri") or None, verifier)


class AuthorizationCodeGrant:
    grant_type = "authorization_code"

    async def issue(
        self, params: Mapping[str, str], client: ClientProof, env: GrantEnv
    ) -> TokenResponse:
        """Exchange a code for tokens, once (RFC 6749 §4.1.3, §10.5).

        ``redirect_uri`` is optional (the developer guide omits it) but must match when sent.
        When the code carries a PKCE challenge, ``code_verifier`` must answer it (RFC 7636
        §4.6); public clients always use PKCE. The client is authenticated, the code consumed
        and the tokens stored by one statement.
        """
        request = await checked_params(lambda: _parse(params), client, env)
        pair = new_token_pair(env)
        code_digest = digest(request.code)
        checked = await env.store.redeem_code(
            client=client_check(client, env),
            code_digest=code_digest,
            redirect_uri=request.redirect_uri,
            code_challenge=None if request.verifier is None else pkce.s256(request.verifier),
            tokens=pair.stored,
        )
        authenticated = await verified(client, checked, env)
        if checked.result is None:
            if request.verifier is None and authenticated.is_public:
                raise InvalidGrant("Public clients must send the code_verifier (PKCE).")
            await _explain(code_digest, authenticated, request, env)
        assert checked.result is not None
        return respond(pair, checked.result.access_scope, env)


async def _explain(
    code_digest: str, client: ClientRecord, request: _CodeRequest, env: GrantEnv
) -> None:
    """Say why a code was not redeemed; a replayed code revokes its tokens (§4.1.2)."""
    record = await env.store.find_code(code_digest)
    now = env.clock()
    if record is None or record.client_id != client.client_id:
        raise InvalidGrant("The authorization code is invalid or was issued to another client.")
    if record.consumed_at is not None:
        await env.store.revoke_family(record.family_id, now)
        raise InvalidGrant(
            "The authorization code was already used; tokens issued from it are revoked."
        )
    if record.expires_at <= now:
        raise InvalidGrant("The authorization code has expired.")
    if request.redirect_uri is not None and request.redirect_uri != record.redirect_uri:
        raise InvalidGrant("The redirect_uri does not match the authorization request.")
    if record.code_challenge is None:
        raise InvalidGrant("A code_verifier was sent but the authorization used no PKCE.")
    if request.verifier is None:
        raise InvalidGrant("The code_verifier is required: the authorization used PKCE.")
    raise InvalidGrant("The code_verifier does not match the code_challenge.")
