"""The authorization code grant's rules, as pure functions (RFC 6749 §4.1, RFC 7636, SPEC §5,
§17). Both databases' storage and the grant's explanations use these; PostgreSQL's redemption
statement is their SQL twin, so that one round trip can consume the code
(``storage/postgres/grants.py``; tests/services/test_rules_agree.py checks that they agree).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from wtp_oauth.errors import InvalidGrant, OAuthError
from wtp_oauth.oauth.records import ClientApplication, ClientRecord, CodeRecord
from wtp_oauth.security import pkce


@dataclass(frozen=True, slots=True)
class CodeRequest:
    """RFC 6749 §4.1.3's parameters, parsed."""

    code: str
    redirect_uri: str | None
    verifier: str | None

    @property
    def challenge(self) -> str | None:
        """The S256 challenge the verifier answers (RFC 7636 §4.6)."""
        return None if self.verifier is None else pkce.s256(self.verifier)


class Replayed(InvalidGrant):
    """A code (or refresh token) presented again: every token of its family is revoked
    (RFC 6749 §4.1.2, RFC 9700 §4.14.2), and that revocation stands although the request
    fails."""

    def __init__(self, description: str, family_id: str) -> None:
        super().__init__(description)
        self.family_id = family_id


def code_refusal(
    code: CodeRecord | None,
    *,
    redirect_uri: str | None,
    challenge: str | None,
    client: ClientRecord,
    now: datetime,
) -> OAuthError | None:
    """Why ``code`` cannot be redeemed by ``client`` at ``now`` with ``redirect_uri`` (None:
    not sent) and the S256 ``challenge`` of the verifier sent (None: none); None if it can.

    It can when it exists, was issued to this client, is unused and unexpired, was issued for
    ``redirect_uri`` when that is sent, and its PKCE challenge is answered: a code with a
    challenge needs the verifier, one without refuses a verifier, and a public client always
    needs PKCE.
    """
    if challenge is None and client.is_public:
        return InvalidGrant("Public clients must send the code_verifier (PKCE).")
    if code is None or code.client_id != client.client_id:
        return InvalidGrant("The authorization code is invalid or was issued to another client.")
    if code.consumed_at is not None:
        return Replayed(
            "The authorization code was already used; tokens issued from it are revoked.",
            code.family_id,
        )
    if code.expires_at <= now:
        return InvalidGrant("The authorization code has expired.")
    if redirect_uri is not None and redirect_uri != code.redirect_uri:
        return InvalidGrant("The redirect_uri does not match the authorization request.")
    if code.code_challenge is None:
        if challenge is not None:
            return InvalidGrant("A code_verifier was sent but the authorization used no PKCE.")
    elif challenge is None:
        return InvalidGrant("The code_verifier is required: the authorization used PKCE.")
    elif not hmac.compare_digest(challenge, code.code_challenge):
        return InvalidGrant("The code_verifier does not match the code_challenge.")
    return None


def raced(code: CodeRecord) -> Replayed:
    """A code that the rules allowed but that another request consumed at the same moment:
    a replay like any other."""
    return Replayed(
        "The authorization code was already used; tokens issued from it are revoked.",
        code.family_id,
    )


def consent_may_be_skipped(application: ClientApplication, redirect_uri: str) -> bool:
    """Whether a remembered consent may send a code without asking again (SPEC §17).

    A public client redirecting to a loopback or private-use URI cannot prove who it is
    (RFC 8252 §8.6): any local program can claim its ``client_id``, so it always gets the
    consent page. Confidential clients, and public ones redirecting to ``https``, may skip it
    (registered URIs are ``https``, loopback ``http`` or private-use: SPEC §4).
    """
    return not application.is_public or redirect_uri.startswith("https://")
