"""Traffic for the fault tests: the guide's whole flow over HTTP, every answer recorded.

``Recorder.send`` times each request and keeps its answer (or the transport error) so that a
test can judge all of them afterwards; a step that does not get the answer it needs raises
``Interrupted``, and the flow stops there (a real client would start again).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.helpers import PASSWORD, REDIRECT_URI, Client, authorize_params, hidden, query_of, unique

# The kinds of request whose errors are RFC 6749 JSON (``{"error": …}``), as opposed to the
# JSON API's ``{"detail": …}``.
OAUTH_KINDS = {"token", "refresh", "introspect", "revoke"}


@dataclass
class Answer:
    kind: str
    status: int | None  # None: no HTTP answer at all
    seconds: float
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    error: str = ""  # the transport error, if there was no answer

    def __str__(self) -> str:
        if self.status is None:
            return f"{self.kind}: no answer after {self.seconds:.2f}s ({self.error})"
        return f"{self.kind}: {self.status} after {self.seconds:.2f}s {str(self.body)[:200]}"


class Interrupted(Exception):
    """A step did not get the answer the flow needs to go on."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(str(answer))
        self.answer = answer


def _body(response: httpx.Response) -> Any:
    if response.headers.get("content-type", "").startswith("application/json"):
        try:
            return response.json()
        except ValueError:
            return response.text
    return response.text


class Recorder:
    """Sends requests and keeps every answer, in the order they arrived."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []

    async def send(
        self, kind: str, call: Awaitable[httpx.Response], expect: tuple[int, ...]
    ) -> httpx.Response:
        start = time.monotonic()
        try:
            response = await call
        except httpx.HTTPError as exc:
            answer = Answer(kind, None, time.monotonic() - start, error=repr(exc))
            self.answers.append(answer)
            raise Interrupted(answer) from exc
        answer = Answer(
            kind,
            response.status_code,
            time.monotonic() - start,
            _body(response),
            dict(response.headers),
        )
        self.answers.append(answer)
        if response.status_code not in expect:
            raise Interrupted(answer)
        return response


@dataclass
class Issued:
    """What one whole flow obtained."""

    client: Client
    username: str
    first: dict[str, Any]  # the code exchange's answer
    second: dict[str, Any]  # the refresh's answer


async def sign_up_and_in(http: httpx.AsyncClient, rec: Recorder) -> str:
    """A new account, signed in on ``http`` (JSON API); its username."""
    username = unique("f")
    account = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    await rec.send("sign-up", http.post("/api/users", json=account), (201,))
    credentials = {"username": username, "password": PASSWORD}
    await rec.send("sign-in", http.post("/api/session", json=credentials), (204,))
    return username


async def create_application(http: httpx.AsyncClient, rec: Recorder) -> Client:
    body = {"name": "Fault finder", "redirect_uris": [REDIRECT_URI]}
    r = await rec.send("application", http.post("/api/applications", json=body), (201,))
    created = r.json()
    return Client(created["client_id"], created["client_secret"], [REDIRECT_URI])


async def authorize(http: httpx.AsyncClient, rec: Recorder, client: Client) -> str:
    """The authorize link and the consent page's Allow; the code from the redirect."""
    params = authorize_params(client)
    page = await rec.send("authorize", http.get("/oauth/authorize", params=params), (200, 302))
    if page.status_code == 302:  # consent remembered
        location = page.headers["location"]
    else:
        form = {
            "request_id": hidden(page.text, "request_id"),
            "csrf_token": hidden(page.text, "csrf_token"),
            "decision": "allow",
        }
        answer = await rec.send("consent", http.post("/oauth/authorize", data=form), (303,))
        location = answer.headers["location"]
    query = query_of(location)
    assert query["state"] == params["state"], location
    return query["code"]


async def exchange(http: httpx.AsyncClient, rec: Recorder, client: Client, code: str) -> Any:
    """The developer guide's token request (JSON, ``grand_type``, secret as Bearer)."""
    body = {"code": code, "grand_type": "authorization_code", "client_id": client.client_id}
    headers = {"Authorization": f"Bearer {client.client_secret}"}
    r = await rec.send("token", http.post("/api/oauth/token", json=body, headers=headers), (200,))
    return r.json()


async def refresh(http: httpx.AsyncClient, rec: Recorder, client: Client, token: str) -> Any:
    """RFC 6749 §6: form-encoded, HTTP Basic."""
    data = {"grant_type": "refresh_token", "refresh_token": token}
    auth = (client.client_id, client.client_secret or "")
    r = await rec.send("refresh", http.post("/api/oauth/token", data=data, auth=auth), (200,))
    return r.json()


async def me(
    http: httpx.AsyncClient, rec: Recorder, access_token: str, expect: tuple[int, ...] = (200,)
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {access_token}"}
    return await rec.send("me", http.get("/api/users/@me", headers=headers), expect)


async def introspect(http: httpx.AsyncClient, rec: Recorder, client: Client, token: str) -> Any:
    auth = (client.client_id, client.client_secret or "")
    call = http.post("/api/oauth/introspect", data={"token": token}, auth=auth)
    return (await rec.send("introspect", call, (200,))).json()


async def revoke(http: httpx.AsyncClient, rec: Recorder, client: Client, token: str) -> None:
    auth = (client.client_id, client.client_secret or "")
    call = http.post("/api/oauth/revoke", data={"token": token}, auth=auth)
    await rec.send("revoke", call, (200,))


async def whole_flow(
    base_url: str, rec: Recorder, client: Client | None = None, wait: float = 10
) -> Issued:
    """Sign up, sign in, (create an application,) authorize, consent, exchange, ``@me``,
    refresh, ``@me`` with the new token, introspect it; each request may take ``wait``
    seconds. Raises ``Interrupted``."""
    async with httpx.AsyncClient(base_url=base_url, timeout=wait) as http:
        username = await sign_up_and_in(http, rec)
        client = client or await create_application(http, rec)
        code = await authorize(http, rec, client)
        first = await exchange(http, rec, client, code)
        assert (await me(http, rec, first["access_token"])).json()["username"] == username
        second = await refresh(http, rec, client, first["refresh_token"])
        assert (await me(http, rec, second["access_token"])).json()["username"] == username
        assert (await introspect(http, rec, client, second["access_token"]))["active"] is True
        return Issued(client, username, first, second)


# One row per family (one authorization): its code, and how many tokens descend from it.
FAMILIES = """
SELECT c.family_id, c.consumed_at IS NOT NULL AS consumed,
       (SELECT count(*) FROM access_tokens a WHERE a.family_id = c.family_id) AS access,
       (SELECT count(*) FROM access_tokens a
         WHERE a.family_id = c.family_id AND a.revoked_at IS NOT NULL) AS access_revoked,
       (SELECT count(*) FROM refresh_tokens r WHERE r.family_id = c.family_id) AS refresh,
       (SELECT count(*) FROM refresh_tokens r
         WHERE r.family_id = c.family_id AND r.rotated_at IS NOT NULL) AS rotated,
       (SELECT count(*) FROM refresh_tokens r
         WHERE r.family_id = c.family_id AND r.revoked_at IS NOT NULL) AS refresh_revoked
  FROM authorization_codes c
"""

ORPHAN_TOKENS = """
SELECT 'access' AS kind, family_id FROM access_tokens
 WHERE family_id NOT IN (SELECT family_id FROM authorization_codes)
UNION ALL
SELECT 'refresh', family_id FROM refresh_tokens
 WHERE family_id NOT IN (SELECT family_id FROM authorization_codes)
"""


def half_written(families: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The families that break what one atomic grant statement guarantees: a code is consumed
    exactly when its first pair of tokens exists, and every grant (the code's, then each
    rotation's) wrote one access and one refresh token together."""
    return [
        family
        for family in families
        if family["access"] != family["refresh"]
        or family["refresh"] != int(family["consumed"]) + family["rotated"]
    ]


async def query(url: str, sql: str) -> list[dict[str, Any]]:
    """Rows of ``sql`` on the database at ``url`` (SQLite or PostgreSQL)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text(sql))
            return [dict(row) for row in result.mappings()]
    finally:
        await engine.dispose()
