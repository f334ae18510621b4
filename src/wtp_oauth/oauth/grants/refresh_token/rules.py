"""The refresh token grant's rules, as pure functions (RFC 6749 §6, RFC 9700 §4.14.2).

Both databases' storage and the grant's explanations use these; PostgreSQL's rotation
statement is their SQL twin (``storage/postgres/grants.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wtp_oauth.errors import InvalidGrant, InvalidScope, OAuthError
from wtp_oauth.oauth.grants.authorization_code.rules import Replayed
from wtp_oauth.oauth.grants.refresh_token.storage import StoredRefreshToken
from wtp_oauth.oauth.records import ClientRecord
from wtp_oauth.scopes import parse_scope
from wtp_oauth.security.tokens import ACCESS_TOKEN_PREFIX

_ALREADY_USED = "The refresh token was already used; every token of this grant is now revoked."


@dataclass(frozen=True, slots=True)
class RefreshRequest:
    """RFC 6749 §6's parameters, parsed."""

    token: str
    # The narrower scope asked for the new access token (None: the grant's).
    access_scope: str | None


def refresh_refusal(
    token: StoredRefreshToken | None,
    *,
    access_scope: str | None,
    client: ClientRecord,
    now: datetime,
) -> OAuthError | None:
    """Why ``token`` cannot be rotated by ``client`` at ``now`` into an access token of
    ``access_scope`` (None: the grant's); None if it can.

    It can when it exists, was issued to this client, was neither rotated nor revoked, has
    not expired, and ``access_scope`` lies within the grant's. A rotated token presented again
    is a replay (:class:`Replayed`).
    """
    if token is None or token.client_id != client.client_id:
        return InvalidGrant("The refresh token is invalid or was issued to another client.")
    if token.rotated_at is not None and token.revoked_at is None:
        return Replayed(_ALREADY_USED, token.family_id)
    if token.revoked_at is not None or token.rotated_at is not None:
        return InvalidGrant("The refresh token has been revoked.")
    if token.expires_at <= now:
        return InvalidGrant("The refresh token has expired.")
    if access_scope is not None and not parse_scope(access_scope) <= parse_scope(token.scope):
        return InvalidScope("The requested scope exceeds the scope originally granted.")
    return None


def explained(refusal: OAuthError, request: RefreshRequest) -> OAuthError:
    """``refusal``, in words that help a developer who followed the guide's wording (it says
    to refresh with "an access token instead of a code")."""
    unknown = refusal.description.startswith("The refresh token is invalid")
    if unknown and request.token.startswith(ACCESS_TOKEN_PREFIX):
        return InvalidGrant(
            "That is an access token; send the refresh_token from the same response."
        )
    return refusal


def raced(token: StoredRefreshToken) -> Replayed:
    """A token the rules allowed but that another request rotated at the same moment."""
    return Replayed(_ALREADY_USED, token.family_id)
