"""Answers on the wire from a real ``wtp-oauth serve``, which sends each one in one write
(http_protocol.py): keep-alive, pipelining, ``Connection: close``, large and streamed bodies
still arrive whole and in order."""

from __future__ import annotations

import socket

import httpx

from tests.conftest import LiveServer


def _exchange(server: LiveServer, raw: bytes) -> bytes:
    """Send ``raw`` and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _responses(data: bytes) -> list[tuple[bytes, dict[bytes, bytes], bytes]]:
    """Split a byte stream of HTTP/1.1 responses with Content-Length into (status, headers,
    body)."""
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        status, *lines = head.split(b"\r\n")
        headers = dict(line.lower().split(b": ", 1) for line in lines)
        size = int(headers[b"content-length"])
        out.append((status, headers, rest[:size]))
        data = rest[size:]
    return out


def test_pipelined_requests_are_answered_whole_and_in_order(live_server: LiveServer) -> None:
    raw = (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /.well-known/oauth-authorization-server HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    answers = _responses(_exchange(live_server, raw))
    assert [status for status, _, _ in answers] == [b"HTTP/1.1 200 OK"] * 3
    assert answers[0][2] == answers[2][2] == b'{"status":"ok"}'
    assert b'"issuer"' in answers[1][2]
    # The security headers travel with every answer.
    assert all(headers[b"x-content-type-options"] == b"nosniff" for _, headers, _ in answers)


def test_large_and_streamed_bodies_arrive_whole(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        schema = http.get("/api/openapi.json")  # tens of kilobytes, one body
        css = http.get("/static/style.css")  # a file, sent by Starlette in chunks
    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")
    assert len(schema.content) == int(schema.headers["content-length"]) > 10_000
    assert css.status_code == 200 and len(css.content) == int(css.headers["content-length"])
    raw = b"GET /static/style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    [(status, _, body)] = _responses(_exchange(live_server, raw))
    assert status == b"HTTP/1.1 200 OK" and body == css.content
