"""client_metadata/fetcher.py: everything refused before a connection, the deadline, the slots.

No test here reaches the network: the resolver is injected and the network backend records
every connection attempt and refuses it, so each refusal is shown to happen before any
connection is attempted. tests/e2e/test_client_metadata_fetch.py makes the real fetches.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence

import httpcore
import pytest

from wtp_oauth.config import Settings
from wtp_oauth.oauth.client_metadata import (
    ClientMetadataError,
    ClientMetadataResolver,
    DocumentFetcher,
    parse_client_id_url,
)
from wtp_oauth.oauth.client_metadata.addresses import IPAddress
from wtp_oauth.oauth.client_metadata.fetcher import PinnedNetworkBackend

URL = "https://cimd.test:8443/client"


class NoNetwork(httpcore.AsyncNetworkBackend):
    """Records every connection attempt and refuses it."""

    def __init__(self) -> None:
        self.connects: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append((host, port))
        raise httpcore.ConnectError("unit tests do not connect")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AssertionError("no Unix sockets")


class FixedResolver:
    """Answers every name with the same addresses, and counts the questions."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = [ipaddress.ip_address(text) for text in addresses]
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        self.calls.append((host, port))
        return self.addresses


def fetcher_for(
    resolver: object, network: NoNetwork, *, allow_loopback: bool = False, **options: object
) -> DocumentFetcher:
    return DocumentFetcher(
        allow_loopback=allow_loopback,
        resolver=resolver,  # type: ignore[arg-type]
        network_backend=network,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def network() -> NoNetwork:
    return NoNetwork()


async def test_a_name_resolving_to_loopback_is_refused_without_the_setting(
    network: NoNetwork,
) -> None:
    resolver = FixedResolver("127.0.0.1")
    fetcher = fetcher_for(resolver, network)
    with pytest.raises(ClientMetadataError, match="resolves to an address that is not public"):
        await fetcher.fetch(parse_client_id_url(URL))
    assert resolver.calls == [("cimd.test", 8443)]
    assert network.connects == []


@pytest.mark.parametrize(
    "addresses",
    [
        ("0.0.0.0",),
        ("::",),
        ("::1",),
        ("::ffff:127.0.0.1",),
        ("::127.0.0.1",),
        ("64:ff9b::7f00:1",),
        ("2002:7f00:1::1",),
        ("127.0.0.1", "::1"),  # any one non-public address is enough
        ("127.0.0.1", "0.0.0.0"),
    ],
)
async def test_special_use_answers_are_refused_even_with_the_setting(
    network: NoNetwork, addresses: tuple[str, ...]
) -> None:
    fetcher = fetcher_for(FixedResolver(*addresses), network, allow_loopback=True)
    with pytest.raises(ClientMetadataError, match="not public") as refused:
        await fetcher.fetch(parse_client_id_url(URL))
    assert network.connects == []
    for address in addresses:  # the user is not told the internal address
        if address != "0.0.0.0":
            assert address not in str(refused.value)


async def test_a_name_that_does_not_resolve(network: NoNetwork) -> None:
    async def failing(host: str, port: int) -> Sequence[IPAddress]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    for resolver in (failing, FixedResolver()):
        with pytest.raises(ClientMetadataError, match="does not resolve"):
            await fetcher_for(resolver, network).fetch(parse_client_id_url(URL))
    assert network.connects == []


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost:8443/client",
        "https://[::ffff:127.0.0.1]:8443/client",
        "https://0.0.0.0:8443/client",
        "https://2130706433:8443/client",
        "https://[::1]:8443/client",
        "http://cimd.test:8443/client",
        "http://127.0.0.1:8443/client",
    ],
)
async def test_urls_refused_before_resolution(network: NoNetwork, url: str) -> None:
    resolver = FixedResolver("127.0.0.1")
    metadata = ClientMetadataResolver(fetcher_for(resolver, network))
    with pytest.raises(ClientMetadataError):
        await metadata.resolve(url)
    assert resolver.calls == []
    assert network.connects == []


async def test_the_deadline_covers_resolution(network: NoNetwork) -> None:
    async def hanging(host: str, port: int) -> Sequence[IPAddress]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    fetcher = fetcher_for(hanging, network, deadline=0.05)
    with pytest.raises(ClientMetadataError, match=r"within 0\.05 seconds"):
        await fetcher.fetch(parse_client_id_url(URL))


async def test_concurrent_fetches_are_limited(network: NoNetwork) -> None:
    started: list[str] = []
    release = asyncio.Event()
    two_started = asyncio.Event()

    async def slow(host: str, port: int) -> Sequence[IPAddress]:
        started.append(host)
        if len(started) == 2:
            two_started.set()
        await release.wait()
        return [ipaddress.ip_address("0.0.0.0")]  # refused: nothing is ever dialled

    fetcher = fetcher_for(slow, network, max_concurrent=2)
    target = parse_client_id_url(URL)
    tasks = [asyncio.create_task(fetcher.fetch(target)) for _ in range(3)]
    await two_started.wait()
    for _ in range(20):  # let the third task run as far as it can
        await asyncio.sleep(0)
    assert len(started) == 2
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert len(started) == 3
    assert all(isinstance(result, ClientMetadataError) for result in results)
    assert network.connects == []


async def test_the_pinned_backend_dials_only_the_checked_addresses(network: NoNetwork) -> None:
    backend = PinnedNetworkBackend(
        "cimd.test", [ipaddress.ip_address("127.0.0.2"), ipaddress.ip_address("127.0.0.3")], network
    )
    with pytest.raises(httpcore.ConnectError, match="not the pinned host"):
        await backend.connect_tcp("other.test", 443)
    assert network.connects == []
    with pytest.raises(httpcore.ConnectError):  # each pinned address is tried, in order
        await backend.connect_tcp("CIMD.test", 443)
    assert network.connects == [("127.0.0.2", 443), ("127.0.0.3", 443)]
    with pytest.raises(httpcore.ConnectError, match="Unix socket"):
        await backend.connect_unix_socket("/tmp/socket")


async def test_the_development_setting_reaches_the_resolver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WTP_ALLOW_LOOPBACK_CLIENT_METADATA", raising=False)
    assert Settings().allow_loopback_client_metadata is False
    strict = ClientMetadataResolver.from_settings(Settings())
    with pytest.raises(ClientMetadataError, match="must use https"):
        await strict.resolve("http://127.0.0.1:8000/client")

    monkeypatch.setenv("WTP_ALLOW_LOOPBACK_CLIENT_METADATA", "1")
    settings = Settings()
    assert settings.allow_loopback_client_metadata is True
    relaxed = ClientMetadataResolver.from_settings(settings)
    assert relaxed._allow_loopback and relaxed._fetcher._allow_loopback
