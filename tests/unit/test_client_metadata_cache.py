"""client_metadata/cache.py and resolver.py: freshness, the LRU bound, the back-off.

The resolver runs here over a fake fetcher (no I/O); tests/e2e/test_client_metadata_fetch.py
runs it over real connections.
"""

from __future__ import annotations

import pytest

from tests.conftest import FakeClock
from wtp_oauth.oauth.client_metadata import (
    ClientMetadata,
    ClientMetadataError,
    ClientMetadataResolver,
)
from wtp_oauth.oauth.client_metadata.cache import (
    MAX_TTL,
    MIN_TTL,
    DocumentCache,
    freshness_lifetime,
)
from wtp_oauth.oauth.client_metadata.document import ClientIdURL
from wtp_oauth.oauth.client_metadata.resolver import Backoff

URL = "https://client.example/client.json"


def metadata(url: str = URL) -> ClientMetadata:
    return ClientMetadata(client_id=url, redirect_uris=("https://client.example/cb",))


@pytest.mark.parametrize(
    ("headers", "ttl"),
    [
        ({}, MIN_TTL),
        ({"cache-control": "max-age=600"}, 600),
        ({"cache-control": "public, max-age=3600"}, 3600),
        ({"cache-control": 'max-age="900"'}, 900),
        ({"cache-control": "MAX-AGE=1200"}, 1200),
        ({"cache-control": "max-age=10"}, MIN_TTL),
        ({"cache-control": "max-age=0"}, MIN_TTL),
        ({"cache-control": "max-age=999999999"}, MAX_TTL),
        ({"cache-control": "max-age=-5"}, MIN_TTL),
        ({"cache-control": "max-age=soon"}, MIN_TTL),
        ({"cache-control": "no-store, max-age=3600"}, MIN_TTL),
        ({"cache-control": "no-cache"}, MIN_TTL),
        ({"cache-control": "max-age=3600", "age": "600"}, 3000),
        ({"cache-control": "max-age=3600", "age": "3599"}, MIN_TTL),
        (
            {
                "date": "Tue, 01 Sep 2026 10:00:00 GMT",
                "expires": "Tue, 01 Sep 2026 12:00:00 GMT",
            },
            7200,
        ),
        ({"date": "Tue, 01 Sep 2026 10:00:00 GMT", "expires": "0"}, MIN_TTL),
        (
            {
                "cache-control": "max-age=600",
                "date": "Tue, 01 Sep 2026 10:00:00 GMT",
                "expires": "Tue, 01 Sep 2026 12:00:00 GMT",
            },
            600,
        ),
    ],
)
def test_freshness_follows_the_headers_clamped(headers: dict[str, str], ttl: int) -> None:
    assert freshness_lifetime(headers) == ttl


def test_a_hit_within_the_lifetime_and_a_miss_after(clock: FakeClock) -> None:
    cache = DocumentCache(clock=clock)
    cache.put(metadata(), 600)
    clock.advance(599)
    assert cache.get(URL) == metadata()
    clock.advance(1)
    assert cache.get(URL) is None
    assert len(cache) == 0


def test_the_cache_is_bounded_least_recently_used_first(clock: FakeClock) -> None:
    cache = DocumentCache(max_entries=3, clock=clock)
    for name in "abc":
        cache.put(metadata(f"https://client.example/{name}"), 600)
    assert cache.get("https://client.example/a") is not None  # a is now the most recent
    cache.put(metadata("https://client.example/d"), 600)
    assert len(cache) == 3
    assert cache.get("https://client.example/b") is None
    for name in "acd":
        assert cache.get(f"https://client.example/{name}") is not None


def test_the_default_bound_is_a_thousand(clock: FakeClock) -> None:
    cache = DocumentCache(clock=clock)
    for number in range(1005):
        cache.put(metadata(f"https://client.example/{number}"), 600)
    assert len(cache) == 1000
    assert cache.get("https://client.example/4") is None
    assert cache.get("https://client.example/5") is not None


def test_backoff_doubles_up_to_its_cap(clock: FakeClock) -> None:
    backoff = Backoff(initial=30, cap=200, clock=clock)
    assert backoff.remaining(URL) == 0
    assert [backoff.failed(URL) for _ in range(5)] == [30, 60, 120, 200, 200]
    assert backoff.remaining(URL) == 200
    backoff.succeeded(URL)
    assert backoff.remaining(URL) == 0
    assert backoff.failed(URL) == 30


class FakeFetcher:
    """Stands in for DocumentFetcher: answers from a script, counts its calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.answers: list[tuple[ClientMetadata, int] | ClientMetadataError] = []

    async def fetch(self, target: ClientIdURL) -> tuple[ClientMetadata, int]:
        self.calls.append(target.url)
        answer = self.answers.pop(0)
        if isinstance(answer, ClientMetadataError):
            raise answer
        return answer


@pytest.fixture
def fetcher() -> FakeFetcher:
    return FakeFetcher()


@pytest.fixture
def resolver(fetcher: FakeFetcher, clock: FakeClock) -> ClientMetadataResolver:
    return ClientMetadataResolver(fetcher, clock=clock)  # type: ignore[arg-type]


async def test_resolve_caches_as_long_as_allowed(
    resolver: ClientMetadataResolver, fetcher: FakeFetcher, clock: FakeClock
) -> None:
    fetcher.answers = [(metadata(), 900), (metadata(), 900)]
    assert await resolver.resolve(URL) == metadata()
    clock.advance(899)
    assert await resolver.resolve(URL) == metadata()
    assert fetcher.calls == [URL]
    clock.advance(1)
    await resolver.resolve(URL)
    assert fetcher.calls == [URL, URL]


async def test_a_refused_url_is_never_fetched(
    resolver: ClientMetadataResolver, fetcher: FakeFetcher
) -> None:
    with pytest.raises(ClientMetadataError, match="https"):
        await resolver.resolve("http://client.example/c")
    assert fetcher.calls == []


async def test_failures_back_off_and_are_not_cached(
    resolver: ClientMetadataResolver, fetcher: FakeFetcher, clock: FakeClock
) -> None:
    fetcher.answers = [
        ClientMetadataError("first failure"),
        ClientMetadataError("second failure"),
        (metadata(), 600),
    ]
    with pytest.raises(ClientMetadataError, match="first failure"):
        await resolver.resolve(URL)
    with pytest.raises(ClientMetadataError, match="try again in 30 seconds"):
        await resolver.resolve(URL)
    clock.advance(29)
    with pytest.raises(ClientMetadataError, match="try again in 1 second\\."):
        await resolver.resolve(URL)
    assert fetcher.calls == [URL]

    clock.advance(1)
    with pytest.raises(ClientMetadataError, match="second failure"):
        await resolver.resolve(URL)
    clock.advance(59)
    with pytest.raises(ClientMetadataError, match="try again in 1 second\\."):
        await resolver.resolve(URL)
    assert len(fetcher.calls) == 2

    clock.advance(1)
    assert await resolver.resolve(URL) == metadata()
    assert len(fetcher.calls) == 3


async def test_a_success_clears_the_backoff(
    resolver: ClientMetadataResolver, fetcher: FakeFetcher, clock: FakeClock
) -> None:
    fetcher.answers = [ClientMetadataError("down"), (metadata(), 300), ClientMetadataError("down")]
    with pytest.raises(ClientMetadataError):
        await resolver.resolve(URL)
    clock.advance(30)
    await resolver.resolve(URL)
    clock.advance(300)  # the cached document expires
    with pytest.raises(ClientMetadataError, match="down"):
        await resolver.resolve(URL)
    with pytest.raises(ClientMetadataError, match="try again in 30 seconds"):
        await resolver.resolve(URL)


async def test_backoff_is_per_url(resolver: ClientMetadataResolver, fetcher: FakeFetcher) -> None:
    other = "https://client.example/other.json"
    fetcher.answers = [ClientMetadataError("down"), (metadata(other), 300)]
    with pytest.raises(ClientMetadataError):
        await resolver.resolve(URL)
    assert (await resolver.resolve(other)).client_id == other
