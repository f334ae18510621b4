"""The one-write transport under uvicorn's httptools protocol (http_protocol.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from wtp_oauth.http_protocol import OneWriteTransport


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 7

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1234)}.get(name, default)


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
