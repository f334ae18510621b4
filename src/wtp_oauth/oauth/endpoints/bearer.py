"""Bearer token checks for the user API (RFC 6750)."""

from __future__ import annotations

from wtp_oauth.errors import InsufficientScope, InvalidToken, OAuthError
from wtp_oauth.oauth.context import OAuthContext
from wtp_oauth.oauth.records import AccessTokenRecord, UserProfile
from wtp_oauth.scopes import parse_scope
from wtp_oauth.security.tokens import ACCESS_TOKEN_PREFIX, digest

REALM = "wtp-oauth"


class MissingToken(OAuthError):
    """RFC 6750 §3.1: no credentials at all; the challenge carries no error code."""

    error = ""
    status_code = 401


def access_token_from(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header (RFC 6750 §2.1), the only place read."""
    if not authorization:
        raise MissingToken("An access token is required.")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise InvalidToken("Send the access token as 'Authorization: Bearer <token>'.")
    return token


async def authenticate(
    authorization: str | None, scope: str, ctx: OAuthContext
) -> AccessTokenRecord:
    """The active access token of this request, holding ``scope`` (RFC 6750 §3.1)."""
    token = access_token_from(authorization)
    record = None
    if token.startswith(ACCESS_TOKEN_PREFIX) and len(token) <= 200:
        record = await ctx.store.find_access_token(digest(token))
    if record is None or not record.is_active(ctx.clock()):
        raise InvalidToken("The access token is invalid, expired or revoked.")
    # A client's own token (SPEC §13): the user API speaks only for users.
    user_of(record)
    if scope not in parse_scope(record.scope):
        raise InsufficientScope(scope)
    return record


def user_of(token: AccessTokenRecord) -> UserProfile:
    """The user a token from :func:`authenticate` speaks for (it refuses clients' tokens)."""
    if token.user is None:
        raise InvalidToken("This access token was issued to a client, not for a user.")
    return token.user


def resource_metadata_url(issuer: str) -> str:
    """RFC 9728 §3: where the user API describes itself."""
    return f"{issuer}/.well-known/oauth-protected-resource/api"


def challenge(error: OAuthError, issuer: str | None = None) -> str:
    """The ``WWW-Authenticate`` value for a failed bearer check (RFC 6750 §3), pointing at the
    protected resource's metadata (RFC 9728 §5.1) when ``issuer`` is given."""
    parts = [f'realm="{REALM}"']
    if error.error:
        parts.append(f'error="{error.error}"')
        if error.description:
            parts.append(f'error_description="{error.description}"')
    if isinstance(error, InsufficientScope):
        parts.append(f'scope="{error.scope}"')
    if issuer is not None:
        parts.append(f'resource_metadata="{resource_metadata_url(issuer)}"')
    return "Bearer " + ", ".join(parts)
