"""http_errors.py without I/O: who gets the HTML error page and who gets JSON (SPEC §17)."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from wtp_oauth.http_errors import wants_html

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


def _request(path: str, accept: str | None, root_path: str = "") -> Request:
    headers = [] if accept is None else [(b"accept", accept.encode())]
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": root_path + path,
            "root_path": root_path,
            "query_string": b"",
            "headers": headers,
        }
    )


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER, True),
        (None, True),  # no Accept: anything goes, and a person may be behind it
        ("*/*", True),  # curl
        ("text/*", True),
        ("image/png", True),  # neither is acceptable: the page, as for a browser
        ("application/json", False),
        ("application/problem+json", False),
        ("application/json, text/plain, */*", False),  # axios: JSON named, HTML by wildcard
        ("text/html;q=0.5, application/json", False),
        ("application/json;q=0.5, text/html", True),
        ("application/*", False),
        ("text/html, application/json", True),
        ("application/json;q=oops, text/html", True),
        ("  ", True),
    ],
)
def test_accept_decides_outside_the_json_api(accept: str | None, html: bool) -> None:
    assert wants_html(_request("/no/such/page", accept)) is html


@pytest.mark.parametrize(
    "path",
    ["/api/nope", "/api/applications/x", "/api/oauth/token", "/api/token", "/.well-known/x"],
)
def test_the_json_api_always_answers_json(path: str) -> None:
    assert wants_html(_request(path, BROWSER)) is False


def test_behind_a_proxy_prefix_the_api_is_still_the_api() -> None:
    assert wants_html(_request("/api/nope", BROWSER, root_path="/auth")) is False
    assert wants_html(_request("/nope", BROWSER, root_path="/auth")) is True
