"""Threat model of the HTTP surface: security headers, cookies, CORS, and hostile input.

Clickjacking (RFC 6749 §10.13, RFC 9700 §4.16), referrer leaks (RFC 9700 §4.2.4), caching of
credentials (RFC 6749 §5.1, §5.2; RFC 7662 §2.2), cookie theft and CSRF (RFC 6749 §10.12),
bearer tokens outside the header (RFC 6750 §2, §5.3), and input meant to crash the server
(RFC 6749 §3.2, §5.2: a malformed request is ``invalid_request``, never a 500). Each test
names the section it enforces.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from tests.attacks.conftest import AppFactory, World, bearer, no_store
from tests.conftest import LiveServer
from tests.helpers import PASSWORD, authorize_params, get_code, hidden, tokens_for, unique

# --- Security headers -----------------------------------------------------------------------

PAGES = [
    "/",
    "/login",
    "/signup",
    "/oauth/authorize",
    "/oauth/authorize?client_id=nope&redirect_uri=https://x.example/",
    "/api/oauth/scopes",
    "/.well-known/oauth-authorization-server",
    "/no/such/page",
    "/static/style.css",
    "/healthz",
]


def _framing_denied(r: httpx.Response) -> None:
    assert r.headers["x-frame-options"] == "DENY", r.url
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"], r.url
    assert r.headers["referrer-policy"] == "no-referrer", r.url


@pytest.mark.parametrize("path", PAGES)
async def test_every_response_forbids_framing_and_referrers(
    client: httpx.AsyncClient, path: str
) -> None:
    """RFC 6749 §10.13 and RFC 9700 §4.16 (clickjacking): ``X-Frame-Options: DENY`` and CSP
    ``frame-ancestors 'none'``; RFC 9700 §4.2.4: ``Referrer-Policy: no-referrer`` so that codes
    in URLs do not leak through the Referer header."""
    _framing_denied(await client.get(path))


async def test_consent_page_cannot_be_framed(world: World) -> None:
    """RFC 6749 §10.13: the page with the Allow button is the one clickjacking targets."""
    r = await world.user.get("/oauth/authorize", params=authorize_params(world.app))
    assert r.status_code == 200
    _framing_denied(r)
    assert no_store(r)


async def test_error_responses_carry_the_headers_too(client: httpx.AsyncClient) -> None:
    """RFC 9700 §4.16: refusals (413, 405, 422) are pages like any other."""
    for r in (
        await client.post("/api/users", content=b"x" * 70_000),
        await client.get("/api/oauth/token"),
        await client.post("/api/users", json={}),
    ):
        assert r.status_code in (405, 413, 422)
        _framing_denied(r)


# --- Caching of credentials -----------------------------------------------------------------


async def test_token_responses_are_never_cached(world: World) -> None:
    """RFC 6749 §5.1: ``Cache-Control: no-store`` on every response carrying tokens."""
    code = await get_code(world.user, world.app)
    r = await world.user.post(
        "/api/oauth/token",
        json={"code": code, "grand_type": "authorization_code", "client_id": world.app.client_id},
        headers=bearer(world.app.client_secret or ""),
    )
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["pragma"] == "no-cache"


async def test_token_errors_are_never_cached(world: World) -> None:
    """RFC 6749 §5.2 with §5.1: errors of the token, revocation and introspection endpoints
    (400, 401, 413, 415-as-400) carry ``no-store`` as well."""
    auth = (world.app.client_id, world.app.client_secret or "")
    answers = [
        await world.user.post("/api/oauth/token", data={"grant_type": "x"}, auth=auth),
        await world.user.post("/api/oauth/token", data={"grant_type": "authorization_code"}),
        await world.user.post("/api/token", content=b"<xml/>", auth=auth),
        await world.user.post("/api/oauth/revoke", data={}, auth=auth),
        await world.user.post("/api/oauth/revoke", data={"token": "x"}),
        await world.user.post("/api/oauth/introspect", data={}, auth=auth),
        await world.user.post("/api/oauth/introspect", data={"token": "x"}),
        await world.user.post(
            "/api/oauth/introspect", content=b"token=" + b"x" * 70_000, auth=auth
        ),
        await world.user.post("/api/oauth/token", json=[1, 2], auth=auth),
    ]
    for r in answers:
        assert r.status_code in (400, 401, 413), (r.request.url, r.status_code)
        assert no_store(r), (r.request.url, r.status_code, r.headers)


async def test_introspection_answers_are_never_cached(world: World) -> None:
    """RFC 7662 §2.2 / RFC 6749 §5.1: an introspection answer describes a live credential."""
    tokens = await tokens_for(world.user, world.app)
    r = await world.user.post(
        "/api/oauth/introspect",
        data={"token": tokens["access_token"]},
        auth=(world.app.client_id, world.app.client_secret or ""),
    )
    assert r.json()["active"] is True
    assert no_store(r)


async def test_answers_with_a_client_secret_are_never_cached(world: World) -> None:
    """SPEC §17 / RFC 6749 §10.3: a client secret is a credential like a token; the answers
    that show it (registration, rotation) carry ``no-store``."""
    created = await world.dev.post(
        "/api/applications", json={"name": "Cached?", "redirect_uris": ["https://x.example/cb"]}
    )
    rotated = await world.dev.post(f"/api/applications/{world.app.client_id}/secret")
    for r in (created, rotated):
        assert r.status_code in (200, 201) and r.json()["client_secret"]
        assert no_store(r), r.headers


# --- Host -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hosts",
    [[("Host", "a b")], [("Host", "testserver"), ("Host", "evil.example")], [("Host", "")]],
    ids=["invalid", "two", "empty"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/healthz"),
        ("GET", "/login"),
        ("POST", "/api/oauth/token"),  # served ahead of FastAPI (hot_paths.py)
        ("GET", "/api/users/@me"),  # likewise
        ("GET", "/no/such/page"),
    ],
)
async def test_a_request_without_exactly_one_valid_host_is_400(
    shared_world: World, hosts: list[tuple[str, str]], method: str, path: str
) -> None:
    """RFC 9112 §3.2: two Host fields or an invalid one is 400, before any route (hot paths
    included) sees the request; RFC 9110 §4.2.1: an http URI's host is never empty."""
    r = await shared_world.user.request(method, path, headers=hosts)
    assert r.status_code == 400, r.text
    assert "Host" in r.json()["detail"]
    _framing_denied(r)


# --- Cookies --------------------------------------------------------------------------------


def _set_cookies(r: httpx.Response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in r.headers.get_list("set-cookie")}


async def _cookie_headers(http: httpx.AsyncClient) -> dict[str, str]:
    username = unique()
    await http.post(
        "/api/users",
        json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
    )
    cookies = _set_cookies(await http.get("/login"))
    cookies.update(
        _set_cookies(
            await http.post("/api/session", json={"username": username, "password": PASSWORD})
        )
    )
    return cookies


async def test_cookies_are_httponly_and_samesite_lax(client: httpx.AsyncClient) -> None:
    """RFC 6749 §10.12, RFC 6265 §4.1.2.6 and SameSite: session and CSRF cookies are out of reach of
    scripts (HttpOnly) and not sent on cross-site subrequests or POSTs (SameSite=Lax)."""
    cookies = await _cookie_headers(client)
    assert set(cookies) >= {"wtp_session", "wtp_csrf"}
    for header in cookies.values():
        attributes = {part.strip().lower() for part in header.split(";")}
        assert "httponly" in attributes
        assert "samesite=lax" in attributes
        assert "secure" not in attributes  # http issuer: a Secure cookie would never come back


async def test_cookies_are_secure_under_an_https_issuer(custom_app: AppFactory) -> None:
    """RFC 6265 §4.1.2.5 / SPEC §3: with an https issuer every cookie is ``Secure``, sign-out's
    clearing cookie included, so a downgraded connection never carries the session."""
    issuer = "https://auth.example"
    async with custom_app(base_url=issuer, issuer=issuer) as http:
        cookies = await _cookie_headers(http)
        cleared = _set_cookies(await http.delete("/api/session"))
    assert set(cookies) >= {"wtp_session", "wtp_csrf"}
    for header in [*cookies.values(), cleared["wtp_session"]]:
        attributes = {part.strip().lower() for part in header.split(";")}
        assert {"secure", "httponly", "samesite=lax"} <= attributes, header


# --- CORS -----------------------------------------------------------------------------------


async def test_authorize_endpoint_answers_no_cors(world: World) -> None:
    """RFC 9700 §4.16 / RFC 6749 §10.12: the authorization endpoint is for top-level browser
    navigation only; a script on another origin must not read its answers (the consent page's
    CSRF token, a code in a Location header)."""
    origin = {"Origin": "https://attacker.example"}
    params = authorize_params(world.app)
    answers = [
        await world.user.get("/oauth/authorize", params=params, headers=origin),
        await world.user.options(
            "/oauth/authorize",
            headers={**origin, "Access-Control-Request-Method": "POST"},
        ),
        await world.user.post("/oauth/authorize", data={}, headers=origin),
    ]
    for r in answers:
        assert not any(name.startswith("access-control-") for name in r.headers), r.headers


async def test_session_api_answers_no_cors(client: httpx.AsyncClient) -> None:
    """RFC 6749 §10.12: no origin but ours may call the cookie-authenticated API."""
    r = await client.options(
        "/api/applications",
        headers={"Origin": "https://attacker.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-allow-credentials" not in r.headers


# --- Bearer tokens only in the header -------------------------------------------------------


async def test_access_token_in_the_query_is_ignored(world: World) -> None:
    """RFC 6750 §2.3 and §5.3 / RFC 9700 §4.3.2: tokens in URLs leak through logs and
    referrers; the query parameter is not accepted."""
    tokens = await tokens_for(world.user, world.app)
    r = await world.user.get("/api/users/@me", params={"access_token": tokens["access_token"]})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_access_token_in_a_form_body_is_ignored(world: World) -> None:
    """RFC 6750 §2.2 is optional and not offered: only the Authorization header counts."""
    tokens = await tokens_for(world.user, world.app)
    r = await world.user.request(
        "PATCH",
        "/api/users/@me",
        data={"access_token": tokens["access_token"], "display_name": "x"},
    )
    assert r.status_code in (401, 415)
    r = await world.user.get("/api/users/@me", headers={"Cookie": "wtp_session=x"})
    assert r.status_code == 401


async def test_a_session_cookie_is_not_an_access_token(world: World) -> None:
    """RFC 6750 §2: the user API needs an access token; the browser's session cookie (sent
    by a cross-site request) opens nothing."""
    r = await world.user.get("/api/users/@me")
    assert r.status_code == 401


# --- Oversized input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/oauth/token", "/api/users", "/login", "/oauth/authorize", "/api/session"]
)
async def test_oversized_bodies_are_refused(client: httpx.AsyncClient, path: str) -> None:
    """RFC 6749 §3.2 (a sane request) / CWE-400: bodies over the cap (64 KiB) are 413 before
    anything parses them."""
    r = await client.post(
        path,
        content=b"a=" + b"x" * 200_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413
    assert (await client.get("/healthz")).status_code == 200


async def test_oversized_streamed_bodies_are_refused(client: httpx.AsyncClient) -> None:
    """RFC 9112 §7.1 / CWE-400: a chunked body without Content-Length is counted as it arrives."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 10_000

    r = await client.post(
        "/api/oauth/token",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413


async def test_oversized_parameter_is_invalid_request(world: World) -> None:
    """RFC 6749 §5.2: an absurd parameter is ``invalid_request``."""
    r = await world.user.post(
        "/api/oauth/token",
        data={"grant_type": "authorization_code", "code": "c" * 5000},
        auth=(world.app.client_id, world.app.client_secret or ""),
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


# --- Malformed input at the OAuth endpoints -------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"grant_type": "authorization_code", "code": 123},
        {"grant_type": ["authorization_code"], "code": "x"},
        {"grant_type": "authorization_code", "code": {"$ne": None}},
        {"grant_type": True, "code": "x"},
        {"grant_type": "authorization_code", "code": None, "client_id": 7},
    ],
    ids=["int", "list", "object", "bool", "null-and-int"],
)
async def test_wrong_json_types_are_invalid_request(
    shared_world: World, body: dict[str, object]
) -> None:
    """RFC 6749 §5.2: every parameter is a string; anything else is ``invalid_request``."""
    r = await shared_world.user.post(
        "/api/oauth/token",
        json=body,
        auth=(shared_world.app.client_id, shared_world.app.client_secret or ""),
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "content,content_type",
    [
        (b"[" * 20_000 + b"]" * 20_000, "application/json"),
        (b'"just a string"', "application/json"),
        (b"{not json", "application/json"),
        (b'{"grant_type": "\xff\xfe"}', "application/json"),
        (b"grant_type=authorization_code&code=\xff\xfe", "application/x-www-form-urlencoded"),
        (b"grant_type=authorization_code&code=%ff%fe", "application/x-www-form-urlencoded"),
        (b"grant_type=authorization_code&code=%00", "application/x-www-form-urlencoded"),
        (b'{"code": "\\ud800", "grant_type": "authorization_code"}', "application/json"),
        (b'{"client_id": "a\\u0000b", "grant_type": "authorization_code"}', "application/json"),
        (b"grant_type=a&grant_type=b", "application/x-www-form-urlencoded"),
        (b'{"grant_type": "a", "grant_type": "b"}', "application/json"),
        (b'{"grant_type": "authorization_code", "code": 1e999}', "application/json"),
        (b'{"grant_type": "authorization_code", "code": NaN}', "application/json"),
        (b'{"\\ud800": "x", "grant_type": "authorization_code"}', "application/json"),
        (b"<token/>", "application/xml"),
    ],
    ids=[
        "deep-json",
        "json-string",
        "broken-json",
        "json-invalid-utf8",
        "form-invalid-utf8",
        "form-invalid-utf8-escaped",
        "form-nul",
        "json-lone-surrogate",
        "json-nul",
        "repeated",
        "json-repeated",
        "json-huge-number",
        "json-nan",
        "json-surrogate-name",
        "xml",
    ],
)
@pytest.mark.parametrize("path", ["/api/oauth/token", "/api/oauth/introspect"])
async def test_malformed_oauth_bodies_are_invalid_request(
    shared_world: World, path: str, content: bytes, content_type: str
) -> None:
    """RFC 6749 §5.2 / RFC 7662 §2.3: a malformed body is 400 ``invalid_request`` (never a
    500), and the server keeps serving."""
    r = await shared_world.user.post(
        path,
        content=content,
        headers={"Content-Type": content_type},
        auth=(shared_world.app.client_id, shared_world.app.client_secret or ""),
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"
    assert no_store(r)


@pytest.mark.parametrize(
    "client_id",
    ["a\x00b", "\udcff", "' OR '1'='1", "x" * 5000],
    ids=["nul", "surrogate", "sql", "long"],
)
async def test_hostile_basic_credentials_are_invalid_client(
    shared_world: World, client_id: str
) -> None:
    """RFC 6749 §2.3.1 / §5.2: whatever the Basic header decodes to, the answer is 401."""
    raw = f"{client_id}:secret".encode("utf-8", "surrogatepass")
    header = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    r = await shared_world.user.post(
        "/api/oauth/token", data={"grant_type": "authorization_code", "code": "x"}, headers=header
    )
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "invalid_client"


# --- Malformed input at the authorization endpoint ------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "client_id=%ff%fe&response_type=code",
        "client_id=%&redirect_uri=%zz",
        "client_id=%00",
        "client_id=\xff",
        "client_id=" + "%F0%9F" * 10,
        "client_id=' OR 1=1 --",
        "client_id=%ud800",
        "client_id=x&state=%ff%fe",
    ],
    ids=[
        "invalid-utf8",
        "bad-escapes",
        "nul",
        "raw-byte",
        "truncated-utf8",
        "sql",
        "u-escape",
        "state-invalid-utf8",
    ],
)
async def test_malformed_authorize_query_is_an_error_page(shared_world: World, query: str) -> None:
    """RFC 6749 §4.1.2.1 and RFC 3986 §2.5: a request naming no valid client, or not even
    UTF-8 (so no parameter of it can be trusted), is a 400 page, never a 500."""
    r = await shared_world.user.get("/oauth/authorize?" + query)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "location" not in r.headers


@pytest.mark.parametrize("extra", ["state=%ff%fe", "state=ok%c3", "prompt=%ed%a0%80"])
async def test_invalid_utf8_in_a_valid_authorize_request_is_an_error_page(
    shared_world: World, extra: str
) -> None:
    """RFC 3986 §2.5 and RFC 6749 §10.14: percent-escapes that are not UTF-8 make the request
    unreadable, even with a valid client and redirect URI: a 400 page — not a consent page
    carrying replacement characters into a stored request."""
    name = extra.split("=", 1)[0]
    params = {k: v for k, v in authorize_params(shared_world.app).items() if k != name}
    r = await shared_world.user.get(f"/oauth/authorize?{httpx.QueryParams(params)}&{extra}")
    assert r.status_code == 400, r.text
    assert "location" not in r.headers
    assert "not valid UTF-8" in r.text


@pytest.mark.parametrize(
    "extra",
    ["state=a%00b", "state=a%0d%0ab", "scopes=user.read%00", "code_challenge=%00", "prompt=%00"],
    ids=["state-nul", "state-crlf", "scope-nul", "challenge-nul", "prompt-nul"],
)
async def test_malformed_authorize_parameters_are_redirected_errors(
    shared_world: World, extra: str
) -> None:
    """RFC 6749 §4.1.2.1: once client and redirect URI are valid, a malformed parameter is an
    ``invalid_request`` (or ``invalid_scope``) sent back to the client — never a 500, and no
    NUL byte or broken text is stored."""
    params = authorize_params(shared_world.app)
    name = extra.split("=", 1)[0]
    params.pop(name, None)
    query = httpx.QueryParams(params)
    r = await shared_world.user.get(f"/oauth/authorize?{query}&{extra}")
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith(shared_world.app.redirect_uri + "?")
    assert "error=invalid_" in location
    assert "%00" not in urlsplit(location).query


# --- Malformed input elsewhere --------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"username": 5, "password": "x"}',
        b'{"username": ["a"], "password": "x"}',
        b'{"username": "a\\u0000b", "password": "password1"}',
        b'{"username": "\\ud800", "password": "password1"}',
        b'{"username": "alice", "password": "\\udfff\\ud800"}',
        b'{"username": "' + b"x" * 5000 + b'", "password": "password1"}',
        b'{"username": "\' OR \'1\'=\'1\' --", "password": "\' OR 1=1"}',
        b'{"username": "a", "password": "b", "username": "c"}',
        b"[" * 20_000,
    ],
    ids=["int", "list", "nul", "surrogate", "password-surrogate", "long", "sql", "repeat", "deep"],
)
async def test_hostile_sign_in_bodies_are_4xx(client: httpx.AsyncClient, body: bytes) -> None:
    """RFC 6749 §10.14 / SPEC §3: a hostile sign-in is a 4xx with a detail, never a 500."""
    r = await client.post(
        "/api/session", content=body, headers={"Content-Type": "application/json"}
    )
    assert 400 <= r.status_code < 500 and r.status_code != 429, r.text
    assert "detail" in r.json()


@pytest.mark.parametrize(
    "username",
    ["a\x00b", "x" * 5000, "' OR '1'='1' --", "\udcff"],
    ids=["nul", "long", "sql", "surrogate"],
)
async def test_hostile_login_form_is_4xx(client: httpx.AsyncClient, username: str) -> None:
    """RFC 6749 §10.14 / SPEC §3: the HTML sign-in answers a hostile username with the sign-in page
    again."""
    page = await client.get("/login")
    r = await client.post(
        "/login",
        content=httpx.QueryParams(
            {
                "username": username.encode("utf-8", "surrogatepass").decode("latin-1"),
                "password": "x",
                "csrf_token": hidden(page.text, "csrf_token"),
            }
        )
        .__str__()
        .encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "path",
    [
        "/api/applications/a%00b",
        "/api/applications/%ff",
        "/api/users/@me/authorizations/a%00b",
        "/api/applications/' OR 1=1 --",
        "/developers/applications/a%00b",
        "/developers/applications/%ed%a0%80/edit",
    ],
)
async def test_hostile_path_parameters_are_4xx(shared_world: World, path: str) -> None:
    """RFC 6749 §10.14 / SPEC §4, §7: a path naming no resource is a 404 (or 4xx), never a 500."""
    for method in ("GET", "DELETE"):
        r = await shared_world.dev.request(method, path)
        assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text)


async def test_hostile_user_id_with_a_token_is_4xx(world: World) -> None:
    """RFC 6749 §10.14 / SPEC §7: ``/api/users/{id}`` with a NUL byte or SQL in the id is a 404."""
    tokens = await tokens_for(world.user, world.app)
    for user_id in ("a%00b", "'%20OR%201=1", "%ff"):
        r = await world.user.get(f"/api/users/{user_id}", headers=bearer(tokens["access_token"]))
        assert r.status_code == 404, (user_id, r.text)


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "a\\u0000b", "redirect_uris": ["https://x.example/cb"]}',
        b'{"name": "ok", "redirect_uris": ["https://x.example/cb\\u0000"]}',
        b'{"name": "ok", "redirect_uris": ["https://x.example/cb\\ud800"]}',
        b'{"name": "ok", "redirect_uris": "https://x.example/cb"}',
        b'{"name": "ok", "redirect_uris": ["https://x.example/cb"], "description": "\\ud800"}',
        b'{"name": ["ok"], "redirect_uris": ["https://x.example/cb"]}',
    ],
    ids=[
        "name-nul",
        "uri-nul",
        "uri-surrogate",
        "uris-not-list",
        "description-surrogate",
        "name-list",
    ],
)
async def test_hostile_application_bodies_are_422(shared_world: World, body: bytes) -> None:
    """RFC 6749 §10.14 / SPEC §4: bad registration input is 422 with a detail, never stored, never a
    500."""
    r = await shared_world.dev.post(
        "/api/applications", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert "detail" in r.json()


@pytest.mark.parametrize(
    "body",
    [
        b'{"username": "ok_name", "email": "a@example.com", "password": "\\ud800aaaaaaaa"}',
        b'{"username": "ok_name", "email": "\\ud800@example.com", "password": "aaaaaaaaaa"}',
        b'{"username": "ok\\u0000", "email": "a@example.com", "password": "aaaaaaaaaa"}',
        b'{"username": "ok_name", "email": "a\\u0000@example.com", "password": "aaaaaaaaaa"}',
    ],
    ids=["password-surrogate", "email-surrogate", "username-nul", "email-nul"],
)
async def test_hostile_sign_up_bodies_are_422(client: httpx.AsyncClient, body: bytes) -> None:
    """RFC 6749 §10.14 / SPEC §3: sign-up refuses unstorable text with 422, never a 500."""
    r = await client.post("/api/users", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text


async def test_hostile_display_name_is_422(world: World) -> None:
    """RFC 6749 §10.14 / SPEC §7: ``PATCH /api/users/@me`` refuses a NUL byte or lone surrogate with
    422."""
    tokens = await tokens_for(world.user, world.app, "user.read user.write")
    for name in (b"a\\u0000b", b"\\ud800"):
        r = await world.user.patch(
            "/api/users/@me",
            content=b'{"display_name": "' + name + b'"}',
            headers={**bearer(tokens["access_token"]), "Content-Type": "application/json"},
        )
        assert r.status_code == 422, r.text


async def test_sql_in_every_field_changes_nothing(world: World) -> None:
    """RFC 6749 §10.14 / CWE-89: SQL-looking input is data; the tables are intact and the flow still
    works."""
    sql = "'; DROP TABLE users; --"
    await world.user.get("/oauth/authorize", params=authorize_params(world.app, state=sql))
    await world.user.post("/api/session", json={"username": sql, "password": sql})
    await world.user.post(
        "/api/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": sql},
        auth=(world.app.client_id, world.app.client_secret or ""),
    )
    code = await get_code(world.user, world.app, state=sql)
    r = await world.user.post(
        "/api/oauth/token",
        json={"code": code, "grand_type": "authorization_code", "client_id": world.app.client_id},
        headers=bearer(world.app.client_secret or ""),
    )
    assert r.status_code == 200


# --- The real server keeps serving ----------------------------------------------------------


def _raw(server: LiveServer, request: bytes) -> bytes:
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    with socket.create_connection((host or "127.0.0.1", port or 80), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def _post(path: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def test_a_real_server_survives_hostile_requests(live_server: LiveServer) -> None:
    """RFC 6749 §3.2 / CWE-400: raw malformed requests against ``wtp-oauth serve`` get 4xx
    answers, not 500s, and the server goes on answering."""
    hostile = [
        b"GET /oauth/authorize?client_id=%ff%00\xff\xfe&state=%zz HTTP/1.1\r\nHost: x\r\n"
        b"Connection: close\r\n\r\n",
        b"POST /api/oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 40000\r\nConnection: close\r\n\r\n" + b"[" * 40000,
        b"POST /api/oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-"
        b"urlencoded\r\nContent-Length: 9999999\r\nConnection: close\r\n\r\nabc",
        _post("/api/session", "application/json", b'{"username":"a\\u0000","password":"b"}'),
        _post("/api/session", "application/json", b'{"username":"\\ud800","password":"b"}'),
        _post("/api/oauth/token", "application/json", b"[" * 30000),
        _post("/login", "application/x-www-form-urlencoded", b"username=a%00&password=b"),
        b"POST /api/oauth/token HTTP/1.1\r\nHost: x\r\nAuthorization: Basic AAAA\r\n"
        b"Content-Length: 0\r\nConnection: close\r\n\r\n",
    ]
    for request in hostile:
        answer = _raw(live_server, request)
        status_line = answer.split(b"\r\n", 1)[0]
        assert status_line.startswith(b"HTTP/1.1 4"), (request[:60], answer[:300])
    assert httpx.get(f"{live_server.url}/healthz").status_code == 200
    assert "Traceback" not in live_server.log()


async def test_even_a_crash_is_unframeable_uncached_and_tells_nothing(
    world: World, running_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 9700 §4.16 and RFC 6749 §5.2: should a bug ever surface as a 500, the answer still
    carries the security headers and ``no-store``, and no traceback or internal detail."""
    from wtp_oauth.oauth.endpoints import tokens as token_admin

    async def broken(*_args: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(token_admin, "introspect", broken)
    transport = httpx.ASGITransport(app=running_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        r = await http.post(
            "/api/oauth/introspect",
            data={"token": "x"},
            auth=(world.app.client_id, world.app.client_secret or ""),
        )
    assert r.status_code == 500
    _framing_denied(r)
    assert no_store(r)
    assert "secret internal detail" not in r.text and "Traceback" not in r.text
