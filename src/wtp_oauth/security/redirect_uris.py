"""Redirect URI rules (SPEC §4; RFC 6749 §3.1.2, RFC 8252 §7, RFC 9700 §4.1.3)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
# RFC 8252 §7.1: a reverse-domain private-use scheme, such as com.example.app.
_PRIVATE_SCHEME = re.compile(r"[a-z][a-z0-9+\-]*(\.[a-z0-9+\-]+)+")
MAX_LENGTH = 2000
# ``next`` carries a whole authorization request back from /login: room for a ``state`` and a
# ``redirect_uri`` of MAX_LENGTH each, percent-encoded.
MAX_NEXT_LENGTH = 8192


class RedirectURIError(ValueError):
    """A redirect URI that may not be registered; the message says why."""


def _netloc_host(netloc: str) -> str:
    host = netloc.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[: host.find("]") + 1].lower()
    return host.split(":", 1)[0].lower()


def validate_registration(uri: str, *, public_client: bool) -> str:
    """Check a URI an application wants to register and return it unchanged.

    Absolute, no fragment, no wildcard, no userinfo; ``https``, or ``http`` on a loopback
    host; private-use schemes only for public (native) clients.
    """
    if not uri or len(uri) > MAX_LENGTH:
        raise RedirectURIError("must be an absolute URI of at most 2000 characters")
    if any(ch.isspace() or ord(ch) < 0x21 or ord(ch) == 0x7F for ch in uri):
        raise RedirectURIError("must not contain spaces or control characters")
    if "*" in uri:
        raise RedirectURIError("must not contain wildcards")
    if "#" in uri:
        raise RedirectURIError("must not contain a fragment (RFC 6749 §3.1.2)")
    try:
        parts = urlsplit(uri)
        port = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise RedirectURIError("is not a valid URI") from exc
    scheme = parts.scheme
    if not scheme:
        raise RedirectURIError("must be absolute (include a scheme)")
    if scheme in {"http", "https"}:
        if not parts.hostname:
            raise RedirectURIError("must name a host")
        if "@" in parts.netloc:
            raise RedirectURIError("must not contain user information")
        host = _netloc_host(parts.netloc)
        if scheme == "http" and host not in LOOPBACK_HOSTS:
            raise RedirectURIError("must use https (http is allowed only on a loopback host)")
        if port == 0:
            raise RedirectURIError("must not use port 0")
        return uri
    if scheme in {"javascript", "data", "file", "vbscript", "about", "blob"}:
        raise RedirectURIError(f"must not use the {scheme}: scheme")
    if not public_client:
        raise RedirectURIError("private-use URI schemes are only for public clients")
    if _PRIVATE_SCHEME.fullmatch(scheme) is None:
        raise RedirectURIError(
            "a private-use scheme must be a reverse domain name such as com.example.app"
        )
    return uri


def _without_port(uri: str) -> tuple[str, str, str, str, str] | None:
    parts = urlsplit(uri)
    if parts.scheme != "http" or "@" in parts.netloc:
        return None
    host = _netloc_host(parts.netloc)
    if host not in LOOPBACK_HOSTS:
        return None
    _ = parts.port  # a malformed port raises ValueError
    return parts.scheme, host, parts.path, parts.query, parts.fragment


def matches_registered(requested: str, registered: list[str]) -> bool:
    """Exact string match (RFC 9700 §4.1.3); a loopback ``http`` URI may use any port.

    RFC 8252 §7.3: native apps listen on an ephemeral port, so only the port may differ.
    A fragment, even an empty one, never matches (RFC 6749 §3.1.2).
    """
    if requested in registered:
        return True
    if "#" in requested:
        return False
    try:
        wanted = _without_port(requested)
    except ValueError:
        return False
    if wanted is None:
        return False
    for candidate in registered:
        try:
            if _without_port(candidate) == wanted:
                return True
        except ValueError:
            continue
    return False


def safe_next_path(value: str | None, default: str = "/") -> str:
    """``next`` only if it is a path on this server: one leading ``/``, never ``//`` or ``/\\``."""
    if not value or len(value) > MAX_NEXT_LENGTH or not value.startswith("/"):
        return default
    if value.startswith(("//", "/\\")) or "\\" in value:
        return default
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return default
    return value
