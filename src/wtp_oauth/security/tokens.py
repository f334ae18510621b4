"""Random secrets and their digests.

Codes, tokens and client secrets carry 256 bits of randomness, so a single SHA-256 is the right
digest to store (STYLE §4): a database leak yields nothing usable, and checking one costs
microseconds, which keeps the token endpoint fast.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ACCESS_TOKEN_PREFIX = "wtpa_"
REFRESH_TOKEN_PREFIX = "wtpr_"
CLIENT_SECRET_PREFIX = "wtps_"
SESSION_PREFIX = "wtpsess_"


def new_secret(prefix: str = "") -> str:
    """A fresh secret of 256 random bits, URL-safe, behind a recognisable prefix."""
    return prefix + secrets.token_urlsafe(32)


def new_id(nbytes: int = 16) -> str:
    """An opaque identifier (not a secret)."""
    return secrets.token_hex(nbytes)


def new_client_id() -> str:
    return secrets.token_hex(12)


def digest(secret: str) -> str:
    """The SHA-256 hex digest under which a secret is stored and looked up."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def matches_digest(secret: str, stored_digest: str | None) -> bool:
    """Constant-time check of a presented secret against a stored digest."""
    if stored_digest is None:
        return False
    return hmac.compare_digest(digest(secret), stored_digest)


def session_digest(token: str | None) -> str | None:
    """The digest a session cookie's value is stored under; None for no cookie, or for a value
    too long to be one this server set."""
    if not token or len(token) > 200:
        return None
    return digest(token)
