"""The portal's form handlers, in-process: sign-in redirects, CSRF, validation, ownership."""

from __future__ import annotations

import html

import httpx

from tests.helpers import (
    Client,
    guide_exchange,
    hidden,
    register_client,
    sign_up,
    tokens_for,
)

NEW_APP = {
    "name": "Party Planner",
    "description": "Plans parties.",
    "redirect_uris": "https://planner.example/callback\n\n  https://planner.example/cb2  \n",
    "client_type": "confidential",
}


async def _csrf(http: httpx.AsyncClient, path: str = "/developers") -> str:
    page = await http.get(path)
    assert page.status_code == 200, page.text
    return hidden(page.text, "csrf_token")


def _shown(page: str, element_id: str) -> str:
    """The text of a copy field (client ID, secret) on a page."""
    return html.unescape(page.split(f'<code id="{element_id}"')[1].split(">", 1)[1].split("<")[0])


async def _secret_works(http: httpx.AsyncClient, client: Client) -> bool:
    """The secret authenticates (a bogus code is then the only problem)."""
    r = await guide_exchange(http, client, "not-a-code")
    return bool(r.json()["error"] == "invalid_grant")


async def test_pages_send_anonymous_visitors_to_sign_in(client: httpx.AsyncClient) -> None:
    for path in (
        "/developers",
        "/developers/applications/new",
        "/developers/applications/abc",
        "/developers/applications/abc/delete",
        "/settings/authorizations",
    ):
        r = await client.get(path)
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=" + path.replace("/", "%2F")
    r = await client.post("/developers/applications", data=NEW_APP)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")


async def test_forms_refuse_a_missing_or_foreign_csrf_token(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    await sign_up(client)
    await sign_up(other_client)
    foreign = await _csrf(other_client)
    for token in ("", "0" * 64, foreign):
        r = await client.post("/developers/applications", data={**NEW_APP, "csrf_token": token})
        assert r.status_code == 400
        assert "This form has expired" in r.text
    assert (await client.get("/api/applications")).json() == []


async def test_create_form_shows_what_is_wrong(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    csrf = await _csrf(client)
    cases = [
        ({"name": "   "}, "Name: 1 to 100 characters."),
        ({"client_type": "secretive"}, "Client type: choose confidential or public."),
        ({"redirect_uris": ""}, "Register at least one redirect URI"),
        (
            {"redirect_uris": "https://ok.example/cb\nhttp://planner.example/cb"},
            "http://planner.example/cb — Redirect URI must use https",
        ),
        ({"redirect_uris": "https://planner.example/*"}, "must not contain wildcards"),
    ]
    for change, message in cases:
        r = await client.post(
            "/developers/applications", data={**NEW_APP, **change, "csrf_token": csrf}
        )
        assert r.status_code == 422, change
        assert message in html.unescape(r.text), (change, r.text)
    # What was typed comes back, escaped.
    r = await client.post(
        "/developers/applications",
        data={**NEW_APP, "name": "<b>Bold</b>", "redirect_uris": "ftp://x", "csrf_token": csrf},
    )
    assert r.status_code == 422
    assert "<b>Bold</b>" not in r.text and 'value="&lt;b&gt;Bold&lt;/b&gt;"' in r.text
    assert (await client.get("/api/applications")).json() == []


async def test_the_secret_is_shown_once_and_works(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    csrf = await _csrf(client)
    r = await client.post("/developers/applications", data={**NEW_APP, "csrf_token": csrf})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    client_id, secret = _shown(r.text, "client-id"), _shown(r.text, "client-secret")
    assert secret.startswith("wtps_")
    assert await _secret_works(client, Client(client_id, secret))

    (listed,) = (await client.get("/api/applications")).json()
    assert listed["client_id"] == client_id
    assert listed["redirect_uris"] == [
        "https://planner.example/callback",
        "https://planner.example/cb2",
    ]
    for path in ("/developers", f"/developers/applications/{client_id}"):
        page = await client.get(path)
        assert page.status_code == 200 and "Party Planner" in page.text
        assert secret not in page.text

    r = await client.post(
        "/developers/applications", data={**NEW_APP, "client_type": "public", "csrf_token": csrf}
    )
    assert r.status_code == 200 and "No client secret" in r.text and "wtps_" not in r.text


async def test_someone_elses_application_is_not_found(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    await sign_up(client)
    app = await register_client(client)
    await sign_up(other_client)
    csrf = await _csrf(other_client)
    base = f"/developers/applications/{app.client_id}"
    for path in (base, f"{base}/rotate-secret", f"{base}/delete"):
        r = await other_client.get(path)
        assert r.status_code == 404 and "Application not found." in r.text
    posts = {
        f"{base}/redirect-uris": {"redirect_uris": "https://evil.example/cb"},
        f"{base}/details": {"name": "Mine now"},
        f"{base}/rotate-secret": {},
        f"{base}/delete": {"confirm": "yes"},
    }
    for path, data in posts.items():
        r = await other_client.post(path, data={**data, "csrf_token": csrf})
        assert r.status_code == 404, path
    mine = (await client.get(f"/api/applications/{app.client_id}")).json()
    assert mine["name"] == "Party Planner" and mine["redirect_uris"] == app.redirect_uris
    assert await _secret_works(client, app)


async def test_edit_redirect_uris_and_details(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client)
    base = f"/developers/applications/{app.client_id}"
    csrf = await _csrf(client, base)

    r = await client.post(
        f"{base}/redirect-uris",
        data={"redirect_uris": "https://a.example/#frag", "csrf_token": csrf},
    )
    assert r.status_code == 422
    assert "must not contain a fragment" in html.unescape(r.text)
    assert "https://a.example/#frag" in r.text  # what was typed stays in the box
    r = await client.post(f"{base}/details", data={"name": "", "csrf_token": csrf})
    assert r.status_code == 422 and "Name: 1 to 100 characters." in r.text
    r = await client.post(f"{base}/redirect-uris", data={"redirect_uris": "", "csrf_token": "x"})
    assert r.status_code == 400
    assert (await client.get(f"/api/applications/{app.client_id}")).json()[
        "redirect_uris"
    ] == app.redirect_uris

    uris = "https://a.example/cb\nhttp://localhost:8080/cb"
    r = await client.post(f"{base}/redirect-uris", data={"redirect_uris": uris, "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == f"{base}?saved=1"
    r = await client.post(
        f"{base}/details", data={"name": "Renamed", "description": "New.", "csrf_token": csrf}
    )
    assert r.status_code == 303
    now = (await client.get(f"/api/applications/{app.client_id}")).json()
    assert now["redirect_uris"] == uris.split("\n")
    assert (now["name"], now["description"]) == ("Renamed", "New.")
    assert "Saved." in (await client.get(r.headers["location"])).text


async def test_rotate_and_delete_go_through_confirmation(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client)
    base = f"/developers/applications/{app.client_id}"
    confirm = await client.get(f"{base}/rotate-secret")
    assert confirm.status_code == 200 and "stops working <strong>at once</strong>" in confirm.text
    csrf = hidden(confirm.text, "csrf_token")

    r = await client.post(f"{base}/rotate-secret", data={"csrf_token": "bad"})
    assert r.status_code == 400
    assert await _secret_works(client, app)
    r = await client.post(f"{base}/rotate-secret", data={"csrf_token": csrf})
    assert r.status_code == 200
    secret = _shown(r.text, "client-secret")
    assert not await _secret_works(client, app)
    assert await _secret_works(client, Client(app.client_id, secret))

    r = await client.post(f"{base}/delete", data={"csrf_token": csrf})
    assert r.status_code == 422 and "Tick the box" in r.text
    assert (await client.get(f"/api/applications/{app.client_id}")).status_code == 200
    r = await client.post(f"{base}/delete", data={"confirm": "yes", "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/developers?deleted=1"
    assert (await client.get(f"/api/applications/{app.client_id}")).status_code == 404
    assert "The application was deleted." in (await client.get("/developers?deleted=1")).text


async def test_public_clients_have_no_secret_to_rotate(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client, client_type="public")
    base = f"/developers/applications/{app.client_id}"
    csrf = await _csrf(client, base)
    assert "Rotate secret" not in (await client.get(base)).text
    r = await client.post(f"{base}/rotate-secret", data={"csrf_token": csrf})
    assert r.status_code == 400 and "Public clients have no secret." in r.text


async def test_revoke_an_authorization_from_settings(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    await sign_up(client)
    app = await register_client(client)
    await sign_up(other_client)
    tokens = await tokens_for(other_client, app, "user.read user.email")
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}

    page = await other_client.get("/settings/authorizations")
    assert page.status_code == 200
    assert "Party Planner" in page.text and "See your email address" in page.text
    csrf = hidden(page.text, "csrf_token")
    path = f"/settings/authorizations/{app.client_id}/revoke"

    assert (await other_client.post(path, data={"csrf_token": "bad"})).status_code == 400
    assert (await other_client.get("/api/users/@me", headers=bearer)).status_code == 200
    r = await other_client.post("/settings/authorizations/nope/revoke", data={"csrf_token": csrf})
    assert r.status_code == 404

    r = await other_client.post(path, data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/settings/authorizations?revoked=1"
    assert (await other_client.get("/api/users/@me", headers=bearer)).status_code == 401
    after = await other_client.get(r.headers["location"])
    assert "Access revoked" in after.text and "Party Planner" not in after.text


async def test_docs_pages_use_the_issuer_and_the_scope_data(client: httpx.AsyncClient) -> None:
    from wtp_oauth.scopes import SCOPES

    for path in (
        "/developers/docs/oauth",
        "/developers/docs/oauth/scopes",
        "/developers/docs/user",
    ):
        r = await client.get(path)
        assert r.status_code == 200
        assert "http://testserver/api/" in r.text
    scopes_page = html.unescape((await client.get("/developers/docs/oauth/scopes")).text)
    for scope in SCOPES:
        assert f'<tr id="scope-{scope.name}"><td><code>{scope.name}</code></td>' in scopes_page
        assert scope.description in scopes_page and scope.consent_text in scopes_page
    assert (await client.get("/developers/docs/oauth/nothing")).status_code == 404
    r = await client.get("/developers/docs")
    assert r.status_code == 303 and r.headers["location"] == "/developers/docs/oauth"


async def test_a_broken_sign_in_link_explains_itself(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client)
    r = await client.get(
        "/oauth/authorize",
        params={
            "client_id": app.client_id,
            "scopes": "user.read",
            "redirect_uri": "https://attacker.example/cb",
            "response_type": "code",
        },
    )
    assert r.status_code == 400 and "location" not in r.headers
    assert "This redirect_uri is not registered for this application." in r.text
    assert "registered in the developer portal" in r.text


async def test_signup_form_lists_each_problem_and_keeps_next(client: httpx.AsyncClient) -> None:
    page = await client.get("/signup", params={"next": "/developers"})
    r = await client.post(
        "/signup",
        data={
            "username": "no spaces!",
            "email": "not-an-email",
            "password": "short",
            "next": hidden(page.text, "next"),
            "csrf_token": hidden(page.text, "csrf_token"),
        },
    )
    assert r.status_code == 422
    text = html.unescape(r.text)
    for hint in (
        "Username: 3 to 32 letters, digits, '.', '_' or '-'.",
        "Email: enter a valid email address.",
        "Password must be at least 8 characters.",
    ):
        assert hint in text
    assert hidden(r.text, "next") == "/developers"
    assert 'value="no spaces!"' in r.text
