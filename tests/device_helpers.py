"""Steps of the device flow (RFC 8628), shared by the API, attack, e2e and docs tests."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.helpers import Client, hidden
from wtp_oauth.models import Application

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
WITH_DEVICE = ["authorization_code", "refresh_token", DEVICE_GRANT]


async def enable_device_grant(engine: AsyncEngine, client_id: str) -> None:
    """Let the application use the device grant, straight in the database (the JSON API does
    not set ``grant_types`` yet)."""
    async with engine.begin() as conn:
        await conn.execute(
            update(Application)
            .where(Application.client_id == client_id)  # type: ignore[arg-type]
            .values(grant_types=WITH_DEVICE)
        )


async def enable_device_grant_at(database_url: str, client_id: str) -> None:
    """:func:`enable_device_grant` through an engine of its own (for live-server tests)."""
    engine = create_async_engine(database_url)
    try:
        await enable_device_grant(engine, client_id)
    finally:
        await engine.dispose()


def _auth(client: Client, data: dict[str, str]) -> tuple[dict[str, str], Any]:
    """RFC 6749 §2.3: HTTP Basic for a confidential client, ``client_id`` alone for a public one."""
    if client.client_secret is None:
        return {**data, "client_id": client.client_id}, None
    return data, (client.client_id, client.client_secret)


async def start(http: httpx.AsyncClient, client: Client, **params: str) -> httpx.Response:
    """The device authorization request (RFC 8628 §3.1), form-encoded; ``scope`` defaults to
    ``user.read``."""
    data, auth = _auth(client, {"scope": "user.read", **params})
    return await http.post("/api/oauth/device_authorization", data=data, auth=auth)


async def started(http: httpx.AsyncClient, client: Client, **params: str) -> dict[str, Any]:
    r = await start(http, client, **params)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def poll(
    http: httpx.AsyncClient, client: Client, device_code: str, path: str = "/api/oauth/token"
) -> httpx.Response:
    """One poll of the token endpoint (RFC 8628 §3.4), the standard way."""
    data, auth = _auth(client, {"grant_type": DEVICE_GRANT, "device_code": device_code})
    return await http.post(path, data=data, auth=auth)


async def guide_poll(http: httpx.AsyncClient, client: Client, device_code: str) -> httpx.Response:
    """One poll in the developer guide's dialect: JSON, ``grand_type``, the secret as Bearer."""
    return await http.post(
        "/api/token",
        json={
            "grand_type": DEVICE_GRANT,
            "device_code": device_code,
            "client_id": client.client_id,
        },
        headers={"Authorization": f"Bearer {client.client_secret}"},
    )


async def enter_code(http: httpx.AsyncClient, user_code: str) -> httpx.Response:
    """As the signed-in user: open /device and type ``user_code``."""
    page = await http.get("/device")
    assert page.status_code == 200, page.text
    return await http.post(
        "/device", data={"user_code": user_code, "csrf_token": hidden(page.text, "csrf_token")}
    )


async def answer(http: httpx.AsyncClient, consent_page: str, decision: str) -> httpx.Response:
    """Press Allow or Deny on the device consent page."""
    return await http.post(
        "/device/consent",
        data={
            "user_code": hidden(consent_page, "user_code"),
            "consent_token": hidden(consent_page, "consent_token"),
            "decision": decision,
        },
    )


async def decide(http: httpx.AsyncClient, user_code: str, decision: str = "allow") -> None:
    """Type the code and answer, as the signed-in user; the page confirms."""
    consent = await enter_code(http, user_code)
    assert consent.status_code == 200, consent.text
    done = await answer(http, consent.text, decision)
    assert done.status_code == 200, done.text
