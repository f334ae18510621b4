"""Fetching one client metadata document without becoming a proxy into the private network.

The host is resolved once, every address it resolves to must be public
(``addresses.refusal_reason``), and the connection is then made to one of those checked
addresses by a network backend that cannot dial anything else, so a second DNS answer (DNS
rebinding) never reaches a socket. TLS still sends the URL's name as SNI and verifies the
certificate for that name, and ``Host`` carries it too: only the dialled address is pinned.
Draft-ietf-oauth-client-id-metadata-document §6 (SSRF), SPEC §14: no redirects, a 5 s deadline
for the whole fetch, at most 5 KB of body, JSON only.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence

import certifi
import httpcore
import httpx

from .addresses import IPAddress, refusal_reason
from .cache import freshness_lifetime
from .document import ClientIdURL, ClientMetadata, parse_document
from .errors import ClientMetadataError

DEADLINE = 5.0
MAX_BODY = 5 * 1024
MAX_CONCURRENT = 10
USER_AGENT = "wtp-oauth (client metadata fetcher)"

Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
log = logging.getLogger("wtp_oauth.client_metadata")


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, through the event loop's ``getaddrinfo``."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    return list(dict.fromkeys(addresses))


class PinnedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections for one host name only, and only to addresses already checked.

    httpcore asks for ``connect_tcp(name, port)``; this backend dials the pinned addresses
    instead (in order, until one answers) and refuses any other name or a Unix socket. TLS is
    started by httpcore afterwards with ``server_hostname=name``.
    """

    def __init__(
        self,
        host: str,
        addresses: Iterable[IPAddress],
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._host = host.lower()
        self._addresses = tuple(addresses)
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if host.lower().strip("[]") != self._host or not self._addresses:
            raise httpcore.ConnectError(f"refusing to connect to {host!r}: not the pinned host")
        failure: Exception | None = None
        for address in self._addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("refusing to connect to a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """``httpx``'s own transport over a ``PinnedNetworkBackend``: one connection, no retries.

    ``AsyncHTTPTransport`` takes no network backend, so its connection pool is replaced by one
    built the same way with the pinned backend (httpx 0.27 and 0.28 keep the pool in ``_pool``).
    """

    def __init__(self, backend: httpcore.AsyncNetworkBackend, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False, retries=0)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=1,
            max_keepalive_connections=0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=backend,
        )


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """Certificates verified against the Mozilla roots (as ``httpx`` does), TLS 1.2 or later.

    Built once per process (loading the roots takes a noticeable fraction of a second) and shared:
    an ``SSLContext`` may serve many connections at once.
    """
    context = ssl.create_default_context(cafile=certifi.where())
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class DocumentFetcher:
    """GET one document over a pinned connection, within a deadline and a size limit.

    ``resolver``, ``ssl_context``, ``network_backend`` and ``deadline`` are injectable for
    tests; production uses ``getaddrinfo``, the Mozilla roots, anyio sockets and 5 seconds.
    """

    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        resolver: Resolver = system_resolver,
        ssl_context: ssl.SSLContext | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
        deadline: float = DEADLINE,
        max_body: int = MAX_BODY,
        max_concurrent: int = MAX_CONCURRENT,
    ) -> None:
        self._allow_loopback = allow_loopback
        self._resolver = resolver
        self._ssl_context = ssl_context or default_ssl_context()
        self._network_backend = network_backend
        self._deadline = deadline
        self._max_body = max_body
        self._slots = asyncio.Semaphore(max_concurrent)

    async def fetch(self, target: ClientIdURL) -> tuple[ClientMetadata, int]:
        """The validated document at ``target`` and how many seconds it may be cached.

        Raises ``ClientMetadataError`` for every refusal; waiting for a free slot counts
        against the deadline.
        """
        try:
            async with asyncio.timeout(self._deadline), self._slots:
                addresses = await self._checked_addresses(target)
                return await self._get(target, addresses)
        except TimeoutError as exc:
            seconds = f"{self._deadline:g} second{'' if self._deadline == 1 else 's'}"
            raise ClientMetadataError(
                f"The client metadata document did not arrive within {seconds}."
            ) from exc

    async def _checked_addresses(self, target: ClientIdURL) -> Sequence[IPAddress]:
        if target.ip is not None:
            addresses: Sequence[IPAddress] = [target.ip]
        else:
            try:
                addresses = await self._resolver(target.hostname, target.port)
            except (OSError, UnicodeError) as exc:
                raise ClientMetadataError("The client_id URL's host does not resolve.") from exc
        if not addresses:
            raise ClientMetadataError("The client_id URL's host does not resolve.")
        for address in addresses:
            reason = refusal_reason(address, allow_loopback=self._allow_loopback)
            if reason is not None:
                # The address itself stays in the log: the message may reach the user, and it
                # must not map the internal network for them.
                log.info("client metadata refused for %s: %s", target.url, reason)
                raise ClientMetadataError(
                    "The client_id URL's host resolves to an address that is not public."
                )
        return addresses

    async def _get(
        self, target: ClientIdURL, addresses: Sequence[IPAddress]
    ) -> tuple[ClientMetadata, int]:
        backend = PinnedNetworkBackend(target.hostname, addresses, self._network_backend)
        async with httpx.AsyncClient(
            transport=PinnedTransport(backend, self._ssl_context),
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(self._deadline),
            headers={
                "Accept": "application/json",
                "Accept-Encoding": "identity",
                "User-Agent": USER_AGENT,
            },
        ) as client:
            try:
                async with client.stream("GET", target.url) as response:
                    self._check_response(response)
                    body = await self._read_body(response)
                    headers = response.headers
            except httpx.TimeoutException as exc:
                raise TimeoutError from exc
            except (httpx.HTTPError, httpx.InvalidURL, OSError, ssl.SSLError) as exc:
                log.info("client metadata fetch failed for %s: %r", target.url, exc)
                raise ClientMetadataError(
                    "The client metadata document could not be fetched "
                    "(connection or TLS certificate verification failed)."
                ) from exc
        return parse_document(body, target.url), freshness_lifetime(headers)

    def _check_response(self, response: httpx.Response) -> None:
        status = response.status_code
        if 300 <= status < 400:
            raise ClientMetadataError(
                f"The client metadata URL answered with a redirect (HTTP {status}); "
                "redirects are not followed."
            )
        if status != 200:
            raise ClientMetadataError(f"The client metadata URL answered HTTP {status}, not 200.")
        if not _is_json(response.headers.get("content-type", "")):
            raise ClientMetadataError("The client metadata document must be served as JSON.")
        if response.headers.get("content-encoding", "identity").lower() != "identity":
            raise ClientMetadataError("The client metadata document must not be compressed.")
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max_body:
            raise self._too_large()

    async def _read_body(self, response: httpx.Response) -> bytes:
        body = bytearray()
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > self._max_body:
                raise self._too_large()
        return bytes(body)

    def _too_large(self) -> ClientMetadataError:
        return ClientMetadataError(
            f"The client metadata document is larger than {self._max_body} bytes."
        )
