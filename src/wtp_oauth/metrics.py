"""Prometheus metrics and request ids (SPEC §16): the ``Observability`` ASGI layer and
``/metrics``.

With several workers, ``wtp-oauth serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a folder of
its own: every worker writes its figures there and a scrape, answered by any one worker, adds
them up. Without it the figures are this process's own.

Cost, on the hot path: one pass over the request headers, two clock readings, and for the
counter and the histogram one dictionary look-up each (the labelled children are kept, so
``labels()`` runs once per distinct label set). The OAuth core never imports this module; the
routers call :func:`token_issued` and :func:`oauth_error`.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wtp_oauth.logs import request_id

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: The ``route`` label of a request that matched no route (never the raw path: unbounded).
UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Where a 401 means a wrong username or password (the JSON API and the sign-in form).
_SIGN_IN_ROUTES = frozenset({("POST", "/api/session"), ("POST", "/login")})
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_REQUEST_ID_HEADER = b"x-request-id"
#: How often, at most, a worker records its pools' use between scrapes (seconds).
POOL_SAMPLE_INTERVAL = 2.0

HTTP_REQUESTS = Counter(
    "wtp_http_requests", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "wtp_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
TOKENS_ISSUED = Counter(
    "wtp_tokens_issued", "Successful token endpoint answers, by grant type", ["grant_type"]
)
OAUTH_ERRORS = Counter(
    "wtp_oauth_errors", "RFC 6749 §5.2 errors answered by the OAuth endpoints", ["error"]
)
SIGNIN_FAILURES = Counter(
    "wtp_signin_failures", "Sign-ins refused for a wrong username or password"
)
POOL_SIZE = Gauge(
    "wtp_db_pool_size",
    "Connections a database pool may hold (all workers)",
    ["pool"],
    multiprocess_mode="livesum",
)
POOL_IN_USE = Gauge(
    "wtp_db_pool_in_use",
    "Connections of a database pool handed out now (all workers)",
    ["pool"],
    multiprocess_mode="livesum",
)


def token_issued(grant_type: str) -> None:
    """Count one successful token endpoint answer (``grant_type``: a registered grant)."""
    TOKENS_ISSUED.labels(grant_type).inc()


def oauth_error(error: str) -> None:
    """Count one RFC 6749 §5.2 error answer (``error``: an error code of ``wtp_oauth.errors``)."""
    OAUTH_ERRORS.labels(error).inc()


def _pools(state: Any) -> Iterator[tuple[str, int, int]]:
    """``(name, size, in use)`` of each database pool of a running application."""
    pools = getattr(state.oauth.store, "pools", {})
    for name, pool in pools.items():
        yield name, pool.size, pool.in_use
    engine_pool = state.engine.pool
    size, checked_out = getattr(engine_pool, "size", None), getattr(engine_pool, "checkedout", None)
    if callable(size) and callable(checked_out):
        yield "sqlalchemy", int(size()), int(checked_out())


def sample_pools(state: Any) -> None:
    """Record how much of each pool is in use now."""
    for name, size, in_use in _pools(state):
        POOL_SIZE.labels(name).set(size)
        POOL_IN_USE.labels(name).set(in_use)


def exposition(state: Any) -> tuple[bytes, str]:
    """The Prometheus text of every worker's figures, and its content type."""
    if state is not None:
        sample_pools(state)
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def process_exiting() -> None:
    """Forget this worker's live gauges (its pools close with it)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def _route_of(scope: Scope, hot: frozenset[tuple[str, str]]) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if (scope["method"], scope["path"]) in hot:
        return str(scope["path"])
    return UNMATCHED


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == _REQUEST_ID_HEADER:
            text = value.decode("latin-1")
            return text if _REQUEST_ID.fullmatch(text) else None
    return None


class Observability:
    """Pure ASGI: gives every request an id (``X-Request-ID``, an incoming well-formed one
    reused) and counts and times it by route template. Wraps everything else, ``HotPaths``
    included, so that the hot paths are counted too."""

    def __init__(self, app: ASGIApp, hot_paths: frozenset[tuple[str, str]]) -> None:
        self.app = app
        self.hot_paths = hot_paths
        self._requests: dict[tuple[str, str, int], tuple[Any, bool]] = {}
        self._durations: dict[str, Any] = {}
        # Several workers: each records its pools' use now and then (a scrape reads them all).
        self._samples_pools = bool(os.environ.get(MULTIPROC_ENV))
        self._sampled = 0.0

    def _count(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        entry = self._requests.get(key)
        if entry is None:
            sign_in_failure = status == 401 and (method, route) in _SIGN_IN_ROUTES
            entry = self._requests[key] = (
                HTTP_REQUESTS.labels(method, route, str(status)),
                sign_in_failure,
            )
        counter, sign_in_failure = entry
        counter.inc()
        if sign_in_failure:
            SIGNIN_FAILURES.inc()
        histogram = self._durations.get(route)
        if histogram is None:
            histogram = self._durations[route] = HTTP_DURATION.labels(route)
        histogram.observe(seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid = _incoming_id(scope) or os.urandom(12).hex()
        request_id.set(rid)
        header = (_REQUEST_ID_HEADER, rid.encode("latin-1"))
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "other"
            end = time.perf_counter()
            self._count(method, _route_of(scope, self.hot_paths), status, end - start)
            if self._samples_pools and end - self._sampled > POOL_SAMPLE_INTERVAL:
                self._sampled = end
                state = getattr(scope["app"].state, "wtp", None)
                if state is not None:
                    sample_pools(state)
