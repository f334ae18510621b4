"""Issue 11 §2.1: the database goes away under traffic, and comes back (SPEC §9).

The test runs its own PostgreSQL cluster (``own_postgres``) and one ``wtp-oauth serve`` on it,
drives whole flows from several clients at once, and crashes the database mid-traffic
(``pg_ctl stop -m immediate``). While it is down, every kind of request gets a clean 503 in
time; once it is back, the same server process serves again without help, and no grant was
left half-written.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from tests.faults.conftest import Node, ThrowawayPostgres
from tests.faults.traffic import (
    FAMILIES,
    OAUTH_KINDS,
    ORPHAN_TOKENS,
    Answer,
    Interrupted,
    Recorder,
    authorize,
    create_application,
    exchange,
    half_written,
    introspect,
    me,
    query,
    refresh,
    sign_up_and_in,
    whole_flow,
)
from tests.helpers import PASSWORD, Client, authorize_params

pytestmark = pytest.mark.faults

BOUND = 10.0  # seconds any answer may take, database up or down
RECOVERY = 30.0  # seconds the server may take to serve again once the database is back
WHOLE_FLOWS = 2  # clients looping over whole flows (sign-up first: argon2 bound)
TOKEN_FLOWS = 3  # signed-in users looping over the token path


TERMINATE_BACKENDS = """
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid()
"""


def clean_unavailable(answer: Answer) -> bool:
    """A 503 in time, with Retry-After, in the shape of its endpoint."""
    if answer.status != 503 or answer.seconds > BOUND or "retry-after" not in answer.headers:
        return False
    if not isinstance(answer.body, dict):
        return False
    if answer.kind in OAUTH_KINDS:
        return answer.body.get("error") == "temporarily_unavailable"
    return isinstance(answer.body.get("detail"), str)


Flow = Callable[[Recorder], Awaitable[object]]


class Traffic:
    """Loops of flows running at once; a flow cut short by the outage waits for the database
    to be back (``back``), then starts again."""

    def __init__(self, flows: list[Flow]) -> None:
        self.rec = Recorder()
        self.done: list[object] = []
        self.back = asyncio.Event()  # set while the database is up
        self.back.set()
        self._flows = flows
        self._stop = asyncio.Event()
        self._progress = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(flow)) for flow in self._flows]

    async def _loop(self, flow: Flow) -> None:
        while not self._stop.is_set():
            try:
                self.done.append(await flow(self.rec))
                self._progress.set()
            except Interrupted as exc:
                if exc.answer.status == 503 and not self.back.is_set():
                    await self.back.wait()
                elif exc.answer.status != 503:
                    return  # judged with every other answer at the end

    async def flows_done(self, count: int, within: float = 60) -> None:
        """Wait until ``count`` flows have completed in all (at most ``within`` seconds)."""
        async with asyncio.timeout(within):
            while len(self.done) < count:
                self._progress.clear()
                await self._progress.wait()

    async def stop(self) -> None:
        self._stop.set()
        self.back.set()
        await asyncio.gather(*self._tasks)


def _token_flow(http: httpx.AsyncClient, client: Client) -> Flow:
    """The token path only, as a signed-in user's application uses it all day: the authorize
    link (consent remembered), the exchange, ``@me``, a refresh, ``@me``, introspection."""

    async def flow(rec: Recorder) -> object:
        first = await exchange(http, rec, client, await authorize(http, rec, client))
        await me(http, rec, first["access_token"])
        second = await refresh(http, rec, client, first["refresh_token"])
        await me(http, rec, second["access_token"])
        return await introspect(http, rec, client, second["access_token"])

    return flow


def _whole_flow(base_url: str) -> Flow:
    async def flow(rec: Recorder) -> object:
        return await whole_flow(base_url, rec, wait=BOUND + 5)

    return flow


async def _probe(rec: Recorder, kind: str, call: Awaitable[httpx.Response]) -> Answer:
    try:
        await rec.send(kind, call, ())
    except Interrupted as exc:
        return exc.answer
    raise AssertionError("unreachable")


def _probes(
    dev: httpx.AsyncClient, user: httpx.AsyncClient, client: Client, spare: dict[str, Any]
) -> dict[str, Callable[[], Awaitable[httpx.Response]]]:
    """One request of every kind the traffic sends, ready to be sent again and again."""
    basic = (client.client_id, client.client_secret or "")
    bearer = {"Authorization": f"Bearer {spare['access_token']}"}
    name = "probe-user"
    account = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    guide_body = {
        "code": spare["code"],
        "grand_type": "authorization_code",
        "client_id": client.client_id,
    }
    secret = {"Authorization": f"Bearer {client.client_secret}"}
    refresh = {"grant_type": "refresh_token", "refresh_token": spare["refresh_token"]}
    app = {"name": "During the outage", "redirect_uris": client.redirect_uris}
    return {
        "sign-up": lambda: user.post("/api/users", json=account),
        "sign-in": lambda: dev.post("/api/session", json={"username": name, "password": "x" * 9}),
        "application": lambda: dev.post("/api/applications", json=app),
        "applications": lambda: dev.get("/api/applications"),
        "authorize": lambda: user.get("/oauth/authorize", params=authorize_params(client)),
        "token": lambda: user.post("/api/oauth/token", json=guide_body, headers=secret),
        "refresh": lambda: user.post("/api/oauth/token", data=refresh, auth=basic),
        "me": lambda: user.get("/api/users/@me", headers=bearer),
        "introspect": lambda: user.post(
            "/api/oauth/introspect", data={"token": spare["access_token"]}, auth=basic
        ),
        "revoke": lambda: user.post(
            "/api/oauth/revoke", data={"token": "wtpa_not-a-token"}, auth=basic
        ),
    }


async def test_database_outage_answers_503_and_the_same_server_recovers(
    own_postgres: ThrowawayPostgres, nodes: Callable[..., Node]
) -> None:
    url = own_postgres.create_database("wtp")
    server = nodes(url, workers=1)
    rec = Recorder()
    timeout = httpx.Timeout(BOUND + 5)
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=timeout) as dev,
        httpx.AsyncClient(base_url=server.url, timeout=timeout) as user,
        AsyncExitStack() as stack,
    ):
        # A developer's application, and a user holding a spare code and pair of tokens.
        await sign_up_and_in(dev, rec)
        client = await create_application(dev, rec)
        await sign_up_and_in(user, rec)
        spare = dict(await exchange(user, rec, client, await authorize(user, rec, client)))
        spare["code"] = await authorize(user, rec, client)
        probes = _probes(dev, user, client, spare)

        # Whole flows (sign-up to introspection), and the token path of signed-in users.
        flows = [_whole_flow(server.url) for _ in range(WHOLE_FLOWS)]
        for _ in range(TOKEN_FLOWS):
            http = await stack.enter_async_context(
                httpx.AsyncClient(base_url=server.url, timeout=timeout)
            )
            await sign_up_and_in(http, rec)
            await authorize(http, rec, client)  # consents once
            flows.append(_token_flow(http, client))
        traffic = Traffic(flows)
        traffic.start()
        await traffic.flows_done(len(flows) * 2)

        # The database ends the server's connections (an administrator, a pooler, a
        # failover), while flows are running: the next requests open new ones.
        for _ in range(2):
            killed = await query(url, TERMINATE_BACKENDS)
            assert killed, "the server had no connection to end"
            await traffic.flows_done(len(traffic.done) + len(flows))

        # The crash, while flows are running.
        traffic.back.clear()
        await asyncio.to_thread(own_postgres.stop, "immediate")
        down = {kind: await _probe(rec, kind, call()) for kind, call in probes.items()}
        ready = await dev.get("/readyz")

        await asyncio.to_thread(own_postgres.start)
        restarted = time.monotonic()
        traffic.back.set()
        recovered: dict[str, Answer] = {}
        while set(recovered) != {"applications", "me", "introspect"}:
            assert time.monotonic() - restarted < RECOVERY, f"not recovered: {recovered}"
            for kind in ("applications", "me", "introspect"):
                answer = await _probe(rec, kind, probes[kind]())
                if answer.status == 200:
                    recovered[kind] = answer
        recovery_seconds = time.monotonic() - restarted
        await traffic.flows_done(len(traffic.done) + len(flows))
        await traffic.stop()

        # What was refused during the outage was not done: the spare code and refresh
        # token work now.
        after = {kind: await _probe(rec, kind, probes[kind]()) for kind in ("token", "refresh")}

    for kind, answer in down.items():
        assert clean_unavailable(answer), f"during the outage, {answer}"
    assert ready.status_code == 503 and ready.json() == {"status": "unavailable"}
    assert recovery_seconds < RECOVERY
    assert after["token"].status == 200, after["token"]
    assert after["refresh"].status == 200, after["refresh"]
    assert server.is_running(), "the server process did not survive the outage"
    assert "Traceback" not in server.log(), server.log()[-3000:]

    # Every answer the traffic got was either what the flow expects or a clean 503.
    wrong = [
        answer
        for answer in traffic.rec.answers
        if answer.status is None
        or answer.seconds > BOUND
        or (answer.status >= 500 and not clean_unavailable(answer))
        or (400 <= answer.status < 500)
    ]
    assert not wrong, "\n".join(map(str, wrong))
    assert any(answer.status == 503 for answer in traffic.rec.answers)

    # No half-written grant: each family's code and tokens are all there or not at all.
    families = await query(url, FAMILIES)
    assert not half_written(families), half_written(families)
    assert not await query(url, ORPHAN_TOKENS)
    assert sum(1 for family in families if family["consumed"]) >= len(traffic.done) + 2
