"""The scenarios: what each one sends, prepared right before it is measured."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from benchmarks.loadgen import Measurement, request_line, run_wrk, write_lines
from benchmarks.prepare import (
    REDIRECT_URI,
    Fixture,
    exchange_codes,
    insert_codes,
)
from benchmarks.servers import Server

FORM = "application/x-www-form-urlencoded"
# Code exchanges per second that one run's prepared codes must last for: above any rate reached
# here (5,300/s on the fastest machine so far).
CODE_RATE_BOUND = 8000


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    baseline: str  # the baseline scenario it is compared with: "select" or "write"
    # Builds the request file for one run: (work dir, connections, duration) -> (script, args)
    build: Callable[[Path, int, float], tuple[str, list[str]]]


@dataclass
class Context:
    """What the builders need: the server, the database behind it and the prepared data."""

    server: Server
    database_url: str
    fixture: Fixture
    threads: int = 2


def code_exchange_lines(ctx: Context, count: int) -> list[str]:
    codes = insert_codes(ctx.database_url, ctx.fixture, count)
    return [
        request_line(
            "POST",
            "/api/oauth/token",
            urlencode(
                {"grant_type": "authorization_code", "code": c.code, "redirect_uri": REDIRECT_URI}
            ),
            {"Authorization": c.client.basic, "Content-Type": FORM},
        )
        for c in codes
    ]


def refresh_lines(ctx: Context, count: int) -> list[str]:
    client = ctx.fixture.clients[0]
    codes = insert_codes(ctx.database_url, ctx.fixture, count, clients=[client])
    tokens = exchange_codes(ctx.server.url, codes)
    return [f"{client.basic}\t{t.refresh_token}" for t in tokens]


def me_lines(ctx: Context) -> list[str]:
    return [
        request_line("GET", "/api/users/@me", None, {"Authorization": f"Bearer {t.access_token}"})
        for t in ctx.fixture.tokens
    ]


def introspect_lines(ctx: Context) -> list[str]:
    return [
        request_line(
            "POST",
            "/api/oauth/introspect",
            urlencode({"token": t.access_token, "token_type_hint": "access_token"}),
            {"Authorization": t.client.basic, "Content-Type": FORM},
        )
        for t in ctx.fixture.tokens
    ]


def signin_lines(ctx: Context) -> list[str]:
    client = ctx.fixture.clients[0]
    path = ctx.fixture.authorize_path(client)
    return [f"{client.basic}\t{user.session}\t{path}" for user in ctx.fixture.users]


def wtp_scenarios(ctx: Context) -> list[Scenario]:
    threads = str(ctx.threads)

    def code_exchange(work: Path, connections: int, duration: float) -> tuple[str, list[str]]:
        # The codes are dealt out among wrk's threads, and one thread may carry most of the
        # load (its connections on the less busy worker): each share lasts for the whole bound.
        count = (int(duration * CODE_RATE_BOUND) + connections) * ctx.threads
        path = write_lines(work / "codes.txt", code_exchange_lines(ctx, count))
        return "requests.lua", [str(path), threads, "once", '"access_token"']

    def refresh(work: Path, connections: int, duration: float) -> tuple[str, list[str]]:
        # Each thread needs more starting tokens than it has connections.
        path = write_lines(work / "refresh.txt", refresh_lines(ctx, 2 * connections + 8))
        return "refresh.lua", [str(path), threads]

    def me(work: Path, connections: int, duration: float) -> tuple[str, list[str]]:
        path = write_lines(work / "me.txt", me_lines(ctx))
        return "requests.lua", [str(path), threads, "cycle", '"username"']

    def introspect(work: Path, connections: int, duration: float) -> tuple[str, list[str]]:
        path = write_lines(work / "introspect.txt", introspect_lines(ctx))
        return "requests.lua", [str(path), threads, "cycle", '"active":true']

    def signin(work: Path, connections: int, duration: float) -> tuple[str, list[str]]:
        path = write_lines(work / "signin.txt", signin_lines(ctx))
        return "signin.lua", [str(path), threads]

    return [
        Scenario("code_exchange", "(a) code exchange", "write", code_exchange),
        Scenario("refresh", "(b) refresh", "write", refresh),
        Scenario("me", "(c) GET /api/users/@me", "select", me),
        Scenario("introspect", "(d) introspection", "select", introspect),
        Scenario("signin", "(e) sign-in: authorize + exchange + @me", "write", signin),
    ]


def baseline_scenarios(threads: int) -> list[Scenario]:
    def select(work: Path, connections: int, duration: float) -> tuple[str, list[str]]:
        path = write_lines(work / "select.txt", [request_line("GET", "/select", None, {})])
        return "requests.lua", [str(path), str(threads), "cycle", '"hits"']

    def write(work: Path, connections: int, duration: float) -> tuple[str, list[str]]:
        path = write_lines(work / "write.txt", [request_line("POST", "/write", None, {})])
        return "requests.lua", [str(path), str(threads), "cycle", '"hits"']

    return [
        Scenario("baseline_select", "baseline: one SELECT", "select", select),
        Scenario("baseline_write", "baseline: INSERT + UPDATE transaction", "write", write),
    ]


def measure(
    server: Server,
    scenario: Scenario,
    work: Path,
    *,
    connections: int,
    duration: float,
    threads: int,
    database: str | None,
    settle: Callable[[], None] | None = None,
) -> Measurement:
    script, args = scenario.build(work, connections, duration)
    if settle is not None:
        settle()
    return run_wrk(
        server,
        scenario.name,
        script,
        args,
        connections=connections,
        duration=duration,
        threads=threads,
        database=database,
    )
