"""The page that shows a new client secret once (SPEC §4, §17): post/redirect/get, a one-time
record sealed under the browser's key, bound to its session, gone after five minutes."""

from __future__ import annotations

import html

import httpx
from fastapi import FastAPI
from sqlmodel import select

from tests.conftest import FakeClock
from tests.helpers import PASSWORD, Client, guide_exchange, hidden, register_client, sign_up
from wtp_oauth.models.applications import SecretReveal
from wtp_oauth.security.sealing import unseal
from wtp_oauth.security.tokens import digest

ALREADY_SHOWN = "This secret was already shown; rotate it to get a new one."
NEW_APP = {"name": "Party Planner", "redirect_uris": "https://planner.example/callback"}


async def _csrf(http: httpx.AsyncClient, path: str = "/developers") -> str:
    return hidden((await http.get(path)).text, "csrf_token")


def _shown(page: str, element_id: str) -> str:
    return html.unescape(page.split(f'<code id="{element_id}"')[1].split(">", 1)[1].split("<")[0])


async def _create(http: httpx.AsyncClient) -> httpx.Response:
    """Register an application through the portal; the 303 that answers the POST."""
    csrf = await _csrf(http)
    r = await http.post("/developers/applications", data={**NEW_APP, "csrf_token": csrf})
    assert r.status_code == 303, r.text
    return r


async def _reveals(app: FastAPI, client_id: str) -> list[SecretReveal]:
    async with app.state.wtp.session_factory() as db:
        query = select(SecretReveal).where(SecretReveal.client_id == client_id)
        return list((await db.exec(query)).all())


def _client_id(location: str) -> str:
    return location.split("/")[3]


async def test_the_secret_waits_sealed_and_is_deleted_when_shown(
    client: httpx.AsyncClient, running_app: FastAPI
) -> None:
    await sign_up(client)
    r = await _create(client)
    key = r.cookies["wtp_reveal"]
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "max-age=300" in cookie
    assert f"path={r.headers['location']}" in cookie  # sent to that page only
    client_id = _client_id(r.headers["location"])
    (kept,) = await _reveals(running_app, client_id)
    # Storage holds the key's digest and the sealed secret: neither the key nor the secret.
    assert kept.id_digest == digest(key) and kept.created
    assert kept.sealed_secret is not None and "wtps_" not in kept.sealed_secret

    shown = await client.get(r.headers["location"])
    secret = _shown(shown.text, "client-secret")
    assert unseal(kept.sealed_secret, key) == secret
    assert secret not in str(kept.model_dump())
    assert await _reveals(running_app, client_id) == []
    # The page asks the browser to forget the key.
    assert 'wtp_reveal=""' in shown.headers["set-cookie"] or "max-age=0" in (
        shown.headers["set-cookie"].lower()
    )


async def test_only_the_session_that_made_it_sees_it(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    """The same owner signed in elsewhere, given the key, still sees nothing: the record is
    bound to the session that made it."""
    account = await sign_up(client)
    r = await _create(client)
    key, location = r.cookies["wtp_reveal"], r.headers["location"]
    signed_in = await other_client.post(
        "/api/session", json={"username": account.username, "password": PASSWORD}
    )
    assert signed_in.status_code == 204
    request = other_client.build_request("GET", location)
    request.headers["Cookie"] += f"; wtp_reveal={key}"
    elsewhere = await other_client.send(request)
    assert elsewhere.status_code == 410 and "wtps_" not in elsewhere.text
    # That try did not use it up for the browser it belongs to.
    shown = await client.get(location)
    assert shown.status_code == 200 and _shown(shown.text, "client-secret").startswith("wtps_")


async def test_signing_out_drops_what_was_waiting(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    r = await _create(client)
    key, location = r.cookies["wtp_reveal"], r.headers["location"]
    await client.post("/logout", data={"csrf_token": await _csrf(client)})
    await client.post("/api/session", json={"username": account.username, "password": PASSWORD})
    request = client.build_request("GET", location)
    request.headers["Cookie"] += f"; wtp_reveal={key}"
    r = await client.send(request)
    assert r.status_code == 410 and ALREADY_SHOWN in html.unescape(r.text)


async def test_it_waits_five_minutes(client: httpx.AsyncClient, clock: FakeClock) -> None:
    await sign_up(client)
    r = await _create(client)
    clock.advance(5 * 60 + 1)
    late = await client.get(r.headers["location"])
    assert late.status_code == 410 and "wtps_" not in late.text


async def test_a_key_from_an_earlier_rotation_shows_nothing(client: httpx.AsyncClient) -> None:
    """Rotated twice before looking: the first secret no longer works, so it is not shown."""
    await sign_up(client)
    app = await register_client(client)
    base = f"/developers/applications/{app.client_id}"
    csrf = await _csrf(client, base)
    first = await client.post(f"{base}/rotate-secret", data={"csrf_token": csrf})
    second = await client.post(f"{base}/rotate-secret", data={"csrf_token": csrf})
    keys = [first.cookies["wtp_reveal"], second.cookies["wtp_reveal"]]
    client.cookies.delete("wtp_reveal")
    shown = []
    for key in keys:
        request = client.build_request("GET", f"{base}/secret")
        request.headers["Cookie"] += f"; wtp_reveal={key}"
        shown.append(await client.send(request))
    assert shown[0].status_code == 410
    assert shown[1].status_code == 200
    secret = _shown(shown[1].text, "client-secret")
    answer = await guide_exchange(client, Client(app.client_id, secret), "not-a-code")
    assert answer.json()["error"] == "invalid_grant"


async def test_secret_pages_need_the_owner(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    await sign_up(client)
    r = await _create(client)
    location = r.headers["location"]
    anonymous = await other_client.get(location)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")
    await sign_up(other_client)
    assert (await other_client.get(location)).status_code == 404
    shown = await client.get(location)
    assert shown.status_code == 200


async def test_the_secret_works_at_the_token_endpoint(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    r = await _create(client)
    shown = await client.get(r.headers["location"])
    app = Client(_shown(shown.text, "client-id"), _shown(shown.text, "client-secret"))
    answer = await guide_exchange(client, app, "not-a-code")
    assert answer.json()["error"] == "invalid_grant"  # authenticated; only the code is bad
