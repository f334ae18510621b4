"""http_errors.py: a person in a browser meets the site's own error page; the JSON API and the
OAuth endpoints keep their JSON (SPEC §17, §4; RFC 6749 §5.2)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import TEST_ISSUER
from tests.helpers import sign_up
from wtp_oauth import http_errors
from wtp_oauth.app import create_app
from wtp_oauth.config import Settings
from wtp_oauth.routers import portal
from wtp_oauth.services.applications import Applications

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _is_site_page(r: httpx.Response) -> None:
    assert r.headers["content-type"].startswith("text/html"), r.text
    assert '<a class="brand" href="/">Wants to Party' in r.text
    assert '"detail"' not in r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("headers", [BROWSER, {"Accept": "*/*"}, {}])
async def test_a_mistyped_address_is_the_sites_404_page(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    r = await client.get("/developerz", headers=headers)
    assert r.status_code == 404
    _is_site_page(r)
    assert "Page not found" in r.text and "There is no page at this address." in r.text


async def test_a_missing_static_file_is_the_404_page_too(client: httpx.AsyncClient) -> None:
    r = await client.get("/static/nope.css", headers=BROWSER)
    assert r.status_code == 404
    _is_site_page(r)


async def test_a_wrong_method_is_the_sites_405_page(client: httpx.AsyncClient) -> None:
    r = await client.post("/", headers=BROWSER)
    assert r.status_code == 405
    _is_site_page(r)
    assert "does not answer POST requests" in r.text
    assert r.headers["allow"] == "GET"


async def test_an_unreadable_form_is_a_page_not_json(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/login",
        content=b"--x\r\nbroken",
        headers={**BROWSER, "Content-Type": "multipart/form-data"},
    )
    assert r.status_code == 400
    _is_site_page(r)
    assert "could not read this request" in r.text


async def test_a_malformed_page_address_is_a_page_not_json(settings: Settings) -> None:
    """A page whose path or query fails validation (RequestValidationError)."""
    app = create_app(settings)

    @app.get("/pages/{number}")
    async def numbered(number: int) -> dict[str, int]:
        return {"number": number}

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=TEST_ISSUER) as http:
            page = await http.get("/pages/seven", headers=BROWSER)
            api = await http.get("/pages/seven", headers={"Accept": "application/json"})
    assert page.status_code == 422
    _is_site_page(page)
    assert "incomplete or malformed" in page.text
    assert api.status_code == 422 and api.json()["detail"][0]["loc"] == ["path", "number"]


@pytest.mark.parametrize("headers", [BROWSER, {}])
async def test_the_json_api_keeps_fastapis_detail(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    missing = await client.get("/api/nope", headers=headers)
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    wrong = await client.put("/api/applications", headers=headers)
    assert wrong.status_code == 405 and wrong.json() == {"detail": "Method Not Allowed"}
    invalid = await client.post("/api/users", json={}, headers=headers)
    assert invalid.status_code == 422 and isinstance(invalid.json()["detail"], list)


async def test_a_client_that_prefers_json_gets_json_anywhere(client: httpx.AsyncClient) -> None:
    r = await client.get("/developerz", headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    r = await client.get("/.well-known/nope", headers=BROWSER)
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}


async def test_the_oauth_endpoints_keep_their_json(client: httpx.AsyncClient) -> None:
    """RFC 6749 §5.2: never cached, never a page."""
    r = await client.get("/api/oauth/token", headers=BROWSER)
    assert r.status_code == 405 and r.json() == {"detail": "Method Not Allowed"}
    assert r.headers["cache-control"] == "no-store"
    r = await client.post("/api/oauth/token", data={"grant_type": "x"}, headers=BROWSER)
    assert r.status_code in (400, 401) and "error" in r.json()


@pytest.fixture
async def crashing(running_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that receives the 500 answer instead of the exception."""
    transport = httpx.ASGITransport(app=running_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=TEST_ISSUER) as http:
        yield http


def _broken(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("secret internal detail")


async def test_a_crash_in_the_browser_is_the_sites_500_page(
    crashing: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portal, "render", _broken)
    r = await crashing.get("/", headers=BROWSER)
    assert r.status_code == 500
    _is_site_page(r)
    assert "Something went wrong" in r.text
    assert "secret internal detail" not in r.text and "Traceback" not in r.text
    assert "RuntimeError" not in r.text


async def test_a_crash_in_the_json_api_stays_json(
    crashing: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sign_up(crashing)
    monkeypatch.setattr(Applications, "owned_by", _broken)
    r = await crashing.get("/api/applications", headers=BROWSER)
    assert r.status_code == 500 and r.json() == {"detail": "Internal server error."}
    assert "secret internal detail" not in r.text


async def test_if_the_error_page_fails_too_the_answer_is_still_safe(
    crashing: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portal, "render", _broken)
    monkeypatch.setattr(http_errors, "error_page", _broken)
    r = await crashing.get("/", headers=BROWSER)
    assert r.status_code == 500 and r.json() == {"detail": "Internal server error."}
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
