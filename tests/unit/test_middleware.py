"""middleware.py without I/O: the Host rule (RFC 9112 §3.2) and same-origin writes (SPEC §17),
each driven as an ASGI layer around an application that records what reached it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wtp_oauth.middleware import RequireHost, SameOriginWrites, valid_host, web_origin

ISSUER = "http://127.0.0.1:8000"


class Recorder:
    def __init__(self) -> None:
        self.reached = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.reached += 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def _call(
    layer: Any,
    headers: list[tuple[bytes, bytes]],
    method: str = "GET",
    path: str = "/",
    version: str = "1.1",
) -> tuple[int, Any]:
    scope = {
        "type": "http",
        "http_version": version,
        "method": method,
        "path": path,
        "root_path": "",
        "headers": headers,
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await layer(scope, receive, send)
    body = sent[1]["body"]
    return sent[0]["status"], json.loads(body) if body != b"ok" else body


@pytest.mark.parametrize(
    "value",
    [
        b"example.com",
        b"example.com:443",
        b"127.0.0.1:8000",
        b"[::1]:8000",
        b"[2001:db8::1]",
        b"xn--bcher-kva.example",
        b"under_score.example",
        b"localhost:",
    ],
)
def test_valid_hosts(value: bytes) -> None:
    assert valid_host(value)


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"a b",
        b":8000",
        b"user@example.com",
        b"example.com:80:80",
        b"example.com:http",
        b"example.com:123456",
        b"::1",
        b"[::1",
        b"[not-an-address]",
        b"example.com/path",
        b"exa\xffmple.com",
        b"example.com\t",
    ],
)
def test_invalid_hosts(value: bytes) -> None:
    assert not valid_host(value)


@pytest.mark.parametrize(
    ("headers", "version", "status"),
    [
        ([(b"host", b"x")], "1.1", 200),
        ([], "1.1", 400),
        ([], "1.0", 200),  # HTTP/1.0 may leave Host out
        ([(b"host", b"a"), (b"host", b"b")], "1.1", 400),
        ([(b"host", b"a"), (b"host", b"a")], "1.0", 400),
        ([(b"host", b"a b")], "1.1", 400),
        ([(b"host", b"a b")], "1.0", 400),
    ],
)
async def test_exactly_one_valid_host(
    headers: list[tuple[bytes, bytes]], version: str, status: int
) -> None:
    app = Recorder()
    got, body = await _call(RequireHost(app), [(b"accept", b"*/*"), *headers], version=version)
    assert got == status
    assert app.reached == (1 if status == 200 else 0)
    if status == 400:
        assert "Host" in body["detail"]


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://127.0.0.1:8000", b"http://127.0.0.1:8000"),
        ("https://Auth.Example/oauth", b"https://auth.example"),
        ("https://auth.example:443", b"https://auth.example"),
        ("http://auth.example:80/", b"http://auth.example"),
        ("https://auth.example:8443", b"https://auth.example:8443"),
        ("http://[::1]:8000", b"http://[::1]:8000"),
    ],
)
def test_the_issuers_origin(url: str, origin: bytes) -> None:
    assert web_origin(url) == origin


SESSION = (b"cookie", b"wtp_csrf=abc; wtp_session=s3cret")


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ([SESSION], 200),  # no Origin, no Sec-Fetch-Site: not a browser
        ([SESSION, (b"origin", b"http://127.0.0.1:8000")], 200),
        ([SESSION, (b"sec-fetch-site", b"same-origin")], 200),
        ([SESSION, (b"sec-fetch-site", b"none")], 200),
        ([SESSION, (b"origin", b"http://127.0.0.1:8001")], 403),  # same site, other port
        ([SESSION, (b"origin", b"http://localhost:8000")], 403),
        ([SESSION, (b"origin", b"null")], 403),
        ([SESSION, (b"sec-fetch-site", b"same-site")], 403),
        ([SESSION, (b"sec-fetch-site", b"cross-site")], 403),
        ([SESSION, (b"origin", ISSUER.encode()), (b"sec-fetch-site", b"same-site")], 403),
        ([(b"cookie", b"wtp_csrf=abc"), (b"origin", b"http://evil.example")], 200),
        ([(b"cookie", b"not_wtp_session=x"), (b"sec-fetch-site", b"cross-site")], 200),
    ],
)
async def test_cookie_writes_must_be_same_origin(
    headers: list[tuple[bytes, bytes]], status: int
) -> None:
    app = Recorder()
    layer = SameOriginWrites(app, issuer=ISSUER, session_cookie="wtp_session")
    got, body = await _call(layer, headers, "POST", "/api/applications/x/secret")
    assert got == status
    assert app.reached == (1 if status == 200 else 0)
    if status == 403:
        assert body["detail"].startswith("Cross-site request refused")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/applications"),
        ("HEAD", "/api/applications"),
        ("OPTIONS", "/api/applications"),
        ("POST", "/api/oauth/token"),
        ("POST", "/api/token"),
        ("POST", "/api/oauth/revoke"),
        ("POST", "/login"),  # the HTML forms carry CSRF tokens
        ("POST", "/developers/applications/x/rotate-secret"),
    ],
)
async def test_reads_oauth_endpoints_and_forms_are_left_alone(method: str, path: str) -> None:
    app = Recorder()
    layer = SameOriginWrites(app, issuer=ISSUER, session_cookie="wtp_session")
    headers = [SESSION, (b"origin", b"http://evil.example"), (b"sec-fetch-site", b"cross-site")]
    assert (await _call(layer, headers, method, path))[0] == 200
    assert app.reached == 1


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_every_state_changing_method_is_checked(method: str) -> None:
    layer = SameOriginWrites(Recorder(), issuer=ISSUER, session_cookie="wtp_session")
    headers = [SESSION, (b"sec-fetch-site", b"same-site")]
    assert (await _call(layer, headers, method, "/api/applications/x"))[0] == 403
