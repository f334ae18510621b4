"""RP-initiated logout (RP-Initiated Logout 1.0, SPEC §12): never an open redirect, never a
sign-out nobody asked for."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import Client, hidden, query_of, register_client, sign_up
from tests.oidc.support import code_flow, party, update_application

LOGGED_OUT = "https://client.example/logged-out"


async def _signed_in(http: httpx.AsyncClient) -> bool:
    return (await http.get("/api/applications")).status_code == 200


async def _rp(
    running_app: FastAPI, developer: httpx.AsyncClient, user: httpx.AsyncClient
) -> tuple[Client, str]:
    """An application with a registered logout URI, and an ID token for ``user``."""
    client, _ = await party(developer, user)
    await update_application(running_app, client.client_id, post_logout_redirect_uris=[LOGGED_OUT])
    return client, (await code_flow(user, client))["id_token"]


async def test_a_valid_hint_and_a_registered_uri_sign_out_and_redirect(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, running_app: FastAPI
) -> None:
    _, hint = await _rp(running_app, other_client, client)
    r = await client.get(
        "/oauth/logout",
        params={"id_token_hint": hint, "post_logout_redirect_uri": LOGGED_OUT, "state": "a b&c"},
    )
    assert r.status_code == 303
    assert r.headers["location"] == LOGGED_OUT + "?state=a+b%26c"
    assert not await _signed_in(client)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_an_unregistered_uri_asks_and_never_redirects_there(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    running_app: FastAPI,
    method: str,
) -> None:
    _, hint = await _rp(running_app, other_client, client)
    params = {"id_token_hint": hint, "post_logout_redirect_uri": "https://evil.example/"}
    if method == "GET":
        r = await client.get("/oauth/logout", params=params)
    else:
        r = await client.post("/oauth/logout", data=params)
    assert r.status_code == 200 and "Sign out of Wants to Party?" in r.text
    assert await _signed_in(client)  # nothing happened yet
    r = await client.post(
        "/oauth/logout",
        data={
            "csrf_token": hidden(r.text, "csrf_token"),
            "id_token_hint": hidden(r.text, "id_token_hint"),
            "post_logout_redirect_uri": hidden(r.text, "post_logout_redirect_uri"),
            "confirm": "yes",
        },
    )
    assert r.status_code == 200 and "You are signed out" in r.text
    assert "location" not in r.headers and "evil.example" not in r.text
    assert not await _signed_in(client)


@pytest.mark.parametrize("hint", ["missing", "forged", "another client's", "another user's"])
async def test_without_a_valid_hint_for_this_user_it_asks_first(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    running_app: FastAPI,
    hint: str,
) -> None:
    app, id_token = await _rp(running_app, other_client, client)
    params = {"client_id": app.client_id, "post_logout_redirect_uri": LOGGED_OUT, "state": "s"}
    if hint == "forged":
        head, body, signature = id_token.split(".")
        params["id_token_hint"] = f"{head}.{body}.{signature[::-1]}"
    elif hint == "another client's":
        other = await register_client(other_client)
        params["id_token_hint"] = (await code_flow(client, other))["id_token"]
    elif hint == "another user's":
        params["id_token_hint"] = id_token
        await sign_up(client)  # now signed in as someone else
    r = await client.get("/oauth/logout", params=params)
    assert r.status_code == 200 and "Sign out of Wants to Party?" in r.text
    assert await _signed_in(client)
    # Confirmed by the user: signed out, and back to the URI registered for the client named;
    # but a hint issued to another client than the one named makes the request trust neither.
    r = await client.post(
        "/oauth/logout",
        data={"csrf_token": hidden(r.text, "csrf_token"), **params, "confirm": "yes"},
    )
    assert not await _signed_in(client)
    if hint == "another client's":
        assert r.status_code == 200 and "You are signed out" in r.text
    else:
        assert r.status_code == 303
        assert r.headers["location"] == LOGGED_OUT + "?state=s"


async def test_cross_site_attempts_sign_nobody_out(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, running_app: FastAPI
) -> None:
    app, _ = await _rp(running_app, other_client, client)
    # A bare link or a form posted from another site: the question, nothing else.
    for r in (
        await client.get("/oauth/logout"),
        await client.post("/oauth/logout", data={"client_id": app.client_id}),
    ):
        assert r.status_code == 200 and "Sign out of Wants to Party?" in r.text
    # A forged confirmation: no valid CSRF token, no sign-out.
    r = await client.post("/oauth/logout", data={"csrf_token": "forged", "confirm": "yes"})
    assert r.status_code == 400
    assert await _signed_in(client)
    # An open redirect through the logout endpoint: never.
    r = await client.get(
        "/oauth/logout",
        params={"client_id": app.client_id, "post_logout_redirect_uri": "https://evil.example/"},
    )
    page = await client.post(
        "/oauth/logout",
        data={
            "csrf_token": hidden(r.text, "csrf_token"),
            "client_id": app.client_id,
            "post_logout_redirect_uri": "https://evil.example/",
        },
    )
    assert page.status_code == 200 and "location" not in page.headers


async def test_what_the_request_supplies_is_escaped(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, running_app: FastAPI
) -> None:
    app, _ = await _rp(running_app, other_client, client)
    await update_application(running_app, app.client_id, name="<b>Evil</b> & co")
    r = await client.get(
        "/oauth/logout",
        params={"client_id": app.client_id, "state": '"><script>alert(1)</script>'},
    )
    assert r.status_code == 200
    assert "<script>alert(1)" not in r.text and "<b>Evil</b>" not in r.text
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; co" in r.text
    assert hidden(r.text, "state") == '"><script>alert(1)</script>'


async def test_signed_out_already(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, running_app: FastAPI
) -> None:
    _, hint = await _rp(running_app, other_client, client)
    await client.delete("/api/session")
    r = await client.get("/oauth/logout", params={"post_logout_redirect_uri": LOGGED_OUT})
    assert r.status_code == 200 and "You are signed out" in r.text
    # With a valid hint, back to the client's registered URI.
    r = await client.get(
        "/oauth/logout", params={"id_token_hint": hint, "post_logout_redirect_uri": LOGGED_OUT}
    )
    assert r.status_code == 303 and urlsplit(r.headers["location"]).path == "/logged-out"
    assert query_of(r.headers["location"]) == {}
