"""Pure ASGI middleware (``BaseHTTPMiddleware`` costs 10–15 % a request: PITFALLS)."""

from __future__ import annotations

import ipaddress
import json
import re
from functools import lru_cache
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# RFC 9700 §4.16 (clickjacking), §4.2.4 (referrer leaks); SPEC §5.
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    ),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
]


class SecurityHeaders:
    """Adds the security headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _refuse(send: Send, status: int, detail: str, *extra: tuple[bytes, bytes]) -> None:
    """FastAPI's ``{"detail": …}``, from a layer in front of FastAPI."""
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# RFC 9112 §3.2 / RFC 3986 §3.2.2, §3.2.3: Host = uri-host [ ":" port ]; an "http" URI's host
# is never empty (RFC 9110 §4.2.1). IPv4 addresses are reg-names as far as syntax goes.
_REG_NAME = re.compile(rb"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+")
_HOST = re.compile(rb"(?P<host>\[[^\]]*\]|[^:]*)(?::(?P<port>[0-9]*))?")
_HOST_VERSIONS = ("1.1",)  # HTTP/1.0 may leave Host out; HTTP/2 and 3 carry :authority


@lru_cache(maxsize=256)  # a server sees few distinct hosts; this runs on every request
def valid_host(value: bytes) -> bool:
    """Whether ``value`` is a Host field value for an "http" or "https" URI."""
    match = _HOST.fullmatch(value)
    if match is None or len(match["port"] or b"") > 5:
        return False
    host = match["host"]
    if host.startswith(b"["):
        try:
            ipaddress.IPv6Address(host[1:-1].decode("ascii"))
        except ValueError:
            return False
        return True
    return _REG_NAME.fullmatch(host) is not None


class RequireHost:
    """RFC 9112 §3.2: 400 to a request without exactly one valid ``Host`` (HTTP/1.1 must send
    one; none may send two or an invalid one), before anything reads the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            hosts, host = 0, b""
            for name, value in scope["headers"]:
                if name == b"host":
                    hosts, host = hosts + 1, value
            if hosts > 1 or (hosts == 1 and not valid_host(host)):
                await _refuse(send, 400, "Send exactly one Host header, with a valid host name.")
                return
            if hosts == 0 and scope.get("http_version", "1.1") in _HOST_VERSIONS:
                await _refuse(send, 400, "An HTTP/1.1 request needs a Host header.")
                return
        await self.app(scope, receive, send)


_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The OAuth endpoints authenticate clients (RFC 6749 §2.3), never the session cookie.
_CLIENT_AUTHENTICATED = ("/api/oauth/", "/api/token")
_SAME_ORIGIN_FETCHES = (b"same-origin", b"none")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def web_origin(url: str) -> bytes:
    """RFC 6454 §6.1: a URL's origin as a browser serialises it in ``Origin``."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    suffix = f":{port}" if port is not None and port != _DEFAULT_PORTS.get(scheme) else ""
    return f"{scheme}://{host}{suffix}".encode()


class SameOriginWrites:
    """Refuses cross-site state changes authenticated by the session cookie (SPEC §17).

    SameSite=Lax keeps the cookie off cross-site POSTs, but not off those of another port or
    subdomain of the same *site*. A POST, PUT, PATCH or DELETE on the JSON API that carries
    the session cookie must come from a page of the issuer's own origin: its ``Origin``, when
    sent, is the issuer's, and ``Sec-Fetch-Site``, when sent, is ``same-origin`` or ``none``
    (the user's own navigation). Clients outside browsers send neither and pass.
    """

    def __init__(self, app: ASGIApp, issuer: str, session_cookie: str) -> None:
        self.app = app
        self.origin = web_origin(issuer)
        self.cookie = session_cookie.encode() + b"="

    def _carries_session(self, headers: list[tuple[bytes, bytes]]) -> bool:
        return any(
            name == b"cookie"
            and any(part.strip().startswith(self.cookie) for part in value.split(b";"))
            for name, value in headers
        )

    def _cross_site(self, headers: list[tuple[bytes, bytes]]) -> str | None:
        for name, value in headers:
            if name == b"origin" and value.strip().lower() != self.origin:
                return "Origin"
            if name == b"sec-fetch-site" and value.strip().lower() not in _SAME_ORIGIN_FETCHES:
                return "Sec-Fetch-Site"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _STATE_CHANGING:
            path, root = scope["path"], scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            if (
                path.startswith("/api/")
                and not path.startswith(_CLIENT_AUTHENTICATED)
                and self._carries_session(scope["headers"])
                and (header := self._cross_site(scope["headers"])) is not None
            ):
                await _refuse(
                    send,
                    403,
                    f"Cross-site request refused ({header}): changes made with the session "
                    "cookie must come from this site's own pages.",
                )
                return
        await self.app(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuses request bodies over ``max_size`` bytes with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, max_size: int) -> None:
        self.app = app
        self.max_size = max_size

    async def _refuse(self, send: Send) -> None:
        await _refuse(
            send,
            413,
            f"Request body larger than {self.max_size} bytes.",
            # It may answer a token request: never cached (RFC 6749 §5.2).
            (b"cache-control", b"no-store"),
            *SECURITY_HEADERS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_size + 1
                if declared > self.max_size:
                    await self._refuse(send)
                    return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_size:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._refuse(send)
