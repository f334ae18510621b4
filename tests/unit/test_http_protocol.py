"""http_protocol.py: the one-write transport, the bounds on request heads, and the uvicorn
internals both rely on.

The protocol is driven here as uvicorn's server drives it (``connection_made``,
``data_received``), over a recording transport and with the head timer fired by hand."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httptools
import pytest
import uvicorn
from uvicorn.config import Config
from uvicorn.protocols.http import httptools_impl
from uvicorn.server import ServerState

from wtp_oauth import cli, http_protocol
from wtp_oauth.http_protocol import (
    LINGER_BYTES,
    MAX_FIELD_SIZE,
    MAX_FIELDS,
    MAX_HEAD_SIZE,
    MAX_TARGET_SIZE,
    OneWriteHttpToolsProtocol,
    OneWriteTransport,
)


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False
        self.eof = False  # write_eof(): our side of the connection is done

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True

    def get_write_buffer_size(self) -> int:
        return 7

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        extra = {"peername": ("127.0.0.1", 1234), "sockname": ("127.0.0.1", 8000)}
        return extra.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _next_step() -> None:
    await asyncio.sleep(0)


async def test_the_writes_of_one_step_leave_as_one() -> None:
    inner = RecordingTransport()
    transport = OneWriteTransport(inner, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"")
    transport.write(b"{}")
    assert inner.writes == [] and transport.get_write_buffer_size() == 7 + 40
    await _next_step()
    assert inner.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    assert transport.get_write_buffer_size() == 7


async def test_a_streamed_body_leaves_step_by_step() -> None:
    inner = RecordingTransport()
    transport = OneWriteTransport(inner, asyncio.get_running_loop())
    transport.writelines([b"head", b"er"])
    await _next_step()
    transport.write(b"chunk 1")
    await _next_step()
    transport.write(b"chunk 2")
    await _next_step()
    assert inner.writes == [b"header", b"chunk 1", b"chunk 2"]


async def test_close_sends_what_was_written_first() -> None:
    inner = RecordingTransport()
    transport = OneWriteTransport(inner, asyncio.get_running_loop())
    transport.write(b"last answer")
    transport.close()
    assert inner.writes == [b"last answer"] and inner.closed
    await _next_step()
    assert inner.writes == [b"last answer"]


async def test_abort_drops_what_is_pending() -> None:
    inner = RecordingTransport()
    transport = OneWriteTransport(inner, asyncio.get_running_loop())
    transport.write(b"never sent")
    transport.abort()
    await _next_step()
    assert inner.writes == [] and inner.aborted


async def test_nothing_is_written_to_a_closing_transport() -> None:
    inner = RecordingTransport()
    transport = OneWriteTransport(inner, asyncio.get_running_loop())
    transport.write(b"too late")
    inner.closed = True
    await _next_step()
    assert inner.writes == []


async def test_everything_else_is_the_wrapped_transports() -> None:
    inner = RecordingTransport()
    transport = OneWriteTransport(inner, asyncio.get_running_loop())
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1234)
    assert transport.is_closing() is False


# --- The protocol, driven by hand ----------------------------------------------------------


class Timer:
    """What ``loop.call_later`` returned: fired by the test instead of by the clock."""

    def __init__(self, delay: float, callback: Callable[[], None]) -> None:
        self.delay, self.callback, self.cancelled = delay, callback, False

    def cancel(self) -> None:
        self.cancelled = True

    def fire(self) -> None:
        assert not self.cancelled
        self.callback()


class ManualTimers:
    """The running loop, except that ``call_later`` only records."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.timers: list[Timer] = []

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(delay, callback)
        self.timers.append(timer)
        return timer

    def head_timers(self) -> list[Timer]:
        return [t for t in self.timers if t.callback.__name__ == "_head_timed_out"]

    def linger_timers(self) -> list[Timer]:
        return [t for t in self.timers if t.callback.__name__ == "close"]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)


class Connection:
    """One connection to the protocol, with the requests the application saw."""

    def __init__(self, loop: ManualTimers) -> None:
        self.requests: list[dict[str, Any]] = []
        config = Config(
            app=self._app, interface="asgi3", log_config=None, proxy_headers=False, lifespan="off"
        )
        config.load()
        self.loop = loop
        self.protocol = OneWriteHttpToolsProtocol(
            config=config,
            server_state=ServerState(),
            app_state={},
            _loop=loop,  # type: ignore[arg-type]
        )
        self.transport = RecordingTransport()
        self.protocol.connection_made(self.transport)

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.requests.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def send(self, *pieces: bytes) -> None:
        for piece in pieces:
            self.protocol.data_received(piece)

    async def answers(self) -> bytes:
        for _ in range(5):
            await _next_step()
        return b"".join(self.transport.writes)

    async def status(self) -> bytes:
        return (await self.answers()).split(b"\r\n", 1)[0]

    def lingers(self) -> bool:
        """Refused: answered, our side shut (FIN), and closed once the linger time is up."""
        [timer] = self.loop.linger_timers()
        if not self.transport.eof or self.transport.closed or timer.delay != 2:
            return False
        timer.fire()
        return self.transport.closed


@pytest.fixture
async def timers() -> ManualTimers:
    return ManualTimers(asyncio.get_running_loop())


@pytest.fixture
async def connection(timers: ManualTimers) -> Connection:
    return Connection(timers)


def _request(*fields: bytes, target: bytes = b"/", body: bytes = b"") -> bytes:
    lines = [b"POST " + target + b" HTTP/1.1", b"Host: x", *fields]
    if body:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _field(size: int, name: bytes = b"X-Big") -> bytes:
    """A field line whose name and value together are ``size`` bytes."""
    return name + b": " + b"a" * (size - len(name))


async def test_a_field_of_16_kib_passes_and_one_byte_more_is_431(timers: ManualTimers) -> None:
    ok, over = Connection(timers), Connection(timers)
    ok.send(_request(_field(MAX_FIELD_SIZE)))
    over.send(_request(_field(MAX_FIELD_SIZE + 1)))
    assert await ok.status() == b"HTTP/1.1 200 OK" and len(ok.requests) == 1
    answer = await over.answers()
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"connection: close\r\n" in answer and b"over 16384 bytes" in answer
    assert over.requests == [] and over.lingers()


async def test_a_huge_cookie_is_refused_before_it_is_all_read(connection: Connection) -> None:
    """2 MB of cookie, sent 8 KiB at a time: refused after about 16 KiB, not buffered."""
    connection.send(b"GET / HTTP/1.1\r\nHost: x\r\nCookie: ")
    for sent in range(0, 2_000_000, 8192):
        if connection.transport.eof:
            break
        connection.send(b"c" * 8192)
    assert sent <= MAX_FIELD_SIZE + 16 * 1024
    assert (await connection.status()) == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert connection.requests == []


async def test_100_fields_pass_and_101_are_431(timers: ManualTimers) -> None:
    ok, over = Connection(timers), Connection(timers)
    ok.send(_request(*(b"X-%d: 1" % i for i in range(MAX_FIELDS - 1))))  # and Host
    over.send(_request(*(b"X-%d: 1" % i for i in range(MAX_FIELDS))))
    assert await ok.status() == b"HTTP/1.1 200 OK"
    assert len(ok.requests[0]["headers"]) == MAX_FIELDS
    assert await over.status() == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert over.requests == []


async def test_20000_field_lines_are_refused_early(connection: Connection) -> None:
    connection.send(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X: a\r\n" * 20_000 + b"\r\n")
    assert await connection.status() == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert connection.requests == []


async def test_headers_over_64_kib_in_all_are_431(timers: ManualTimers) -> None:
    ok, over = Connection(timers), Connection(timers)
    # The target ("/"), Host ("host" "x") and five fields: 64 KiB in all, or a byte more.
    last = MAX_HEAD_SIZE - 1 - 5 - 4 * 16_000
    ok.send(_request(*(_field(16_000, b"X-%d" % i) for i in range(4)), _field(last)))
    over.send(_request(*(_field(16_000, b"X-%d" % i) for i in range(4)), _field(last + 1)))
    assert await ok.status() == b"HTTP/1.1 200 OK"
    assert await over.status() == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert b"over 65536 bytes" in await over.answers()


async def test_a_target_over_16_kib_is_414(timers: ManualTimers) -> None:
    ok, over = Connection(timers), Connection(timers)
    ok.send(_request(target=b"/" + b"a" * (MAX_TARGET_SIZE - 1)))
    over.send(_request(target=b"/" + b"a" * MAX_TARGET_SIZE))
    assert await ok.status() == b"HTTP/1.1 200 OK"
    assert await over.status() == b"HTTP/1.1 414 Request-URI Too Long"
    assert over.requests == []


async def test_a_large_head_and_its_body_in_one_read_pass(connection: Connection) -> None:
    """Only the head is counted: 60 KiB of fields and a 64 KiB body arriving together."""
    fields = [_field(15_000, b"X-%d" % i) for i in range(4)]
    connection.send(_request(*fields, body=b"b" * 65_536))
    assert await connection.status() == b"HTTP/1.1 200 OK"


async def test_the_limits_are_per_request_on_a_kept_alive_connection(
    connection: Connection,
) -> None:
    fields = [_field(15_000, b"X-%d" % i) for i in range(4)]
    for _ in range(5):
        connection.send(_request(*fields, body=b"b" * 100))
        assert (await connection.answers()).count(b"HTTP/1.1 200 OK") == len(connection.requests)
    connection.send(_request(_field(MAX_FIELD_SIZE + 1)))
    answers = await connection.answers()
    assert answers.count(b"HTTP/1.1 200 OK") == len(connection.requests) == 5
    assert answers.endswith(b"over 16384 bytes.") and connection.lingers()


async def test_a_request_head_split_in_pieces_still_passes(connection: Connection) -> None:
    raw = _request(*(_field(1000, b"X-%d" % i) for i in range(50)))
    connection.send(*(raw[i : i + 700] for i in range(0, len(raw), 700)))
    assert await connection.status() == b"HTTP/1.1 200 OK"


async def test_nothing_is_read_after_a_refusal(connection: Connection) -> None:
    connection.send(_request(_field(MAX_FIELD_SIZE + 1)))
    written = await connection.answers()
    connection.send(_request())
    assert await connection.answers() == written and connection.requests == []


async def test_after_a_refusal_the_rest_is_dropped_up_to_a_bound(connection: Connection) -> None:
    """A client still sending its huge head reads the 431 instead of a reset; one that goes
    on sending past the bound is cut off."""
    connection.send(_request(_field(MAX_FIELD_SIZE + 1)))
    connection.send(b"x" * (LINGER_BYTES // 2))
    assert connection.transport.eof and not connection.transport.closed
    connection.send(b"x" * (LINGER_BYTES // 2 + 1))
    assert connection.transport.closed


# --- The head timeout ------------------------------------------------------------------------


async def test_a_connection_that_sends_nothing_is_closed_silently(
    connection: Connection, timers: ManualTimers
) -> None:
    [timer] = timers.head_timers()
    assert timer.delay == http_protocol.DEFAULT_HEAD_TIMEOUT == 10
    timer.fire()
    assert connection.transport.closed and await connection.answers() == b""


async def test_half_a_head_gets_408_when_the_time_is_up(
    connection: Connection, timers: ManualTimers
) -> None:
    connection.send(b"GET / HTTP/1.1\r\nHost: x\r\nAcc")
    [timer] = timers.head_timers()
    timer.fire()
    assert await connection.status() == b"HTTP/1.1 408 Request Timeout"
    assert connection.lingers() and connection.requests == []


async def test_a_complete_head_stops_the_clock(
    connection: Connection, timers: ManualTimers
) -> None:
    connection.send(_request(body=b"x" * 10)[:30])
    connection.send(_request(body=b"x" * 10)[30:])
    assert await connection.status() == b"HTTP/1.1 200 OK"
    assert all(timer.cancelled for timer in timers.head_timers())


async def test_each_kept_alive_request_has_its_own_clock(
    connection: Connection, timers: ManualTimers
) -> None:
    connection.send(_request())
    await connection.answers()
    assert len(timers.head_timers()) == 1  # idle between requests: uvicorn's keep-alive timer
    connection.send(b"GET / HTTP/1.1\r\n")
    first, second = timers.head_timers()
    assert first.cancelled and not second.cancelled
    second.fire()
    assert (await connection.answers()).endswith(b"The request head did not arrive in time.")
    assert connection.lingers() and len(connection.requests) == 1


async def test_a_slow_answer_is_not_cut_by_the_next_heads_clock(timers: ManualTimers) -> None:
    """Pipelined: half of a second head waits while the first request is answered; when its
    time is up the 408 follows that answer instead of cutting it."""
    release = asyncio.Event()
    connection = Connection(timers)

    async def slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    connection.protocol.app = slow
    connection.send(_request() + b"GET /next HTTP/1.1\r\nHo")
    await connection.answers()
    timers.head_timers()[-1].fire()
    assert not connection.transport.closed
    release.set()
    answers = await connection.answers()
    assert answers.startswith(b"HTTP/1.1 200 OK\r\n")
    assert answers.count(b"HTTP/1.1 408 Request Timeout\r\n") == 1 and connection.lingers()


async def test_a_blank_line_after_a_slow_request_does_not_cut_its_answer(
    timers: ManualTimers,
) -> None:
    """RFC 9112 §2.2: a CRLF after a request is ignored, even when its time is up while the
    request is still being answered."""
    release = asyncio.Event()
    connection = Connection(timers)

    async def slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    connection.protocol.app = slow
    connection.send(_request(body=b"x"), b"\r\n")
    await connection.answers()
    timers.head_timers()[-1].fire()
    assert not connection.transport.closed
    release.set()
    answers = await connection.answers()
    assert answers.startswith(b"HTTP/1.1 200 OK\r\n") and answers.endswith(b"\r\nok\r\n0\r\n\r\n")
    assert not connection.transport.closed


async def test_pipelined_requests_are_answered_before_a_refusal(connection: Connection) -> None:
    connection.send(_request() + _request(target=b"/second") + _request(_field(20_000)))
    answers = await connection.answers()
    assert [scope["path"] for scope in connection.requests] == ["/", "/second"]
    assert answers.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert answers.index(b"HTTP/1.1 431") > answers.rindex(b"HTTP/1.1 200 OK")
    assert connection.lingers()


@pytest.fixture
def head_timeout_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    http_protocol.head_timeout.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    http_protocol.head_timeout.cache_clear()


async def test_the_head_timeout_can_be_set(
    head_timeout_env: pytest.MonkeyPatch, timers: ManualTimers
) -> None:
    head_timeout_env.setenv("WTP_HEAD_TIMEOUT", "1.5")
    Connection(timers)
    assert [timer.delay for timer in timers.head_timers()] == [1.5]


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf"])
def test_a_bad_head_timeout_is_one_line_naming_it(
    head_timeout_env: pytest.MonkeyPatch, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    head_timeout_env.setenv("WTP_HEAD_TIMEOUT", value)
    head_timeout_env.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("served anyway"))
    assert cli.main(["serve", "--no-migrate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "WTP_HEAD_TIMEOUT" in err and "Traceback" not in err


# --- The uvicorn internals this module stands on ---------------------------------------------

# uvicorn versions whose httptools protocol this module was checked against, and the SHA-256
# of that protocol's source (the same file in 0.53.0 and 0.54.0).
TESTED_UVICORN = {"0.54.0"}
TESTED_SOURCES = {"1d4e1c579df4168433a61a01f10c628b31c1790e72dd9769d2b8633b22214033"}

RECHECK = (
    "wtp_oauth/http_protocol.py subclasses uvicorn.protocols.http.httptools_impl."
    "HttpToolsProtocol, which uvicorn {version} changed. Re-read that module and check what "
    "OneWriteHttpToolsProtocol relies on: every write goes through self.transport (one write "
    "per answer); data_received() feeds self.parser and answers any HttpParserError with "
    "send_400_response(); on_message_begin/on_url/on_header/on_headers_complete/"
    "on_message_complete keep their meaning, self.url accumulates the target, self.cycle is "
    "the request being answered (response_complete, keep_alive) and calls "
    "on_response_complete() when it is, self.pipeline holds the requests waiting, and "
    "self.loop, self.flow, self.client, self.server_state.default_headers exist. Then run "
    "this file, tests/e2e/test_http_wire.py and tests/e2e/test_http_limits.py, and add the "
    "version and hash above."
)


def test_uvicorn_is_a_version_this_was_checked_against() -> None:
    source = Path(inspect.getfile(httptools_impl)).read_bytes()
    digest = hashlib.sha256(source).hexdigest()
    message = RECHECK.format(version=uvicorn.__version__) + f" (sha256 {digest})"
    assert uvicorn.__version__ in TESTED_UVICORN, message
    assert digest in TESTED_SOURCES, message


@pytest.mark.parametrize(
    ("method", "parameters"),
    [
        ("connection_made", ["self", "transport"]),
        ("connection_lost", ["self", "exc"]),
        ("data_received", ["self", "data"]),
        ("send_400_response", ["self", "msg"]),
        ("on_message_begin", ["self"]),
        ("on_url", ["self", "url"]),
        ("on_header", ["self", "name", "value"]),
        ("on_headers_complete", ["self"]),
        ("on_message_complete", ["self"]),
        ("on_response_complete", ["self"]),
    ],
)
def test_the_overridden_methods_keep_their_signatures(method: str, parameters: list[str]) -> None:
    signature = inspect.signature(getattr(httptools_impl.HttpToolsProtocol, method))
    assert list(signature.parameters) == parameters, RECHECK.format(version=uvicorn.__version__)


async def test_the_attributes_relied_on_exist(connection: Connection) -> None:
    protocol = connection.protocol
    for name in ("loop", "parser", "transport", "flow", "client", "server_state", "pipeline"):
        assert hasattr(protocol, name), RECHECK.format(version=uvicorn.__version__)
    assert isinstance(protocol.transport, OneWriteTransport)
    assert isinstance(protocol.parser, httptools.HttpRequestParser)
    assert 431 in httptools_impl.STATUS_LINE and 408 in httptools_impl.STATUS_LINE
    connection.send(_request(target=b"/path?query"))
    await connection.answers()
    assert protocol.url == b"/path?query"
    assert protocol.cycle.response_complete and protocol.cycle.keep_alive
