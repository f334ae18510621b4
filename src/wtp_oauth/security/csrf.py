"""CSRF tokens: an HMAC of what the token is bound to (a session, or a pre-session cookie)."""

from __future__ import annotations

import hashlib
import hmac


def csrf_token(secret_key: str, binding: str) -> str:
    """The token a form must echo; only the holder of ``binding`` can obtain it."""
    mac = hmac.new(secret_key.encode(), b"csrf:" + binding.encode(), hashlib.sha256)
    return mac.hexdigest()


def verify_csrf_token(secret_key: str, binding: str | None, token: str | None) -> bool:
    if not binding or not token:
        return False
    return hmac.compare_digest(csrf_token(secret_key, binding), token)
