"""What the load needs, prepared through the public API, and one documented fast path.

Users, sign-in sessions, applications and consents are made exactly as a person and a
developer would make them: ``POST /api/users``, ``POST /api/session``, ``POST
/api/applications``, the consent page and its Allow button. Access and refresh tokens come
from the token endpoint.

**The fast path: authorization codes.** A code is single use, so the code-exchange scenario
needs one fresh code per request — tens of thousands per run. Asking ``/oauth/authorize`` for
each would take longer than the measurement itself, so :func:`insert_codes` writes them straight
into ``authorization_codes`` through the project's own table definition, with the project's own
digest function, for users who really granted consent through the API — the same row that
``oauth.grants.authorization_code.authorize.issue_code`` writes. The authorize endpoint itself
is measured by the sign-in scenario, and ``tests/bench`` checks that such a code is redeemed by
the server.
"""

from __future__ import annotations

import asyncio
import base64
import html
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from sqlalchemy import insert

from wtp_oauth.clock import utcnow
from wtp_oauth.config import Settings
from wtp_oauth.db import create_engine
from wtp_oauth.models import AuthorizationCode
from wtp_oauth.security.tokens import digest, new_id, new_secret

PASSWORD = "benchmark password"
REDIRECT_URI = "https://client.example/callback"
SCOPE = "user.read"
CODE_TTL = timedelta(seconds=300)


@dataclass(frozen=True)
class BenchClient:
    client_id: str
    client_secret: str

    @property
    def basic(self) -> str:
        pair = f"{self.client_id}:{self.client_secret}".encode()
        return "Basic " + base64.b64encode(pair).decode()


@dataclass(frozen=True)
class BenchUser:
    id: str
    username: str
    session: str  # the wtp_session cookie value


@dataclass(frozen=True)
class IssuedCode:
    client: BenchClient
    code: str


@dataclass(frozen=True)
class Tokens:
    client: BenchClient
    access_token: str
    refresh_token: str


@dataclass
class Fixture:
    """Everything the scenarios share."""

    base_url: str
    clients: list[BenchClient]
    users: list[BenchUser]
    tokens: list[Tokens] = field(default_factory=list)

    def authorize_path(self, client: BenchClient) -> str:
        query = {
            "client_id": client.client_id,
            "scopes": SCOPE,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "state": "bench",
        }
        return "/oauth/authorize?" + urlencode(query)


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    if match is None:
        raise RuntimeError(f"no hidden input {name} on the consent page")
    return html.unescape(match.group(1))


def _code_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["code"][0]


def _check(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:300]}"
        )
    return response


async def _sign_up(http: httpx.AsyncClient, username: str) -> BenchUser:
    body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    user_id = _check(await http.post("/api/users", json=body), 201).json()["id"]
    session = {"username": username, "password": PASSWORD}
    _check(await http.post("/api/session", json=session), 204)
    return BenchUser(id=user_id, username=username, session=http.cookies["wtp_session"])


async def _consent(http: httpx.AsyncClient, fixture: Fixture, client: BenchClient) -> str:
    """Open the authorize link as the signed-in user, press Allow; the code it yields."""
    page = await http.get(fixture.authorize_path(client))
    if page.status_code == 302:
        return _code_of(page.headers["location"])
    _check(page, 200)
    form = {
        "request_id": _hidden(page.text, "request_id"),
        "csrf_token": _hidden(page.text, "csrf_token"),
        "decision": "allow",
    }
    return _code_of(_check(await http.post("/oauth/authorize", data=form), 303).headers["location"])


async def _prepare(base_url: str, n_users: int, n_clients: int) -> Fixture:
    run = secrets.token_hex(3)
    limits = httpx.Limits(max_connections=n_users + 1)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as developer:
        await _sign_up(developer, f"bench_dev_{run}")
        clients = []
        for i in range(n_clients):
            app = {"name": f"Benchmark {i}", "redirect_uris": [REDIRECT_URI]}
            created = _check(await developer.post("/api/applications", json=app), 201).json()
            clients.append(BenchClient(created["client_id"], created["client_secret"]))
    fixture = Fixture(base_url=base_url, clients=clients, users=[])
    # A few at a time: each sign-up and sign-in is an argon2 hash, and a sign-in holds two of
    # the server's cold-path connections at once (more at a time than its pool can serve
    # wait for the pool's 30 s timeout, then fail).
    gate = asyncio.Semaphore(4)

    async def user(i: int) -> BenchUser:
        async with gate, httpx.AsyncClient(base_url=base_url, timeout=60) as browser:
            signed_up = await _sign_up(browser, f"bench_{run}_{i}")
            for client in clients:
                await _consent(browser, fixture, client)
            return signed_up

    fixture.users = list(await asyncio.gather(*(user(i) for i in range(n_users))))
    return fixture


def prepare(base_url: str, *, n_users: int = 16, n_clients: int = 4) -> Fixture:
    """Users (signed in), applications, and each user's consent to each application."""
    return asyncio.run(_prepare(base_url, n_users, n_clients))


async def _insert_codes(
    database_url: str, fixture: Fixture, count: int, clients: list[BenchClient]
) -> list[IssuedCode]:
    now = utcnow()
    issued: list[IssuedCode] = []
    rows = []
    for i in range(count):
        client = clients[i % len(clients)]
        user = fixture.users[(i // len(clients)) % len(fixture.users)]
        code = new_secret()
        # One microsecond apart, as codes issued one by one would be: tens of thousands of
        # equal keys in ix_authorization_codes_expires_at would cost the database more on
        # every consumption (posting-list splits) than the server ever meets.
        issued_at = now + timedelta(microseconds=i)
        issued.append(IssuedCode(client, code))
        rows.append(
            {
                "code_digest": digest(code),
                "client_id": client.client_id,
                "user_id": user.id,
                "redirect_uri": REDIRECT_URI,
                "scope": SCOPE,
                "code_challenge": None,
                "family_id": new_id(),
                "created_at": issued_at,
                "expires_at": issued_at + CODE_TTL,
                "consumed_at": None,
            }
        )
    engine = create_engine(Settings(database_url=database_url))
    try:
        async with engine.begin() as conn:
            for start in range(0, len(rows), 5000):
                await conn.execute(insert(AuthorizationCode), rows[start : start + 5000])
    finally:
        await engine.dispose()
    return issued


def insert_codes(
    database_url: str, fixture: Fixture, count: int, clients: list[BenchClient] | None = None
) -> list[IssuedCode]:
    """``count`` fresh codes for consented users (the fast path, see the module's docstring)."""
    return asyncio.run(_insert_codes(database_url, fixture, count, clients or fixture.clients))


async def _exchange(base_url: str, codes: list[IssuedCode], concurrency: int) -> list[Tokens]:
    limits = httpx.Limits(max_connections=concurrency)
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:

        async def one(issued: IssuedCode) -> Tokens:
            form = {"grant_type": "authorization_code", "code": issued.code}
            async with semaphore:
                response = await http.post(
                    "/api/oauth/token", data=form, headers={"Authorization": issued.client.basic}
                )
            body = _check(response, 200).json()
            return Tokens(issued.client, body["access_token"], body["refresh_token"])

        return list(await asyncio.gather(*(one(code) for code in codes)))


def exchange_codes(base_url: str, codes: list[IssuedCode], concurrency: int = 16) -> list[Tokens]:
    """Redeem codes at the token endpoint, as a client would: access and refresh tokens."""
    return asyncio.run(_exchange(base_url, codes, concurrency))
