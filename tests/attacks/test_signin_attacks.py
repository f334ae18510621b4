"""Threat model of sign-in: password guessing, user enumeration, session and redirect tricks.

SPEC §2–§3 fix the throttle (WTP_LOGIN_FAILURE_LIMIT per username, ten times that per IP
address, in 15 minutes, 429 with ``Retry-After``), kept in the database so that every worker
and host shares it. RFC 6749 §10.10 (credentials-guessing attacks) asks for exactly this;
OWASP ASVS V2.2 for the same answer and cost for unknown users. Each test
names the section it enforces.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from tests.attacks.conftest import AppFactory, World
from tests.conftest import TEST_ISSUER, FakeClock, LiveServer
from tests.helpers import PASSWORD, hidden, sign_up, unique


async def _new_account(http: httpx.AsyncClient) -> str:
    username = unique()
    r = await http.post(
        "/api/users",
        json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
    )
    assert r.status_code == 201, r.text
    return username


async def _sign_in(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await http.post("/api/session", json={"username": username, "password": password})


async def _form_sign_in(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    page = await http.get("/login")
    return await http.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "next": "/",
            "csrf_token": hidden(page.text, "csrf_token"),
        },
    )


# --- Enumeration ----------------------------------------------------------------------------


async def test_unknown_user_and_wrong_password_get_the_same_answer(
    client: httpx.AsyncClient,
) -> None:
    """RFC 6749 §10.10 / OWASP ASVS V2.2: the answer does not tell whether the account exists."""
    username = await _new_account(client)
    wrong = await _sign_in(client, username, "wrong password")
    unknown = await _sign_in(client, unique(), "wrong password")
    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())
    assert wrong.status_code == 401
    wrong = await _form_sign_in(client, username, "wrong password")
    unknown = await _form_sign_in(client, unique(), "wrong password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Incorrect username or password." in wrong.text
    assert "Incorrect username or password." in unknown.text


async def test_unknown_user_costs_as_much_as_a_wrong_password(
    client: httpx.AsyncClient,
) -> None:
    """RFC 6749 §10.10 and OWASP ASVS V2.2 (timing enumeration): an unknown username is answered
    after a dummy password hash, not at once — the median times differ by far less than one hash."""
    username = await _new_account(client)

    async def timed(name: str) -> float:
        start = time.perf_counter()
        r = await _sign_in(client, name, "wrong password")
        assert r.status_code == 401
        return time.perf_counter() - start

    known = [await timed(username) for _ in range(3)]
    unknown = [await timed(unique()) for _ in range(3)]
    assert statistics.median(unknown) > 0.5 * statistics.median(known)


# --- Throttling in one process --------------------------------------------------------------


async def test_failures_for_one_username_are_throttled(custom_app: AppFactory) -> None:
    """RFC 6749 §10.10 / SPEC §2: after WTP_LOGIN_FAILURE_LIMIT failures the username gets 429
    with ``Retry-After`` — even with the right password, and whatever its letter case."""
    async with custom_app(login_failure_limit=3) as http:
        username = await _new_account(http)
        for _ in range(3):
            assert (await _sign_in(http, username, "wrong password")).status_code == 401
        r = await _sign_in(http, username.upper(), PASSWORD)
        assert r.status_code == 429
        assert 0 < int(r.headers["retry-after"]) <= 15 * 60
        r = await _form_sign_in(http, username, PASSWORD)
        assert r.status_code == 429
        assert "retry-after" in r.headers


async def test_throttle_window_ends_after_fifteen_minutes(
    custom_app: AppFactory, clock: FakeClock
) -> None:
    """RFC 6749 §10.10 / SPEC §2: the count covers 15 minutes; afterwards the right password works
    again."""
    async with custom_app(login_failure_limit=2) as http:
        username = await _new_account(http)
        for _ in range(2):
            await _sign_in(http, username, "wrong password")
        assert (await _sign_in(http, username, PASSWORD)).status_code == 429
        clock.advance(15 * 60 + 1)
        assert (await _sign_in(http, username, PASSWORD)).status_code == 204


async def test_failures_from_one_address_are_throttled_at_ten_times_the_limit(
    custom_app: AppFactory,
) -> None:
    """RFC 6749 §10.10 / SPEC §2: one address spraying many usernames is stopped at ten times the
    per-username limit; another address is not affected."""
    async with custom_app(login_failure_limit=2, ip="10.77.0.1") as sprayer:
        for _ in range(20):
            assert (await _sign_in(sprayer, unique(), "guess")).status_code == 401
        assert (await _sign_in(sprayer, unique(), "guess")).status_code == 429
        username = await _new_account(sprayer)
        assert (await _sign_in(sprayer, username, PASSWORD)).status_code == 429
    async with custom_app(login_failure_limit=2, ip="10.77.0.2") as bystander:
        assert (await _sign_in(bystander, username, PASSWORD)).status_code == 204


# --- Throttling across processes ------------------------------------------------------------


@pytest.fixture(scope="module")
def throttled_servers(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two independent servers ("hosts") on one database, WTP_LOGIN_FAILURE_LIMIT=3."""
    log_dir = tmp_path_factory.mktemp("throttle")
    env = {"WTP_LOGIN_FAILURE_LIMIT": "3"}
    first = LiveServer(database_url, workers=2, env=env).start(log_dir)
    try:
        second = LiveServer(database_url, workers=1, env=env).start(log_dir)
        try:
            yield first, second
        finally:
            second.stop()
    finally:
        first.stop()


async def test_throttle_is_shared_by_every_host(
    throttled_servers: tuple[LiveServer, LiveServer],
) -> None:
    """RFC 6749 §10.10 / SPEC §2: failures are kept in the database, so guesses spread over several
    server processes (hosts, workers) count together."""
    first, second = throttled_servers
    async with (
        httpx.AsyncClient(base_url=first.url) as a,
        httpx.AsyncClient(base_url=second.url) as b,
    ):
        username = await _new_account(a)
        for http in (a, b, a):
            assert (await _sign_in(http, username, "wrong password")).status_code == 401
        assert (await _sign_in(b, username, PASSWORD)).status_code == 429
        assert (await _sign_in(a, username, PASSWORD)).status_code == 429


async def test_parallel_guesses_cannot_outrun_the_throttle(
    throttled_servers: tuple[LiveServer, LiveServer],
) -> None:
    """RFC 6749 §10.10 / SPEC §2: guesses fired at once, over many connections to two workers,
    still get at most WTP_LOGIN_FAILURE_LIMIT password checks; the rest are 429."""
    first, _ = throttled_servers
    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(base_url=first.url, limits=limits, timeout=60) as http:
        username = await _new_account(http)
        answers = await asyncio.gather(*(_sign_in(http, username, f"guess {n}") for n in range(16)))
    statuses = sorted(r.status_code for r in answers)
    assert set(statuses) <= {401, 429}
    assert statuses.count(401) <= 3, statuses


# --- Sessions and redirects -----------------------------------------------------------------


async def test_login_form_without_csrf_token_signs_nobody_in(client: httpx.AsyncClient) -> None:
    """RFC 6749 §10.12 (login CSRF): a forged sign-in form, posted without the token bound to
    the browser, does not sign the victim into the attacker's account."""
    username = await _new_account(client)
    r = await client.post("/login", data={"username": username, "password": PASSWORD, "next": "/"})
    assert r.status_code == 400
    assert "wtp_session" not in r.cookies


@pytest.mark.parametrize(
    "next_path",
    [
        "https://attacker.example/",
        "//attacker.example/",
        "/\\attacker.example/",
        "/\\/attacker.example",
        "\\\\attacker.example",
        "http:attacker.example",
        "javascript:alert(1)",
        "/%0d%0aSet-Cookie:x=1",
        " //attacker.example",
    ],
)
async def test_login_next_is_never_an_open_redirect(shared_world: World, next_path: str) -> None:
    """RFC 6749 §10.15 and RFC 9700 §4.11 (open redirectors) / SPEC §3: ``next`` is followed
    only when it is a path on this server."""
    browser = shared_world.user
    page = await browser.get("/login", params={"next": next_path})
    r = await browser.post(
        "/login",
        data={
            "username": shared_world.account.username,
            "password": PASSWORD,
            "next": next_path,
            "csrf_token": hidden(page.text, "csrf_token"),
        },
    )
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert "attacker" not in location and "\r" not in location and "\n" not in location


async def test_session_fixation_is_impossible(client: httpx.AsyncClient) -> None:
    """RFC 6749 §10.12 / OWASP session fixation: a session id planted before sign-in is never
    adopted; signing in issues a fresh one."""
    username = await _new_account(client)
    client.cookies.set("wtp_session", "wtpsess_planted-by-attacker", domain="testserver")
    r = await _sign_in(client, username, PASSWORD)
    assert r.status_code == 204
    assert r.cookies["wtp_session"] != "wtpsess_planted-by-attacker"


async def test_signing_out_ends_the_session_on_the_server(
    client: httpx.AsyncClient, running_app: FastAPI
) -> None:
    """RFC 6749 §10.12 / SPEC §3: the session lives on the server, so a copied cookie dies with
    sign-out."""
    await sign_up(client)
    stolen = client.cookies["wtp_session"]
    assert (await client.get("/api/users/@me/authorizations")).status_code == 200
    assert (await client.delete("/api/session")).status_code == 204
    transport = httpx.ASGITransport(app=running_app, client=("10.66.0.1", 1))
    async with httpx.AsyncClient(
        transport=transport, base_url=TEST_ISSUER, cookies={"wtp_session": stolen}
    ) as thief:
        assert (await thief.get("/api/users/@me/authorizations")).status_code == 401
