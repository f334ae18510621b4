"""routers/accounts.py: sign-up, sign-in and sign-out, JSON and HTML (SPEC §3)."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest

from tests.api.support import app_client
from tests.conftest import FakeClock
from tests.helpers import PASSWORD, hidden, sign_up, unique
from wtp_oauth.config import Settings

SESSION = "wtp_session"


def new_user(username: str | None = None, **changes: str) -> dict[str, str]:
    username = username or unique()
    body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    body.update(changes)
    return body


def set_cookie(response: httpx.Response, name: str) -> str:
    """The Set-Cookie header for ``name``; fails if there is none."""
    for value in response.headers.get_list("set-cookie"):
        if value.startswith(f"{name}="):
            return value
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers}")


def attributes(header: str) -> dict[str, str]:
    parts = [part.strip() for part in header.split(";")[1:]]
    return {k.lower(): v for k, _, v in (part.partition("=") for part in parts)}


async def signed_in(http: httpx.AsyncClient) -> bool:
    r = await http.get("/api/applications")
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200


# --- POST /api/users -------------------------------------------------------------------------


async def test_create_user(client: httpx.AsyncClient, clock: FakeClock) -> None:
    body = new_user()
    r = await client.post("/api/users", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert set(created) == {"id", "username", "display_name", "created_at"}
    assert isinstance(created["id"], str) and created["id"]
    assert created["username"] == body["username"]
    assert created["display_name"] == body["username"]
    assert datetime.fromisoformat(created["created_at"]) == clock()
    assert PASSWORD not in r.text


async def test_created_user_ids_differ(client: httpx.AsyncClient) -> None:
    first = (await client.post("/api/users", json=new_user())).json()["id"]
    second = (await client.post("/api/users", json=new_user())).json()["id"]
    assert first != second


@pytest.mark.parametrize(
    "username",
    [(unique("") * 4)[:3], (unique("") * 4)[:32], "Ada.Lovelace_1-" + unique("")],
)
async def test_usernames_at_the_edges_are_accepted(
    client: httpx.AsyncClient, username: str
) -> None:
    r = await client.post("/api/users", json=new_user(username))
    assert r.status_code == 201, r.text
    assert r.json()["username"] == username


async def test_shortest_password_is_accepted(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/users", json=new_user(password="12345678"))
    assert r.status_code == 201, r.text


async def test_username_taken_case_insensitively(client: httpx.AsyncClient) -> None:
    body = new_user()
    assert (await client.post("/api/users", json=body)).status_code == 201
    again = new_user(body["username"].upper(), email=f"other-{unique()}@example.com")
    r = await client.post("/api/users", json=again)
    assert r.status_code == 409
    assert "username" in r.json()["detail"]


async def test_email_taken_case_insensitively(client: httpx.AsyncClient) -> None:
    body = new_user()
    assert (await client.post("/api/users", json=body)).status_code == 201
    r = await client.post("/api/users", json=new_user(email=body["email"].upper()))
    assert r.status_code == 409
    assert "email" in r.json()["detail"]


BAD_INPUT = [
    ({"username": "ab"}, "username"),
    ({"username": "a" * 33}, "username"),
    ({"username": "has space"}, "username"),
    ({"username": "slash/name"}, "username"),
    ({"username": "émile"}, "username"),
    ({"password": "1234567"}, "password"),
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@b"}, "email"),
]


async def test_bad_input_is_422_with_detail(client: httpx.AsyncClient) -> None:
    for changes, field in BAD_INPUT:
        r = await client.post("/api/users", json=new_user(**changes))
        assert r.status_code == 422, (changes, r.text)
        detail = r.json()["detail"]
        assert any(error["loc"][-1] == field for error in detail), (changes, detail)


async def test_malformed_bodies_are_422(client: httpx.AsyncClient) -> None:
    for body in (
        {},
        {"username": "abcdef"},
        [],
        "text",
        {**new_user(), "is_admin": True},
        {**new_user(), "password": 12345678},
    ):
        r = await client.post("/api/users", json=body)
        assert r.status_code == 422, (body, r.text)
        assert "detail" in r.json()


async def test_create_user_needs_json(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/users", data=new_user())
    assert r.status_code == 415
    assert r.json()["detail"]
    r = await client.post(
        "/api/users", content=b'{"username": "x"}', headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 415


# --- POST|DELETE /api/session ----------------------------------------------------------------


async def test_sign_in_sets_a_session_cookie(client: httpx.AsyncClient) -> None:
    body = new_user()
    await client.post("/api/users", json=body)
    assert not await signed_in(client)
    r = await client.post("/api/session", json={"username": body["username"], "password": PASSWORD})
    assert r.status_code == 204
    assert r.content == b""
    cookie = attributes(set_cookie(r, SESSION))
    assert "httponly" in cookie
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert cookie["max-age"] == "1209600"
    assert "secure" not in cookie  # the test issuer is http
    assert await signed_in(client)


async def test_sign_in_ignores_username_case(client: httpx.AsyncClient) -> None:
    body = new_user()
    await client.post("/api/users", json=body)
    r = await client.post(
        "/api/session", json={"username": body["username"].upper(), "password": PASSWORD}
    )
    assert r.status_code == 204


async def test_wrong_password_and_unknown_user_are_the_same_401(client: httpx.AsyncClient) -> None:
    body = new_user()
    await client.post("/api/users", json=body)
    wrong = await client.post(
        "/api/session", json={"username": body["username"], "password": "wrong password"}
    )
    unknown = await client.post(
        "/api/session", json={"username": unique("nobody"), "password": PASSWORD}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert SESSION not in wrong.headers.get("set-cookie", "")
    assert not await signed_in(client)


async def test_sign_in_needs_json(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/session", data={"username": "x", "password": PASSWORD})
    assert r.status_code == 415


async def test_sign_out_ends_the_session_on_the_server(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    token = client.cookies[SESSION]
    r = await client.delete("/api/session")
    assert r.status_code == 204
    cleared = attributes(set_cookie(r, SESSION))
    assert cleared.get("max-age") == "0" or "expires" in cleared
    assert not await signed_in(client)
    # Replaying the old cookie value does not bring the session back.
    client.cookies.set(SESSION, token)
    assert not await signed_in(client)


async def test_sign_out_without_a_session(client: httpx.AsyncClient) -> None:
    assert (await client.delete("/api/session")).status_code == 204


async def test_a_session_expires_after_session_ttl(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    await sign_up(client)
    clock.advance(1_209_600 - 1)
    assert await signed_in(client)
    clock.advance(1)
    assert not await signed_in(client)


async def test_a_forged_session_cookie_is_nobody(client: httpx.AsyncClient) -> None:
    client.cookies.set(SESSION, "wtpsess_forged")
    assert not await signed_in(client)


@pytest.fixture
async def https_client(settings: Settings, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """The application behind an https issuer."""
    https_settings = settings.model_copy(update={"issuer": "https://wants-to.party"})
    async with app_client(https_settings, clock, "https://wants-to.party") as (_, http):
        yield http


async def test_session_cookie_is_secure_behind_https(https_client: httpx.AsyncClient) -> None:
    body = new_user()
    await https_client.post("/api/users", json=body)
    r = await https_client.post(
        "/api/session", json={"username": body["username"], "password": PASSWORD}
    )
    assert r.status_code == 204
    assert "secure" in attributes(set_cookie(r, SESSION))
    page = await https_client.get("/login")
    assert "secure" in attributes(set_cookie(page, "wtp_csrf"))


# --- HTML: /signup, /login, /logout ----------------------------------------------------------


async def test_login_page(client: httpx.AsyncClient) -> None:
    r = await client.get("/login", params={"next": "/developers"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"
    assert '<form method="post" action="/login">' in r.text
    assert 'name="username"' in r.text and 'name="password"' in r.text
    assert hidden(r.text, "next") == "/developers"
    assert hidden(r.text, "csrf_token")
    assert "httponly" in attributes(set_cookie(r, "wtp_csrf"))


@pytest.mark.parametrize(
    "next_path", ["//evil.example/", "/\\evil.example", "https://evil.example/", "javascript:x"]
)
async def test_login_page_drops_an_unsafe_next(client: httpx.AsyncClient, next_path: str) -> None:
    r = await client.get("/login", params={"next": next_path})
    assert hidden(r.text, "next") == "/"


async def login_form(http: httpx.AsyncClient, username: str, **changes: str) -> httpx.Response:
    page = await http.get("/login")
    data = {
        "username": username,
        "password": PASSWORD,
        "next": "/",
        "csrf_token": hidden(page.text, "csrf_token"),
    }
    data.update(changes)
    return await http.post("/login", data=data)


async def test_login_form_signs_in_with_303_to_next(client: httpx.AsyncClient) -> None:
    body = new_user()
    await client.post("/api/users", json=body)
    r = await login_form(client, body["username"], next="/oauth/authorize?client_id=x&scope=y")
    assert r.status_code == 303
    assert r.headers["location"] == "/oauth/authorize?client_id=x&scope=y"
    assert "httponly" in attributes(set_cookie(r, SESSION))
    assert await signed_in(client)


@pytest.mark.parametrize(
    "next_path", ["//evil.example/", "/\\evil.example", "https://evil.example"]
)
async def test_login_form_never_sends_you_off_site(
    client: httpx.AsyncClient, next_path: str
) -> None:
    body = new_user()
    await client.post("/api/users", json=body)
    r = await login_form(client, body["username"], next=next_path)
    assert r.status_code == 303
    assert r.headers["location"] == "/"


@pytest.mark.parametrize("csrf_token", ["", "forged"])
async def test_login_form_requires_the_csrf_token(
    client: httpx.AsyncClient, csrf_token: str
) -> None:
    body = new_user()
    await client.post("/api/users", json=body)
    r = await login_form(client, body["username"], csrf_token=csrf_token)
    assert r.status_code == 400
    assert SESSION not in r.headers.get("set-cookie", "")
    assert not await signed_in(client)


async def test_login_form_token_is_bound_to_the_browser(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    body = new_user()
    await client.post("/api/users", json=body)
    token = hidden((await client.get("/login")).text, "csrf_token")
    await other_client.get("/login")
    r = await login_form(other_client, body["username"], csrf_token=token)
    assert r.status_code == 400


async def test_login_form_wrong_password(client: httpx.AsyncClient) -> None:
    body = new_user()
    await client.post("/api/users", json=body)
    r = await login_form(client, body["username"], password="wrong password")
    assert r.status_code == 401
    assert "Incorrect username or password" in r.text
    assert SESSION not in r.headers.get("set-cookie", "")


async def signup_form(http: httpx.AsyncClient, **changes: str) -> httpx.Response:
    page = await http.get("/signup")
    assert page.status_code == 200
    data = {**new_user(), "next": "/", "csrf_token": hidden(page.text, "csrf_token")}
    data.update(changes)
    return await http.post("/signup", data=data)


async def test_signup_form_creates_the_account_and_signs_in(client: httpx.AsyncClient) -> None:
    username = unique()
    r = await signup_form(
        client, username=username, email=f"{username}@example.com", next="/developers"
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/developers"
    assert await signed_in(client)
    again = await client.post("/api/session", json={"username": username, "password": PASSWORD})
    assert again.status_code == 204


async def test_login_page_links_to_signup_keeping_next(client: httpx.AsyncClient) -> None:
    next_path = "/oauth/authorize?client_id=abc&scopes=user.read+user.email&state=x%26y"
    login = await client.get("/login", params={"next": next_path})
    link = re.search(r'href="(/signup\?next=[^"]*)"', login.text)
    assert link, login.text
    signup = await client.get(html.unescape(link.group(1)))
    assert hidden(signup.text, "next") == next_path
    r = await signup_form(client, next=hidden(signup.text, "next"))
    assert r.headers["location"] == next_path


async def test_signup_form_drops_an_unsafe_next(client: httpx.AsyncClient) -> None:
    r = await signup_form(client, next="//evil.example")
    assert r.status_code == 303
    assert r.headers["location"] == "/"


async def test_signup_form_requires_the_csrf_token(client: httpx.AsyncClient) -> None:
    username = unique()
    r = await signup_form(client, username=username, csrf_token="")
    assert r.status_code == 400
    assert not await signed_in(client)
    nobody = await client.post("/api/session", json={"username": username, "password": PASSWORD})
    assert nobody.status_code == 401


async def test_signup_form_explains_bad_input(client: httpx.AsyncClient) -> None:
    r = await signup_form(client, username="a", password="short")
    assert r.status_code == 422
    assert "Username: 3 to 32" in r.text
    assert "Password must be at least 8 characters." in r.text
    assert not await signed_in(client)


async def test_signup_form_taken_username(client: httpx.AsyncClient) -> None:
    taken = await sign_up(client)
    await client.delete("/api/session")
    r = await signup_form(client, username=taken.username.upper())
    assert r.status_code == 409
    assert "already taken" in r.text


async def test_logout_form(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    token = client.cookies[SESSION]
    home = await client.get("/")
    r = await client.post("/logout", data={"csrf_token": hidden(home.text, "csrf_token")})
    assert r.status_code == 303
    assert r.headers["location"] == "/login"
    client.cookies.set(SESSION, token)
    assert not await signed_in(client)


async def test_logout_form_requires_the_csrf_token(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    r = await client.post("/logout", data={"csrf_token": "forged"})
    assert r.status_code == 400
    assert await signed_in(client)


async def test_concurrent_sign_ins_beyond_the_pool_all_answer(
    settings: Settings, clock: FakeClock
) -> None:
    """A sign-in never holds two pooled connections at once, so a burst larger than the pool
    queues and succeeds instead of deadlocking until the pool times out (a 500)."""
    small = settings.model_copy(update={"pool_size": 1})
    async with app_client(small, clock, "http://testserver") as (_, http):
        bodies = [new_user() for _ in range(6)]
        for body in bodies:
            assert (await http.post("/api/users", json=body)).status_code == 201
        answers = await asyncio.wait_for(
            asyncio.gather(
                *(
                    http.post(
                        "/api/session", json={"username": b["username"], "password": PASSWORD}
                    )
                    for b in bodies
                )
            ),
            timeout=25,
        )
    assert [r.status_code for r in answers] == [204] * 6


# --- One password rule (SPEC §3) -------------------------------------------------------------

TOO_LONG = "Password must be at most 1,024 characters."


async def test_an_over_long_password_is_refused_never_cut_short(
    client: httpx.AsyncClient,
) -> None:
    """The sign-in form used to cut a password to 1,024 characters before checking it, so a
    longer one whose first 1,024 characters were right signed in, while the JSON API refused
    it. Now both refuse it, with the same message."""
    longest = "p" * 1024
    body = new_user(password=longest)
    assert (await client.post("/api/users", json=body)).status_code == 201
    username = body["username"]

    r = await client.post("/api/session", json={"username": username, "password": longest + "x"})
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert (error["loc"], error["msg"]) == (["body", "password"], TOO_LONG)

    r = await login_form(client, username, password=longest + "x")
    assert r.status_code == 422
    assert TOO_LONG in html.unescape(r.text)
    assert not await signed_in(client)

    # 1,024 characters are fine in both.
    r = await login_form(client, username, password=longest)
    assert r.status_code == 303 and await signed_in(client)
    r = await client.post("/api/session", json={"username": username, "password": longest})
    assert r.status_code == 204


async def test_sign_up_has_the_same_rule(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/users", json=new_user(password="p" * 1025))
    assert r.status_code == 422
    assert r.json()["detail"][0]["msg"] == TOO_LONG
    r = await signup_form(client, password="p" * 1025)
    assert r.status_code == 422
    assert TOO_LONG in html.unescape(r.text)
    assert not await signed_in(client)


async def test_an_empty_sign_in_form_is_wrong_credentials(client: httpx.AsyncClient) -> None:
    r = await login_form(client, "", password="")
    assert r.status_code == 401
    assert "Incorrect username or password." in r.text
