"""User passwords: argon2 through passlib's API (installed as ``libpass``)."""

from __future__ import annotations

from passlib.context import CryptContext

_context = CryptContext(schemes=["argon2"], deprecated="auto")

# Verified against when the username is unknown, so that both answers cost the same.
_DUMMY_HASH = _context.hash("not-a-real-password-only-burns-time")


def hash_password(password: str) -> str:
    return str(_context.hash(password))


def verify_password(password: str, password_hash: str | None) -> bool:
    """True if ``password`` matches; with no hash, burn the same time and say False."""
    if password_hash is None:
        _context.verify(password, _DUMMY_HASH)
        return False
    try:
        return bool(_context.verify(password, password_hash))
    except ValueError:
        return False
