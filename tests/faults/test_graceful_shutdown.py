"""Issue 11 §2.3: SIGTERM while requests are in flight.

What is asserted, precisely:

- A request the server has begun to serve is answered in full. "Begun" is made certain
  rather than hoped for: each of these requests is sent with ``Expect: 100-continue`` and its
  body is held back until the server, from inside the application, asks for it
  (``HTTP/1.1 100 Continue``). SIGTERM comes then; the bodies are sent only once every worker
  has logged that it is shutting down; each of these requests still gets its 200 and a
  correct body (tokens that work, an active introspection).
- A request sent just before SIGTERM (whole, without the handshake) either gets a complete
  200, or its connection ends without a single byte of answer (the server never read it, so a
  client may safely send it again): never a partial answer, never a 5xx.
- The server process exits with status 0 within ``EXIT_BOUND`` seconds, with two workers
  (uvicorn's supervisor) and with one (``test_sigterm_exits_0_with_one_worker``: uvicorn
  raises SIGTERM again after its graceful shutdown, which ``serve`` turns into a clean exit).
- A server started again on the same database loses nothing: the session cookie still works,
  and so does every token issued during the shutdown.
"""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from tests.faults.conftest import Node
from tests.faults.traffic import FAMILIES, Recorder, authorize, query, sign_up_and_in
from tests.faults.traffic import create_application as register
from tests.faults.traffic import exchange as guide_exchange

pytestmark = pytest.mark.faults

IN_FLIGHT = 40  # requests held open across SIGTERM (half code exchanges, half introspections)
BURST = 30  # requests sent whole just before SIGTERM
EXIT_BOUND = 20.0
WORKERS = 2


@dataclass
class Reply:
    status: int | None  # None: the connection ended before any byte of an answer
    headers: dict[str, str]
    body: bytes


async def _read_reply(reader: asyncio.StreamReader) -> Reply:
    """One HTTP/1.1 answer, whole; or ``Reply(None, …)`` if the connection ended with no byte
    of one. A connection that ends mid-answer fails the test."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        assert exc.partial == b"", f"a partial answer: {exc.partial!r}"
        return Reply(None, {}, b"")
    except ConnectionResetError:
        return Reply(None, {}, b"")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Reply(int(status_line.split()[1]), headers, body)


class Raw:
    """One HTTP/1.1 request on a socket of its own, sent in two parts."""

    def __init__(self, port: int, method: str, path: str, headers: dict[str, str], body: bytes):
        self.port = port
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        self.head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        self.body = body
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def send_head(self) -> None:
        assert self.writer is not None
        self.writer.write(self.head)
        await self.writer.drain()

    async def await_continue(self) -> None:
        """Until the application asks for the body (RFC 9110 §10.1.1)."""
        assert self.reader is not None
        interim = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 10)
        assert interim.startswith(b"HTTP/1.1 100"), interim

    async def finish(self) -> Reply:
        assert self.reader is not None and self.writer is not None
        try:
            if self.body:
                self.writer.write(self.body)
                await self.writer.drain()
            return await asyncio.wait_for(_read_reply(self.reader), 15)
        finally:
            self.writer.close()


async def _shutting_down(log: Path, workers: int) -> None:
    """Until every worker has logged that it is shutting down (bounded)."""
    deadline = time.monotonic() + 10
    while (text := await asyncio.to_thread(log.read_text)).count("Shutting down") < workers:
        assert time.monotonic() < deadline, text[-2000:]


async def test_sigterm_finishes_what_is_in_flight_and_loses_nothing(
    fresh_database: Callable[..., str], nodes: Callable[..., Node]
) -> None:
    url = fresh_database("postgres")
    server = nodes(url, workers=WORKERS)
    rec = Recorder()
    async with httpx.AsyncClient(base_url=server.url) as user:
        await sign_up_and_in(user, rec)
        client = await register(user, rec)
        cookie = user.cookies["wtp_session"]
        codes = [await authorize(user, rec, client) for _ in range(IN_FLIGHT // 2)]
        spare = await guide_exchange(user, rec, client, await authorize(user, rec, client))
    secret = {"Authorization": f"Bearer {client.client_secret}"}
    pair = f"{client.client_id}:{client.client_secret}".encode()
    basic_header = "Basic " + base64.b64encode(pair).decode()

    held = [
        Raw(
            server.port,
            "POST",
            "/api/oauth/token",
            {**secret, "Content-Type": "application/json", "Expect": "100-continue"},
            json.dumps(
                {"code": code, "grand_type": "authorization_code", "client_id": client.client_id}
            ).encode(),
        )
        for code in codes
    ] + [
        Raw(
            server.port,
            "POST",
            "/api/oauth/introspect",
            {
                "Authorization": basic_header,
                "Content-Type": "application/x-www-form-urlencoded",
                "Expect": "100-continue",
            },
            urlencode({"token": spare["access_token"]}).encode(),
        )
        for _ in range(IN_FLIGHT - len(codes))
    ]
    burst = [
        Raw(
            server.port,
            "GET",
            "/api/users/@me",
            {"Authorization": f"Bearer {spare['access_token']}", "Connection": "close"},
            b"",
        )
        for _ in range(BURST)
    ]
    await asyncio.gather(*(request.open() for request in held + burst))
    await asyncio.gather(*(request.send_head() for request in held))
    await asyncio.gather(*(request.await_continue() for request in held))
    await asyncio.gather(*(request.send_head() for request in burst))

    server.send_signal(signal.SIGTERM)
    terminated = time.monotonic()
    assert server.log_path is not None
    await _shutting_down(server.log_path, WORKERS)
    held_replies = await asyncio.gather(*(request.finish() for request in held))
    burst_replies = await asyncio.gather(*(request.finish() for request in burst))
    status = await asyncio.to_thread(server.wait, EXIT_BOUND)
    exit_seconds = time.monotonic() - terminated

    # Begun before SIGTERM: answered in full.
    for reply in held_replies:
        assert reply.status == 200, reply
        assert reply.headers["connection"] == "close", reply.headers
    issued = [json.loads(reply.body) for reply in held_replies[: len(codes)]]
    assert all(token["access_token"].startswith("wtpa_") for token in issued), issued
    assert all(json.loads(r.body)["active"] is True for r in held_replies[len(codes) :])
    # Sent just before: a whole 200, or not a single byte.
    for reply in burst_replies:
        assert reply.status in (200, None), reply
        if reply.status == 200:
            assert json.loads(reply.body)["id"], reply
    assert status == 0, server.log()[-2000:]
    assert exit_seconds < EXIT_BOUND
    # The held requests' whole answers, their bodies sent after both workers logged their
    # shutdown, show that the workers waited for them. uvicorn's "Waiting for connections to
    # close" line proves nothing more: it is written only if a connection is still open 0.1 s
    # after "Shutting down", and these may have finished by then (one CI run).
    assert "Traceback" not in server.log(), server.log()[-3000:]

    # Started again on the same database: the session and every token issued still work.
    again = nodes(url, workers=1)
    async with httpx.AsyncClient(base_url=again.url, cookies={"wtp_session": cookie}) as http:
        r = await http.get("/api/users/@me/authorizations")
        assert r.status_code == 200, r.text
        assert [entry["client_id"] for entry in r.json()] == [client.client_id]
        for token in issued:
            bearer = {"Authorization": f"Bearer {token['access_token']}"}
            assert (await http.get("/api/users/@me", headers=bearer)).status_code == 200
    # Each code was exchanged exactly once, for exactly one pair of tokens.
    families = [f for f in await query(url, FAMILIES) if f["consumed"]]
    assert len(families) == len(codes) + 1
    assert all(f["access"] == f["refresh"] == 1 for f in families), families


def test_sigterm_exits_0_with_one_worker(
    fresh_database: Callable[..., str], nodes: Callable[..., Node]
) -> None:
    server = nodes(fresh_database("sqlite"), workers=1)
    server.send_signal(signal.SIGTERM)
    status = server.wait(EXIT_BOUND)
    assert "Application shutdown complete" in server.log()
    assert status == 0
