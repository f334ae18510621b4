"""Real fetches of client metadata documents from local servers on 127.0.0.1 (SPEC §14).

Each test runs a small HTTP or HTTPS server on 127.0.0.1 whose answers it scripts, and a
fetcher whose resolver is injected (``cimd.test`` → 127.0.0.1) and whose network backend
records every connection and refuses any outside 127.0.0.0/8. The HTTPS server holds a
self-signed certificate for ``cimd.test`` made here, trusted through the SSL context handed to
the fetcher. No test makes the process contact anything outside 127.0.0.0/8.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpcore
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import FakeClock
from wtp_oauth.oauth.client_metadata import (
    ClientMetadataError,
    ClientMetadataResolver,
    DocumentFetcher,
    parse_client_id_url,
)
from wtp_oauth.oauth.client_metadata.addresses import LOOPBACK_V4, IPAddress

NAME = "cimd.test"  # RFC 6761 reserves .test: this name exists only in the injected resolver


# --- a certificate for NAME ------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    cert_pem: bytes
    key_pem: bytes


def make_certificate(name: str) -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Certificate(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(NAME)


@pytest.fixture(scope="module")
def trusting(certificate: Certificate) -> ssl.SSLContext:
    """A client context that trusts the test certificate, and nothing else."""
    return ssl.create_default_context(cadata=certificate.cert_pem.decode())


# --- the document server ---------------------------------------------------------------------


@dataclass
class Route:
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    body: bytes = b""
    hang_before_head: bool = False
    hang_after_head: bool = False
    content_length: bool = True


@dataclass
class Seen:
    path: str
    host: str | None


class DocumentServer:
    """A minimal HTTP/1.1 server on 127.0.0.1 answering from ``routes``; it records requests."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.server_names: list[str | None] = []
        self._tls = tls
        self._released = asyncio.Event()
        if tls is not None:
            tls.sni_callback = self._record_sni  # type: ignore[assignment]

    def _record_sni(self, _obj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        self.server_names.append(name)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self._tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._released.set()
        self._server.close()
        await self._server.wait_closed()

    def url(self, path: str, host: str = NAME) -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def serve_document(self, path: str, host: str = NAME, **fields: Any) -> str:
        """Serve a valid document (with ``fields`` merged in) at ``path``; returns its URL."""
        url = self.url(path, host)
        document = {"client_id": url, "redirect_uris": ["https://client.example/cb"], **fields}
        self.routes[path] = Route(body=json.dumps(document).encode())
        return url

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *header_lines = head.split("\r\n")
            headers = dict(line.split(": ", 1) for line in header_lines if ": " in line)
            path = request_line.split(" ")[1]
            self.requests.append(Seen(path=path, host=headers.get("Host", headers.get("host"))))
            route = self.routes.get(path, Route(status=404, body=b"{}"))
            if route.hang_before_head:
                await self._released.wait()
                return
            lines = [f"HTTP/1.1 {route.status} Scripted", "Connection: close"]
            lines += [f"{name}: {value}" for name, value in route.headers.items()]
            if route.content_length:
                lines.append(f"Content-Length: {len(route.body)}")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            if route.hang_after_head:
                await writer.drain()
                await self._released.wait()
                return
            for start in range(0, len(route.body), 16384):
                writer.write(route.body[start : start + 16384])
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def https_server(certificate: Certificate, tmp_path: Any) -> AsyncIterator[DocumentServer]:
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.cert_pem)
    key_file.write_bytes(certificate.key_pem)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    server = DocumentServer(tls)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http_server() -> AsyncIterator[DocumentServer]:
    server = DocumentServer()
    await server.start()
    yield server
    await server.stop()


# --- an injected resolver and a recording, loopback-only network -----------------------------


class MapResolver:
    """Resolves only the names it is given; counts each question."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = {
            name: [ipaddress.ip_address(a) for a in addrs] for name, addrs in names.items()
        }
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        self.calls.append(host)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "not in the test's map")
        return self.names[host]


class LoopbackOnly(httpcore.AsyncNetworkBackend):
    """The real network, refusing anything outside 127.0.0.0/8; records every connection."""

    def __init__(self) -> None:
        self.connects: list[tuple[str, int]] = []
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append((host, port))
        if not (isinstance(ip := ipaddress.ip_address(host), ipaddress.IPv4Address)) or (
            ip not in LOOPBACK_V4
        ):
            raise AssertionError(f"a test tried to connect to {host}")
        return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AssertionError("no Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@pytest.fixture
def network() -> LoopbackOnly:
    return LoopbackOnly()


@pytest.fixture
def resolver() -> MapResolver:
    return MapResolver({NAME: ["127.0.0.1"]})


def make_fetcher(
    resolver: MapResolver,
    network: LoopbackOnly,
    trusting: ssl.SSLContext | None,
    *,
    allow_loopback: bool = True,
    deadline: float = 5.0,
) -> DocumentFetcher:
    return DocumentFetcher(
        allow_loopback=allow_loopback,
        resolver=resolver,
        ssl_context=trusting,
        network_backend=network,
        deadline=deadline,
    )


@pytest.fixture
def fetcher(resolver: MapResolver, network: LoopbackOnly, trusting: ssl.SSLContext) -> Any:
    return make_fetcher(resolver, network, trusting)


async def refused(fetcher: DocumentFetcher, url: str, allow_loopback: bool = True) -> str:
    with pytest.raises(ClientMetadataError) as error:
        await fetcher.fetch(parse_client_id_url(url, allow_loopback=allow_loopback))
    return str(error.value)


def caused_by_certificate(error: BaseException) -> bool:
    """Whether a certificate verification failure is somewhere in the exception's causes."""
    while error is not None:
        if isinstance(error, ssl.SSLCertVerificationError):
            return True
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return False


# --- the pinned connection -------------------------------------------------------------------


async def test_the_connection_goes_to_the_checked_address_with_the_name_in_sni_and_host(
    https_server: DocumentServer,
    fetcher: DocumentFetcher,
    resolver: MapResolver,
    network: LoopbackOnly,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lookups: list[str] = []
    loop = asyncio.get_running_loop()
    real_getaddrinfo = loop.getaddrinfo

    async def spying_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        lookups.append(str(host))
        return await real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", spying_getaddrinfo)
    url = https_server.serve_document("/client", client_name="Pinned")

    metadata, ttl = await fetcher.fetch(parse_client_id_url(url, allow_loopback=True))

    assert metadata.client_id == url and metadata.client_name == "Pinned"
    assert ttl == 300
    assert resolver.calls == [NAME]  # resolved once, by the injected resolver
    assert network.connects == [("127.0.0.1", https_server.port)]  # dialled the checked address
    assert https_server.server_names == [NAME]  # SNI carries the name
    assert [(seen.path, seen.host) for seen in https_server.requests] == [
        ("/client", f"{NAME}:{https_server.port}")
    ]
    assert NAME not in lookups  # nothing resolved the name a second time


async def test_each_fetch_resolves_exactly_once(
    https_server: DocumentServer,
    fetcher: DocumentFetcher,
    resolver: MapResolver,
    network: LoopbackOnly,
) -> None:
    target = parse_client_id_url(https_server.serve_document("/client"), allow_loopback=True)
    await fetcher.fetch(target)
    await fetcher.fetch(target)
    assert resolver.calls == [NAME, NAME]
    assert len(network.connects) == 2


async def test_the_certificate_is_verified_for_the_name(
    https_server: DocumentServer, network: LoopbackOnly, trusting: ssl.SSLContext
) -> None:
    # Same server and address, but a name the certificate does not cover.
    other = MapResolver({"other.test": ["127.0.0.1"]})
    url = https_server.serve_document("/client", host="other.test")
    fetcher = make_fetcher(other, network, trusting)
    with pytest.raises(ClientMetadataError, match="could not be fetched") as error:
        await fetcher.fetch(parse_client_id_url(url, allow_loopback=True))
    assert caused_by_certificate(error.value)
    assert "other.test" in str(error.value.__cause__)  # checked against the name
    assert network.connects == [("127.0.0.1", https_server.port)]
    assert https_server.server_names == ["other.test"]
    assert https_server.requests == []


async def test_certificates_are_verified_by_default(
    https_server: DocumentServer, resolver: MapResolver, network: LoopbackOnly
) -> None:
    url = https_server.serve_document("/client")
    fetcher = make_fetcher(resolver, network, None)  # the Mozilla roots, which do not know it
    with pytest.raises(ClientMetadataError, match="TLS certificate verification") as error:
        await fetcher.fetch(parse_client_id_url(url, allow_loopback=True))
    assert caused_by_certificate(error.value)
    assert https_server.requests == []


# --- plain http on loopback (the development setting) ----------------------------------------


async def test_a_loopback_document_with_the_development_setting(
    http_server: DocumentServer, network: LoopbackOnly, clock: FakeClock
) -> None:
    url = http_server.serve_document("/client", host="127.0.0.1")
    unused = MapResolver({})
    fetcher = make_fetcher(unused, network, None, allow_loopback=True)
    metadata = await ClientMetadataResolver(fetcher, allow_loopback=True, clock=clock).resolve(url)
    assert metadata.client_id == url
    assert metadata.redirect_uris == ("https://client.example/cb",)
    assert unused.calls == []  # a literal address is not resolved
    assert network.connects == [("127.0.0.1", http_server.port)]


async def test_http_is_refused_without_the_development_setting(
    http_server: DocumentServer, network: LoopbackOnly, clock: FakeClock
) -> None:
    url = http_server.serve_document("/client", host="127.0.0.1")
    fetcher = make_fetcher(MapResolver({}), network, None, allow_loopback=False)
    with pytest.raises(ClientMetadataError, match="must use https"):
        await ClientMetadataResolver(fetcher, clock=clock).resolve(url)
    assert network.connects == [] and http_server.requests == []


# --- refusals before any connection ----------------------------------------------------------


@pytest.mark.parametrize("allow_loopback", [False, True])
@pytest.mark.parametrize(
    "host", ["localhost", "[::ffff:127.0.0.1]", "0.0.0.0", "[::1]", "2130706433", "127.1"]
)
async def test_loopback_in_disguise_is_refused_before_connecting(
    https_server: DocumentServer,
    network: LoopbackOnly,
    trusting: ssl.SSLContext,
    clock: FakeClock,
    host: str,
    allow_loopback: bool,
) -> None:
    url = https_server.serve_document("/client", host=host)
    names = MapResolver({"localhost": ["127.0.0.1"]})
    fetcher = make_fetcher(names, network, trusting, allow_loopback=allow_loopback)
    resolver = ClientMetadataResolver(fetcher, allow_loopback=allow_loopback, clock=clock)
    with pytest.raises(ClientMetadataError, match="host"):
        await resolver.resolve(url)
    assert names.calls == []
    assert network.connects == [] and https_server.requests == []


async def test_a_name_resolving_to_loopback_without_the_setting(
    https_server: DocumentServer,
    resolver: MapResolver,
    network: LoopbackOnly,
    trusting: ssl.SSLContext,
) -> None:
    url = https_server.serve_document("/client")
    fetcher = make_fetcher(resolver, network, trusting, allow_loopback=False)
    message = await refused(fetcher, url, allow_loopback=False)
    assert "not public" in message
    assert resolver.calls == [NAME]
    assert network.connects == [] and https_server.requests == []


@pytest.mark.parametrize(
    "answer", [["0.0.0.0"], ["::ffff:127.0.0.1"], ["::1"], ["127.0.0.1", "::"]]
)
async def test_a_name_resolving_to_a_special_use_address(
    https_server: DocumentServer,
    network: LoopbackOnly,
    trusting: ssl.SSLContext,
    answer: list[str],
) -> None:
    url = https_server.serve_document("/client")
    fetcher = make_fetcher(MapResolver({NAME: answer}), network, trusting, allow_loopback=True)
    assert "not public" in await refused(fetcher, url)
    assert network.connects == [] and https_server.requests == []


# --- refusals of the answer ------------------------------------------------------------------


async def test_client_id_mismatch(https_server: DocumentServer, fetcher: DocumentFetcher) -> None:
    https_server.serve_document("/client")
    https_server.routes["/elsewhere"] = https_server.routes["/client"]
    message = await refused(fetcher, https_server.url("/elsewhere"))
    assert "client_id must be exactly the URL" in message


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_refused_and_not_followed(
    https_server: DocumentServer, fetcher: DocumentFetcher, status: int
) -> None:
    https_server.serve_document("/real")
    https_server.routes["/client"] = Route(
        status=status, headers={"Location": https_server.url("/real")}
    )
    message = await refused(fetcher, https_server.url("/client"))
    assert f"redirect (HTTP {status})" in message
    assert [seen.path for seen in https_server.requests] == ["/client"]


async def test_an_error_status_is_refused(
    https_server: DocumentServer, fetcher: DocumentFetcher
) -> None:
    assert "HTTP 404" in await refused(fetcher, https_server.url("/missing"))


@pytest.mark.parametrize("declared", [True, False])
async def test_an_oversized_body_is_refused(
    https_server: DocumentServer, fetcher: DocumentFetcher, declared: bool
) -> None:
    url = https_server.url("/client")
    padding = "x" * (1024 * 1024 if not declared else 5 * 1024)
    body = json.dumps(
        {"client_id": url, "redirect_uris": ["https://client.example/cb"], "pad": padding}
    ).encode()
    https_server.routes["/client"] = Route(body=body, content_length=declared)
    assert "larger than 5120 bytes" in await refused(fetcher, url)


async def test_a_body_of_exactly_the_limit_is_read(
    https_server: DocumentServer, fetcher: DocumentFetcher
) -> None:
    url = https_server.url("/client")
    document = {"client_id": url, "redirect_uris": ["https://client.example/cb"], "pad": ""}
    document["pad"] = "x" * (5 * 1024 - len(json.dumps(document)))
    body = json.dumps(document).encode()
    assert len(body) == 5 * 1024
    https_server.routes["/client"] = Route(body=body, content_length=False)
    metadata, _ = await fetcher.fetch(parse_client_id_url(url, allow_loopback=True))
    assert metadata.client_id == url


@pytest.mark.parametrize("stall", ["hang_before_head", "hang_after_head"])
async def test_a_slow_server_runs_into_the_deadline(
    https_server: DocumentServer,
    resolver: MapResolver,
    network: LoopbackOnly,
    trusting: ssl.SSLContext,
    stall: str,
) -> None:
    url = https_server.serve_document("/client")
    setattr(https_server.routes["/client"], stall, True)
    fetcher = make_fetcher(resolver, network, trusting, deadline=1.0)
    started = time.monotonic()
    assert "within 1 second." in await refused(fetcher, url)
    assert 0.9 < time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("headers", "body", "words"),
    [
        ({"Content-Type": "text/html"}, None, "served as JSON"),
        ({}, None, "served as JSON"),
        ({"Content-Type": "text/plain; charset=utf-8"}, None, "served as JSON"),
        ({"Content-Type": "application/json"}, b"<html>hello</html>", "not valid JSON"),
        (
            {"Content-Type": "application/json", "Content-Encoding": "gzip"},
            None,
            "compressed",
        ),
    ],
)
async def test_not_json_is_refused(
    https_server: DocumentServer,
    fetcher: DocumentFetcher,
    headers: dict[str, str],
    body: bytes | None,
    words: str,
) -> None:
    url = https_server.serve_document("/client")
    route = https_server.routes["/client"]
    route.headers = headers
    route.body = body if body is not None else route.body
    assert words in await refused(fetcher, url)


async def test_a_json_subtype_is_accepted(
    https_server: DocumentServer, fetcher: DocumentFetcher
) -> None:
    url = https_server.serve_document("/client")
    https_server.routes["/client"].headers = {
        "Content-Type": "application/client-metadata+json; charset=utf-8"
    }
    metadata, _ = await fetcher.fetch(parse_client_id_url(url, allow_loopback=True))
    assert metadata.client_id == url


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_a_secret_based_auth_method_is_refused(
    https_server: DocumentServer, fetcher: DocumentFetcher, method: str
) -> None:
    url = https_server.serve_document("/client", token_endpoint_auth_method=method)
    assert 'token_endpoint_auth_method must be "none"' in await refused(fetcher, url)


# --- the cache and the back-off over real fetches --------------------------------------------


async def test_cached_within_max_age_then_fetched_again(
    https_server: DocumentServer, fetcher: DocumentFetcher, clock: FakeClock
) -> None:
    url = https_server.serve_document("/client")
    https_server.routes["/client"].headers["Cache-Control"] = "max-age=600"
    metadata = ClientMetadataResolver(fetcher, allow_loopback=True, clock=clock)
    await metadata.resolve(url)
    clock.advance(599)
    await metadata.resolve(url)
    assert len(https_server.requests) == 1
    clock.advance(1)
    await metadata.resolve(url)
    assert len(https_server.requests) == 2


async def test_no_store_is_still_kept_the_minimum_and_long_max_age_is_clamped(
    https_server: DocumentServer, fetcher: DocumentFetcher, clock: FakeClock
) -> None:
    short = https_server.serve_document("/short")
    https_server.routes["/short"].headers["Cache-Control"] = "no-store"
    long = https_server.serve_document("/long")
    https_server.routes["/long"].headers["Cache-Control"] = "max-age=31536000"
    metadata = ClientMetadataResolver(fetcher, allow_loopback=True, clock=clock)
    await metadata.resolve(short)
    await metadata.resolve(long)
    clock.advance(299)
    await metadata.resolve(short)
    assert len(https_server.requests) == 2
    clock.advance(1)
    await metadata.resolve(short)
    assert len(https_server.requests) == 3
    clock.advance(86_400 - 300 - 1)
    await metadata.resolve(long)
    assert len(https_server.requests) == 3
    clock.advance(1)
    await metadata.resolve(long)
    assert len(https_server.requests) == 4


async def test_a_failure_backs_off_and_is_not_cached(
    https_server: DocumentServer, fetcher: DocumentFetcher, clock: FakeClock
) -> None:
    url = https_server.url("/client")
    https_server.routes["/client"] = Route(status=500, body=b"{}")
    metadata = ClientMetadataResolver(fetcher, allow_loopback=True, clock=clock)
    with pytest.raises(ClientMetadataError, match="HTTP 500"):
        await metadata.resolve(url)
    https_server.serve_document("/client")  # fixed at once, but the back-off holds
    with pytest.raises(ClientMetadataError, match="try again in 30 seconds"):
        await metadata.resolve(url)
    assert len(https_server.requests) == 1
    clock.advance(30)
    assert (await metadata.resolve(url)).client_id == url
    assert len(https_server.requests) == 2
