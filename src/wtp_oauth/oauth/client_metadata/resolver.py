"""``resolve(client_id_url)``: the cache, the back-off and the fetch, in that order (SPEC §14).

A URL is checked first (no I/O), then looked up in the cache; a URL whose last fetch failed is
refused without a fetch until its back-off has passed (30 s, doubling with each further failure
up to an hour), so that an authorization request cannot be used to make this server hammer a
host. A success clears the back-off. Failures are never cached as documents.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from datetime import datetime, timedelta

from wtp_oauth.clock import Clock, utcnow
from wtp_oauth.config import Settings

from .cache import MAX_ENTRIES, DocumentCache
from .document import ClientMetadata, parse_client_id_url
from .errors import ClientMetadataError
from .fetcher import DocumentFetcher

BACKOFF_INITIAL = 30
BACKOFF_CAP = 3600


class Backoff:
    """Per-URL refusal windows after failed fetches, LRU-bounded like the cache."""

    def __init__(
        self,
        *,
        initial: int = BACKOFF_INITIAL,
        cap: int = BACKOFF_CAP,
        max_entries: int = 10 * MAX_ENTRIES,
        clock: Clock = utcnow,
    ) -> None:
        self._entries: OrderedDict[str, tuple[int, datetime]] = OrderedDict()
        self._initial, self._cap, self._max_entries = initial, cap, max_entries
        self._clock = clock

    def remaining(self, url: str) -> float:
        """Seconds until ``url`` may be fetched again (0 when it may be now)."""
        entry = self._entries.get(url)
        if entry is None:
            return 0.0
        return max(0.0, (entry[1] - self._clock()).total_seconds())

    def failed(self, url: str) -> int:
        """Record a failure; returns the new window in seconds (doubling, capped)."""
        failures = self._entries[url][0] if url in self._entries else 0
        delay: int = min(self._cap, self._initial << min(failures, 32))
        self._entries[url] = (failures + 1, self._clock() + timedelta(seconds=delay))
        self._entries.move_to_end(url)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return delay

    def succeeded(self, url: str) -> None:
        """Forget the failures of ``url``."""
        self._entries.pop(url, None)


class ClientMetadataResolver:
    """The API the authorization endpoint uses: one per process, shared by all requests."""

    def __init__(
        self,
        fetcher: DocumentFetcher | None = None,
        *,
        allow_loopback: bool = False,
        cache: DocumentCache | None = None,
        backoff: Backoff | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._allow_loopback = allow_loopback
        self._fetcher = fetcher or DocumentFetcher(allow_loopback=allow_loopback)
        self._cache = cache or DocumentCache(clock=clock)
        self._backoff = backoff or Backoff(clock=clock)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = utcnow) -> ClientMetadataResolver:
        """The production resolver: ``WTP_ALLOW_LOOPBACK_CLIENT_METADATA`` is the only knob."""
        return cls(allow_loopback=settings.allow_loopback_client_metadata, clock=clock)

    async def resolve(self, client_id_url: str) -> ClientMetadata:
        """The validated metadata document for a ``client_id`` URL.

        draft-ietf-oauth-client-id-metadata-document §3–§4. Raises ``ClientMetadataError``,
        whose message can be shown to the user, on any refusal.
        """
        target = parse_client_id_url(client_id_url, allow_loopback=self._allow_loopback)
        cached = self._cache.get(client_id_url)
        if cached is not None:
            return cached
        wait = math.ceil(self._backoff.remaining(client_id_url))
        if wait > 0:
            raise ClientMetadataError(
                "The client metadata document at this URL could not be used a moment ago; "
                f"try again in {wait} second{'' if wait == 1 else 's'}."
            )
        try:
            metadata, ttl = await self._fetcher.fetch(target)
        except ClientMetadataError:
            self._backoff.failed(client_id_url)
            raise
        self._backoff.succeeded(client_id_url)
        self._cache.put(metadata, ttl)
        return metadata
