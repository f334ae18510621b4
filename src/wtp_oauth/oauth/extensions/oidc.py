"""OpenID Connect on top of the code and refresh grants (Core 1.0 §2, §3.1.3.6, §5, §12).

The grants ask :func:`token_members` for what to add to a token response: an ``id_token`` when
the granted scope has ``openid``. The claims come from the code's row (or the refresh token's,
which carries the sign-in's ``auth_time`` and ``sid`` through every rotation) and the user's,
read by the grant's own statement. No I/O here but the signature.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from wtp_oauth.errors import InvalidRequest, RequestNotSupported, RequestUriNotSupported
from wtp_oauth.oauth.context import OAuthContext
from wtp_oauth.oauth.keys import ALGORITHMS, KeyRing
from wtp_oauth.oauth.records import ClientRecord, Issued, SignedInSession, UserProfile
from wtp_oauth.scopes import parse_scope
from wtp_oauth.security.text import has_control

OPENID = "openid"

#: The claims each OpenID scope releases (Core §5.4), besides ``sub``.
SCOPE_CLAIMS: Mapping[str, tuple[str, ...]] = {
    "profile": ("name", "preferred_username", "updated_at"),
    "email": ("email", "email_verified"),
}

#: Discovery's ``claims_supported``: the ID token's own claims and the scopes' claims.
CLAIMS_SUPPORTED: tuple[str, ...] = (
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "sid",
    *(claim for claims in SCOPE_CLAIMS.values() for claim in claims),
)

#: Longest ``nonce`` accepted (it is stored with the code and echoed in the ID token).
MAX_NONCE = 1000
_MAX_LOGIN_HINT = 320


def _seconds(moment: datetime) -> int:
    """NumericDate (RFC 7519 §2): whole seconds since the epoch."""
    return int(moment.timestamp())


def user_claims(user: UserProfile, scope: frozenset[str]) -> dict[str, Any]:
    """``sub`` and the claims ``scope`` allows (Core §5.1, §5.4), for ID tokens and UserInfo.

    ``sub`` is the user's id: stable and opaque, never the username (SPEC §12). Email
    addresses are not verified yet, so ``email_verified`` is false.
    """
    claims: dict[str, Any] = {"sub": user.id}
    if "profile" in scope:
        claims["name"] = user.display_name
        claims["preferred_username"] = user.username
        claims["updated_at"] = _seconds(user.updated_at or user.created_at)
    if "email" in scope:
        claims["email"] = user.email
        claims["email_verified"] = False
    return claims


def at_hash(access_token: str, alg: str) -> str:
    """Core §3.1.3.6: the left half of the access token's hash, base64url without padding.

    ES256 and RS256 both hash with SHA-256.
    """
    assert alg in ALGORITHMS
    half = hashlib.sha256(access_token.encode("ascii")).digest()[:16]
    return base64.urlsafe_b64encode(half).rstrip(b"=").decode("ascii")


def id_token(
    ctx: OAuthContext, client: ClientRecord, issued: Issued, access_token: str, now: datetime
) -> str:
    """A signed ID token for what ``issued`` carries (Core §2, §3.1.3.6; SPEC §12).

    ``nonce`` only when the authorization request sent one (never on a refresh, Core §12.2);
    ``auth_time`` and ``sid`` from the browser session the user signed in with.
    """
    assert issued.user is not None
    alg = client.id_token_alg if client.id_token_alg in ALGORITHMS else ALGORITHMS[0]
    claims: dict[str, Any] = {
        "iss": ctx.settings.issuer,
        **user_claims(issued.user, parse_scope(issued.scope)),
        "aud": client.client_id,
        "iat": _seconds(now),
        "exp": _seconds(now + timedelta(seconds=ctx.settings.id_token_ttl)),
    }
    if issued.auth_time is not None:
        claims["auth_time"] = _seconds(issued.auth_time)
    if issued.nonce is not None:
        claims["nonce"] = issued.nonce
    claims["at_hash"] = at_hash(access_token, alg)
    if issued.sid is not None:
        claims["sid"] = issued.sid
    return ctx.keys.sign(claims, alg, now)


def token_members(
    ctx: OAuthContext, client: ClientRecord, issued: Issued, access_token: str
) -> Mapping[str, Any]:
    """What OpenID Connect adds to a token response: ``id_token`` when the granted scope has
    ``openid`` (Core §3.1.3.3, §12.2), nothing otherwise."""
    if OPENID not in parse_scope(issued.scope) or issued.user is None:
        return {}
    return {"id_token": id_token(ctx, client, issued, access_token, ctx.clock())}


def checked_nonce(nonce: str | None) -> str | None:
    """The authorization request's ``nonce`` (Core §3.1.2.1), kept exactly as sent."""
    if nonce is None:
        return None
    if not nonce or len(nonce) > MAX_NONCE or has_control(nonce):
        raise InvalidRequest(f"nonce must be 1 to {MAX_NONCE} visible characters.")
    return nonce


def checked_max_age(value: str | None) -> int | None:
    """``max_age`` (Core §3.1.2.1): whole seconds, 0 or more."""
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        raise InvalidRequest("max_age must be a whole number of seconds.")
    return int(value)


def hinted_subject(keys: KeyRing | None, hint: str, issuer: str, now: datetime) -> str:
    """The ``sub`` of an ``id_token_hint`` this server issued (Core §3.1.2.1): its signature
    must hold; it may have expired."""
    claims = None if keys is None or len(hint) > 8192 else keys.verified_claims(hint, now)
    if claims is None or claims.get("iss") != issuer or not isinstance(claims.get("sub"), str):
        raise InvalidRequest("id_token_hint is not an ID token issued by this server.")
    subject: str = claims["sub"]
    return subject


@dataclass(frozen=True, slots=True)
class OpenIDParameters:
    """OpenID Connect Core §3.1.2.1's parameters of an authorization request, checked."""

    nonce: str | None
    max_age: int | None
    login_hint: str | None
    id_token_hint: str | None


def openid_parameters(single: Callable[[str], str | None]) -> OpenIDParameters:
    """Core §3.1.2.1's parameters of a request whose parameter ``name`` is ``single(name)``,
    or an ``OAuthError`` to redirect.

    ``display``, ``ui_locales``, ``claims_locales``, ``acr_values`` and unknown parameters are
    ignored; request objects are not supported (§6.1, §6.2), and answers go in the query only.
    """
    if single("request") is not None:
        raise RequestNotSupported("Request objects ('request') are not supported.")
    if single("request_uri") is not None:
        raise RequestUriNotSupported("Request objects by reference are not supported.")
    response_mode = single("response_mode")
    if response_mode is not None and response_mode != "query":
        raise InvalidRequest("response_mode must be query.")
    login_hint = single("login_hint")
    if login_hint is not None and (len(login_hint) > _MAX_LOGIN_HINT or has_control(login_hint)):
        login_hint = None  # only a hint: one that cannot be a username is dropped
    return OpenIDParameters(
        nonce=checked_nonce(single("nonce")),
        max_age=checked_max_age(single("max_age")),
        login_hint=login_hint or None,
        id_token_hint=single("id_token_hint") or None,
    )


def sign_in_needed(
    *,
    prompt: frozenset[str],
    max_age: int | None,
    hinted_subject: str | None,
    session: SignedInSession | None,
    now: datetime,
) -> str | None:
    """Why the user must sign in (again) before a code is issued, or None (SPEC §5, §12; Core
    §3.1.2.1): nobody is signed in, ``prompt=login``, the sign-in is older than ``max_age``
    seconds, or an ``id_token_hint`` names another user."""
    if session is None:
        return "The user is not signed in."
    if "login" in prompt:
        return "The user must sign in again."
    if max_age is not None:
        auth_time = session.auth_time
        age = None if auth_time is None else (now - auth_time).total_seconds()
        if age is None or age > max_age:
            return "The user signed in longer ago than max_age allows."
    if hinted_subject is not None and hinted_subject != session.user.id:
        return "The signed-in user is not the one id_token_hint names."
    return None
