"""Steps of the OAuth flows, shared by the API, flow and attack tests."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

PASSWORD = "correct horse battery"
REDIRECT_URI = "https://client.example/callback"


def unique(prefix: str = "u") -> str:
    return f"{prefix}{secrets.token_hex(5)}"


@dataclass
class Account:
    id: str
    username: str
    email: str
    password: str = PASSWORD


@dataclass
class Client:
    client_id: str
    client_secret: str | None
    redirect_uris: list[str] = field(default_factory=list)
    client_type: str = "confidential"

    @property
    def redirect_uri(self) -> str:
        return self.redirect_uris[0]


async def sign_up(http: httpx.AsyncClient, username: str | None = None) -> Account:
    """Create an account and sign this client in as it."""
    username = username or unique()
    email = f"{username}@example.com"
    r = await http.post(
        "/api/users", json={"username": username, "email": email, "password": PASSWORD}
    )
    assert r.status_code == 201, r.text
    account = Account(id=r.json()["id"], username=username, email=email)
    r = await http.post("/api/session", json={"username": username, "password": PASSWORD})
    assert r.status_code == 204, r.text
    return account


async def register_client(
    http: httpx.AsyncClient,
    redirect_uris: list[str] | None = None,
    client_type: str = "confidential",
    name: str = "Party Planner",
) -> Client:
    """Register an application as the signed-in user."""
    uris = redirect_uris or [REDIRECT_URI]
    r = await http.post(
        "/api/applications",
        json={"name": name, "redirect_uris": uris, "client_type": client_type},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    return Client(body["client_id"], body["client_secret"], uris, client_type)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


def query_of(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def hidden(page: str, name: str) -> str:
    """The value of a hidden form input, as a browser would submit it."""
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden input {name}"
    return html.unescape(match.group(1))


def authorize_params(client: Client, scopes: str = "user.read", **extra: str) -> dict[str, str]:
    params = {
        "client_id": client.client_id,
        "scopes": scopes,
        "redirect_uri": client.redirect_uri,
        "response_type": "code",
        "state": "st-" + secrets.token_hex(4),
    }
    params.update(extra)
    return params


async def consent(
    http: httpx.AsyncClient, params: dict[str, str], decision: str = "allow"
) -> httpx.Response:
    """Open the authorize link as the signed-in user and answer the consent page."""
    r = await http.get("/oauth/authorize", params=params)
    if r.status_code == 302:
        return r
    assert r.status_code == 200, r.text
    return await http.post(
        "/oauth/authorize",
        data={
            "request_id": hidden(r.text, "request_id"),
            "csrf_token": hidden(r.text, "csrf_token"),
            "decision": decision,
        },
    )


async def get_code(
    http: httpx.AsyncClient, client: Client, scopes: str = "user.read", **extra: str
) -> str:
    params = authorize_params(client, scopes, **extra)
    r = await consent(http, params)
    assert r.status_code in (302, 303), r.text
    query = query_of(r.headers["location"])
    assert query.get("state") == params["state"]
    return query["code"]


async def guide_exchange(
    http: httpx.AsyncClient, client: Client, code: str, grant: str = "authorization_code"
) -> httpx.Response:
    """The developer guide's token request: JSON, grand_type, secret as a Bearer token."""
    return await http.post(
        "/api/oauth/token",
        json={"code": code, "grand_type": grant, "client_id": client.client_id},
        headers={"Authorization": f"Bearer {client.client_secret}"},
    )


async def form_exchange(http: httpx.AsyncClient, client: Client, **params: Any) -> httpx.Response:
    """RFC 6749's token request: form-encoded, HTTP Basic."""
    auth = (client.client_id, client.client_secret) if client.client_secret else None
    data = dict(params)
    if auth is None:
        data["client_id"] = client.client_id
    return await http.post("/api/oauth/token", data=data, auth=auth)


async def tokens_for(
    http: httpx.AsyncClient, client: Client, scopes: str = "user.read"
) -> dict[str, Any]:
    code = await get_code(http, client, scopes)
    r = await guide_exchange(http, client, code)
    assert r.status_code == 200, r.text
    return dict(r.json())
