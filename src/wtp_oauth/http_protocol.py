"""uvicorn's httptools protocol, sending each answer in one write, with bounded request heads.

**One write.** uvicorn writes a response's status line and headers when the application sends
``http.response.start``, and its body when it sends ``http.response.body``: two ``write()``
system calls and two TCP segments for every answer, and on the other side two wake-ups of
the client. Here the writes a connection makes in one step of the event loop are joined and
handed to the socket once, at the end of that step: a whole small answer leaves in one write.
A streamed body still leaves chunk by chunk, since the application awaits between chunks.
Measured on this project's 2-CPU machine with wrk (docs/performance.md): about 4 % more
introspections and 6 % more ``GET /api/users/@me`` per second.

**Bounded heads** (SPEC §17; RFC 9110 §15.5.15, RFC 6585 §5, RFC 9112 §2.3). uvicorn with
httptools sets no limit on a request head: a 2 MB header field, 20,000 field lines or a head
that never ends were all accepted. Here a header field line (name and value) may hold
16 KiB, a head 100 field lines and 64 KiB in all, else the answer is 431 Request Header Fields
Too Large; a request target over 16 KiB is 414 URI Too Long. A connection that sends no
complete request head within ``WTP_HEAD_TIMEOUT`` seconds (10 by default, counted from the
connection's start or from the first byte of a keep-alive request) is closed, after a 408 if
part of a head came. Each refusal is written before the application sees the request.

httptools joins a field's pieces before it reports the field, so the bytes of an unfinished
head are also counted as they arrive (``data_received``): neither one huge field nor a head
that grows forever is buffered beyond the limits and one read of the socket.

**Why only httptools is served.** ``wtp-oauth serve`` always runs this protocol: httptools
comes with ``uvicorn[standard]``, a hard dependency. uvicorn 0.54's h11 protocol refuses a
head over h11's ``max_incomplete_event_size`` (16 KiB for the whole head, not per field) with
a plain 400, counts no fields (a thousand small ones pass) and has no head timeout either;
it is not used.

This module subclasses a private module of uvicorn (``uvicorn.protocols.http.httptools_impl``),
so pyproject.toml pins uvicorn's minor version and tests/unit/test_http_protocol.py fails when
the installed uvicorn is not one this was checked against.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from wtp_oauth.middleware import SECURITY_HEADERS

log = logging.getLogger("wtp_oauth")

MAX_FIELD_SIZE = 16 * 1024  # one header field line: name and value
MAX_HEAD_SIZE = 64 * 1024  # request target and every field line
MAX_FIELDS = 100
MAX_TARGET_SIZE = 16 * 1024  # the request target (URL)
DEFAULT_HEAD_TIMEOUT = 10.0
HEAD_TIMEOUT_VARIABLE = "WTP_HEAD_TIMEOUT"

# After a refusal, what the client still sends is read and dropped for this long (or up to
# this much) before the connection closes, so that it reads the answer rather than a reset.
LINGER_SECONDS = 2.0
LINGER_BYTES = 16 * 1024 * 1024

# The parser's own counts leave out the separators (": ", CRLF, the request line's method and
# version) and optional whitespace; the raw byte counts of an unfinished head allow for them.
_SEPARATOR_ALLOWANCE = 2 * 1024


@cache
def head_timeout() -> float:
    """Seconds a connection has to send a complete request head (``WTP_HEAD_TIMEOUT``)."""
    raw = os.environ.get(HEAD_TIMEOUT_VARIABLE, "")
    if not raw.strip():
        return DEFAULT_HEAD_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(
            f"{HEAD_TIMEOUT_VARIABLE} must be a positive number of seconds, not {raw!r}"
        )
    return value


class OneWriteTransport:
    """A transport that joins the writes of one event-loop step; everything else is the
    wrapped transport's own."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        # What was written before close() is sent before the connection ends.
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _HeadRefused(Exception):
    """Raised from a parser callback: httptools stops and uvicorn calls send_400_response."""


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """``--http wtp_oauth.http_protocol:OneWriteHttpToolsProtocol``: httptools, one write
    per answer, request heads bounded in size, count and time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timeout = head_timeout()
        self._head_timer: asyncio.TimerHandle | None = None
        # Between the end of one message and the end of the next head.
        self._awaiting_head = True
        self._head_started = False  # a byte of the awaited head has been parsed
        self._head_size = 0  # target and field lines, as the parser reports them
        self._fields = 0
        self._raw_head = 0  # bytes received while awaiting the head
        self._raw_field = 0  # bytes received since the parser last reported a piece
        self._refusal: tuple[int, str] | None = None
        self._refusal_deferred = False  # until earlier requests are answered
        self._linger_timer: asyncio.TimerHandle | None = None
        self._dropped = 0

    # --- Connection ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(OneWriteTransport(transport, self.loop))  # type: ignore[arg-type]
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            self._dropped += len(data)
            if self._dropped > LINGER_BYTES:
                self.transport.close()
            return
        if self._awaiting_head:
            self._raw_head += len(data)
            self._raw_field += len(data)
            if self._head_timer is None:  # the first byte after a keep-alive pause
                self._arm_head_timer()
        super().data_received(data)
        if self._awaiting_head and self._refusal is None and not self.transport.is_closing():
            if self._raw_field > MAX_FIELD_SIZE + _SEPARATOR_ALLOWANCE:
                self._refuse(431, f"A request header field is over {MAX_FIELD_SIZE} bytes.")
            elif self._raw_head > MAX_HEAD_SIZE + _SEPARATOR_ALLOWANCE:
                self._refuse(431, f"The request headers are over {MAX_HEAD_SIZE} bytes.")

    def send_400_response(self, msg: str) -> None:
        # uvicorn's answer to any parser error, ours (a callback's _HeadRefused) included.
        if self._refusal is not None:
            self._write_refusal(*self._refusal)
        else:
            super().send_400_response(msg)

    def on_response_complete(self) -> None:
        if self._refusal_deferred and not self.pipeline and not self.transport.is_closing():
            self.server_state.total_requests += 1
            assert self._refusal is not None
            self._write_refusal(*self._refusal)
            return
        super().on_response_complete()

    # --- Parser callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = True
        if self._head_timer is None:
            self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        self._raw_field = 0
        self._head_size += len(url)
        if len(self.url) + len(url) > MAX_TARGET_SIZE:
            self._stop(414, f"The request target is over {MAX_TARGET_SIZE} bytes.")
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw_field = 0
        size = len(name) + len(value)
        self._head_size += size
        self._fields += 1
        if size > MAX_FIELD_SIZE:
            self._stop(431, f"A request header field is over {MAX_FIELD_SIZE} bytes.")
        if self._fields > MAX_FIELDS:
            self._stop(431, f"The request has more than {MAX_FIELDS} header fields.")
        if self._head_size > MAX_HEAD_SIZE:
            self._stop(431, f"The request headers are over {MAX_HEAD_SIZE} bytes.")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # The next bytes begin the next head (its timer starts with its first byte).
        self._awaiting_head = True
        self._head_started = False
        self._head_size = self._fields = self._raw_head = self._raw_field = 0

    # --- Refusals -----------------------------------------------------------------------

    def _stop(self, status: int, message: str) -> None:
        self._refusal = (status, message)
        raise _HeadRefused(message)

    def _refuse(self, status: int, message: str) -> None:
        self._refusal = (status, message)
        self._write_refusal(status, message)

    def _write_refusal(self, status: int, message: str) -> None:
        """Answer ``status`` in plain text and close. Requests pipelined before this one are
        answered first: the refusal waits for the last of their answers."""
        self._disarm_head_timer()
        if status != 408 and not self._refusal_deferred:
            log.warning("refused a request head from %s: %s", self._peer(), message)
        if (self.cycle is not None and not self.cycle.response_complete) or self.pipeline:
            self._refusal_deferred = True
            self.flow.pause_reading()
            return
        self._refusal_deferred = False
        body = message.encode()
        headers = [
            *self.server_state.default_headers,
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            (b"cache-control", b"no-store"),
            *SECURITY_HEADERS,
        ]
        head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        self.transport.write(STATUS_LINE[status] + head + b"\r\n" + body)
        self._linger()

    def _linger(self) -> None:
        """Close as nginx's lingering close does: the answer and a FIN now, the rest of what
        the client sends dropped, the connection closed when the client closes its side or
        after ``LINGER_SECONDS``. Closing at once, with unread data, would send a reset that
        can destroy the answer before the client reads it."""
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self._linger_timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "unknown"

    # --- Head timeout -------------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self._head_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        """RFC 9110 §15.5.9: 408 to a client that began a request and did not finish its
        head in time; a connection that sent nothing at all is just closed."""
        self._head_timer = None
        if self.transport.is_closing() or self._refusal is not None:
            return
        if self._head_started:
            self._refuse(408, "The request head did not arrive in time.")
        elif self.cycle is None or self.cycle.response_complete:
            self._refusal = (408, "")
            self.transport.close()
        # Else only blank lines came while an answer is being written: once it is, uvicorn's
        # keep-alive timeout closes the connection unless a request follows.
