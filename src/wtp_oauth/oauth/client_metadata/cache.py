"""A bounded cache of validated documents, kept as long as their HTTP headers allow.

RFC 9111 §4.2.1 gives a response's freshness lifetime (``Cache-Control: max-age``, else
``Expires`` − ``Date``), less its ``Age`` (§4.2.3). SPEC §14 clamps it between 5 minutes and
24 hours, so a document asking for ``no-store`` or ``no-cache`` is still kept 5 minutes (the
authorization request that fetched it must be able to finish) and none is kept more than a day.
Only documents that passed validation are stored: a failure is never cached.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from wtp_oauth.clock import Clock, utcnow

from .document import ClientMetadata

MIN_TTL = 300
MAX_TTL = 86_400
MAX_ENTRIES = 1000


def _directives(cache_control: str) -> dict[str, str]:
    directives: dict[str, str] = {}
    for item in cache_control.split(","):
        name, _, value = item.strip().partition("=")
        if name:
            directives.setdefault(name.strip().lower(), value.strip().strip('"'))
    return directives


def _seconds(value: str | None) -> int | None:
    if value is None or not value.isdigit():
        return None
    return int(value)


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


def freshness_lifetime(headers: Mapping[str, str]) -> int:
    """Seconds a response may be reused (RFC 9111 §4.2.1), clamped to [MIN_TTL, MAX_TTL].

    ``headers`` is looked up with lower-case names (``httpx.Headers`` is case-insensitive).
    """
    directives = _directives(headers.get("cache-control", ""))
    if "no-store" in directives or "no-cache" in directives:
        return MIN_TTL
    lifetime = _seconds(directives.get("max-age"))
    if lifetime is None:
        expires, date = _http_date(headers.get("expires")), _http_date(headers.get("date"))
        if expires is not None and date is not None:
            lifetime = int((expires - date).total_seconds())
    if lifetime is None:
        return MIN_TTL
    lifetime -= _seconds(headers.get("age")) or 0
    return max(MIN_TTL, min(MAX_TTL, lifetime))


class DocumentCache:
    """Least-recently-used cache of ``ClientMetadata`` by URL, at most ``max_entries`` long."""

    def __init__(self, *, max_entries: int = MAX_ENTRIES, clock: Clock = utcnow) -> None:
        self._entries: OrderedDict[str, tuple[ClientMetadata, datetime]] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, url: str) -> ClientMetadata | None:
        """The fresh document for ``url``, or ``None``; a stale entry is dropped."""
        entry = self._entries.get(url)
        if entry is None:
            return None
        metadata, expires_at = entry
        if self._clock() >= expires_at:
            del self._entries[url]
            return None
        self._entries.move_to_end(url)
        return metadata

    def put(self, metadata: ClientMetadata, ttl: int) -> None:
        """Keep ``metadata`` for ``ttl`` seconds; beyond the cap, the least recently used goes."""
        url = metadata.client_id
        self._entries[url] = (metadata, self._clock() + timedelta(seconds=ttl))
        self._entries.move_to_end(url)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def discard(self, url: str) -> None:
        """Forget ``url``."""
        self._entries.pop(url, None)
