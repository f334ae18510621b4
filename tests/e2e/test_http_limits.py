"""Request heads on the wire, against a real ``wtp-oauth serve`` (SPEC §17; issue 11 §2.7).

Headers are capped (16 KiB a field, 64 KiB in all, 100 fields: 431), a request target too
(16 KiB: 414); a request needs exactly one valid Host (RFC 9112 §3.2: 400); and connections
that send no complete head in time are closed, so that hundreds of idle or half-open
connections neither hold the server nor stay open.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LiveServer


def _exchange(server: LiveServer, raw: bytes) -> bytes:
    """Send ``raw`` and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _status(answer: bytes) -> bytes:
    return answer.split(b"\r\n", 1)[0]


def _get(*fields: bytes, target: bytes = b"/healthz", host: bytes | None = b"x") -> bytes:
    lines = [b"GET " + target + b" HTTP/1.1"]
    lines += [b"Host: " + host] if host is not None else []
    lines += [*fields, b"Connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n"


# --- Header limits ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        [b"X-Big: " + b"a" * 2_000_000],
        [b"X-%d: a" % i for i in range(20_000)],
        [b"Cookie: wtp_session=" + b"c" * 2_000_000],
        [b"X-%d: a" % i for i in range(99)],  # and Host and Connection: 101 fields
        [b"X-Big: " + b"a" * 16_380],  # 16,385 bytes of name and value
        [b"X-%d: " % i + b"a" * 16_000 for i in range(5)],  # 80 KB in all
    ],
    ids=["2MB-field", "20000-fields", "2MB-cookie", "101-fields", "16KiB+1", "80KB-in-all"],
)
def test_oversized_heads_are_431_at_once(live_server: LiveServer, fields: list[bytes]) -> None:
    started = time.monotonic()
    answer = _exchange(live_server, _get(*fields))
    assert _status(answer) == b"HTTP/1.1 431 Request Header Fields Too Large", answer[:300]
    assert b"connection: close" in answer.lower()
    assert time.monotonic() - started < 1
    assert httpx.get(f"{live_server.url}/healthz").status_code == 200


def test_heads_up_to_the_limits_pass(live_server: LiveServer) -> None:
    fields = [b"X-%d: " % i + b"a" * 15_000 for i in range(4)]  # 60 KB in four fields
    fields += [b"X-Small-%d: a" % i for i in range(94)]  # 100 with Host and Connection
    assert _status(_exchange(live_server, _get(*fields))) == b"HTTP/1.1 200 OK"


def test_a_target_over_16_kib_is_414(live_server: LiveServer) -> None:
    ok = _exchange(live_server, _get(target=b"/healthz?" + b"a" * 16_000))
    over = _exchange(live_server, _get(target=b"/healthz?" + b"a" * 16_400))
    assert _status(ok) == b"HTTP/1.1 200 OK"
    assert _status(over) == b"HTTP/1.1 414 Request-URI Too Long"


def test_a_refusal_does_not_end_the_answers_before_it(live_server: LiveServer) -> None:
    """Pipelined: a good request, then an oversized one on the same connection."""
    raw = _get()[: -len(b"Connection: close\r\n\r\n")] + b"\r\n"
    answer = _exchange(live_server, raw + _get(b"X-Big: " + b"a" * 20_000))
    assert answer.startswith(b"HTTP/1.1 200 OK") and b'{"status":"ok"}' in answer
    assert b"HTTP/1.1 431 Request Header Fields Too Large" in answer


# --- Host ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        _get(host=None),
        _get(b"Host: y"),
        _get(host=b"a b"),
        _get(host=b""),
        _get(host=b"user@x"),
        b"POST /api/oauth/token HTTP/1.1\r\nHost: x\r\nHost: evil.example\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n"
        b"Connection: close\r\n\r\n",
        _get(target=b"/api/users/@me", host=b"a b"),
    ],
    ids=["none", "two", "space", "empty", "userinfo", "two-token-endpoint", "space-user-api"],
)
def test_exactly_one_valid_host_or_400(live_server: LiveServer, raw: bytes) -> None:
    answer = _exchange(live_server, raw)
    assert _status(answer) == b"HTTP/1.1 400 Bad Request", answer[:300]
    assert b'"detail"' in answer and b"Host" in answer


@pytest.mark.parametrize(
    "raw",
    [
        _get(host=b"127.0.0.1:8000"),
        _get(host=b"[::1]:8000"),
        b"GET /healthz HTTP/1.0\r\n\r\n",  # HTTP/1.0 may leave Host out
    ],
    ids=["ipv4", "ipv6", "http-1.0"],
)
def test_valid_hosts_pass(live_server: LiveServer, raw: bytes) -> None:
    assert _status(_exchange(live_server, raw)) == b"HTTP/1.1 200 OK"


# --- Slow clients ----------------------------------------------------------------------------

HEAD_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def impatient_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One worker (every idle connection on it) whose head timeout is 2 s, not 10."""
    server = LiveServer(database_url, workers=1, env={"WTP_HEAD_TIMEOUT": str(HEAD_TIMEOUT)})
    server.start(tmp_path_factory.mktemp("impatient"))
    try:
        yield server
    finally:
        server.stop()


def _open(server: LiveServer, count: int, first_bytes: bytes) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        if first_bytes:
            sock.sendall(first_bytes)
        sockets.append(sock)
    return sockets


def _closed_by_server(sockets: list[socket.socket], deadline: float) -> dict[int, bytes]:
    """Wait (at most until ``deadline``) for the server to close each socket; what each
    received, by file descriptor."""
    received = {sock.fileno(): b"" for sock in sockets}
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        open_ = len(sockets)
        while open_ and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=deadline - time.monotonic()):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if chunk:
                    received[sock.fileno()] += chunk
                else:
                    selector.unregister(sock)
                    open_ -= 1
        assert open_ == 0, f"{open_} connections still open after the head timeout"
    return received


def test_idle_and_half_open_connections_neither_block_nor_stay(
    impatient_server: LiveServer,
) -> None:
    """Issue 11 §2.7: 300 connections that send nothing or half a request head; the server
    answers others at once meanwhile, and closes them all when their time is up (408 to the
    half-open ones)."""
    opened = time.monotonic()
    idle = _open(impatient_server, 150, b"")
    half = _open(impatient_server, 150, b"GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Ag")
    try:
        with httpx.Client(base_url=impatient_server.url, timeout=5) as http:
            for _ in range(20):
                started = time.monotonic()
                assert http.get("/healthz").status_code == 200
                assert time.monotonic() - started < 0.5
        # Bounded: each closes within a few seconds of its timeout, none before it.
        received = _closed_by_server(idle + half, deadline=time.monotonic() + HEAD_TIMEOUT + 8)
        assert time.monotonic() - opened >= HEAD_TIMEOUT
        assert all(received[sock.fileno()] == b"" for sock in idle)
        for sock in half:
            assert received[sock.fileno()].startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    finally:
        for sock in idle + half:
            sock.close()
    assert httpx.get(f"{impatient_server.url}/healthz").status_code == 200
    assert "Traceback" not in impatient_server.log()


def test_a_head_trickled_slowly_is_cut_off_at_the_timeout(impatient_server: LiveServer) -> None:
    """A slowloris sends a byte of a never-ending head now and then: the clock runs from its
    first byte, not from its last."""
    with socket.create_connection(("127.0.0.1", impatient_server.port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        answer = b""
        sock.settimeout(0.5)
        while time.monotonic() - started < HEAD_TIMEOUT + 5:
            try:
                sock.sendall(b"X")
                chunk = sock.recv(65536)  # waits up to 0.5 s: the trickle's pace
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if not chunk:
                break
            answer += chunk
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
    assert HEAD_TIMEOUT - 0.1 <= elapsed < HEAD_TIMEOUT + 3
