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

ALREADY_SHOWN = "This secret was already shown; rotate it to get a new one."

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
    """SPEC §4, §17: the POST answers 303 (so a reload repeats nothing) to the page that shows
    the secret once, never cached."""
    await sign_up(client)
    csrf = await _csrf(client)
    r = await client.post("/developers/applications", data={**NEW_APP, "csrf_token": csrf})
    assert r.status_code == 303
    assert "no-store" in r.headers["cache-control"]
    location = r.headers["location"]
    assert "wtps_" not in location + r.text + r.headers.get("set-cookie", "")
    shown = await client.get(location)
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    client_id, secret = _shown(shown.text, "client-id"), _shown(shown.text, "client-secret")
    assert location == f"/developers/applications/{client_id}/secret"
    assert "Party Planner is registered" in shown.text
    assert "/oauth/authorize?client_id=" in shown.text  # the next step
    assert secret.startswith("wtps_")
    assert await _secret_works(client, Client(client_id, secret))

    # Reloading the page shows the secret no more, and registers nothing more.
    again = await client.get(location)
    assert again.status_code == 410
    assert again.headers["cache-control"] == "no-store"
    assert ALREADY_SHOWN in html.unescape(again.text) and secret not in again.text
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
    assert r.status_code == 303
    shown = await client.get(r.headers["location"])
    assert shown.status_code == 200 and "No client secret" in shown.text
    assert "wtps_" not in shown.text
    # A public client has no secret to miss: a reload goes to its page.
    again = await client.get(r.headers["location"])
    assert again.status_code == 303
    assert again.headers["location"] == r.headers["location"].removesuffix("/secret")


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
    assert r.status_code == 303 and r.headers["location"] == f"{base}/secret"
    shown = await client.get(r.headers["location"])
    assert shown.status_code == 200 and "The old secret has stopped working" in shown.text
    secret = _shown(shown.text, "client-secret")
    assert not await _secret_works(client, app)
    assert await _secret_works(client, Client(app.client_id, secret))
    # A reload neither shows it again nor rotates again.
    again = await client.get(r.headers["location"])
    assert again.status_code == 410 and "rotate it to get a new one" in again.text
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


DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


async def test_create_form_sets_grant_types_logout_uris_and_algorithm(
    client: httpx.AsyncClient,
) -> None:
    """SPEC §11 in the portal: checkboxes, a box of sign-out URIs, a select."""
    await sign_up(client)
    form_page = await client.get("/developers/applications/new")
    for grant_type in ("authorization_code", "refresh_token", "client_credentials", DEVICE_CODE):
        assert f'name="grant_types" value="{grant_type}"' in form_page.text
    # The defaults are ticked.
    assert 'value="authorization_code" checked' in form_page.text
    assert 'value="client_credentials" checked' not in form_page.text
    assert '<option value="ES256" selected>' in form_page.text
    csrf = hidden(form_page.text, "csrf_token")
    r = await client.post(
        "/developers/applications",
        data={
            **NEW_APP,
            "grant_types": ["", "authorization_code", "client_credentials"],
            "post_logout_redirect_uris": "https://planner.example/bye\n",
            "id_token_signed_response_alg": "RS256",
            "csrf_token": csrf,
        },
    )
    assert r.status_code == 303, r.text
    (made,) = (await client.get("/api/applications")).json()
    assert made["grant_types"] == ["authorization_code", "client_credentials"]
    assert made["post_logout_redirect_uris"] == ["https://planner.example/bye"]
    assert made["id_token_signed_response_alg"] == "RS256"
    # A form without the boxes (a script written before them) keeps the defaults.
    r = await client.post("/developers/applications", data={**NEW_APP, "csrf_token": csrf})
    assert r.status_code == 303
    listed = (await client.get("/api/applications")).json()
    assert listed[1]["grant_types"] == ["authorization_code", "refresh_token"]


async def test_create_form_explains_grant_type_problems(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    csrf = await _csrf(client)
    cases = [
        ({"grant_types": [""]}, "Choose at least one grant type."),
        ({"grant_types": ["", "refresh_token"]}, "refresh_token needs a grant"),
        ({"grant_types": ["", "password"]}, "Unknown grant type 'password'"),
        (
            {"grant_types": ["", "client_credentials"], "client_type": "public"},
            "Public clients cannot use client_credentials",
        ),
        (
            {"post_logout_redirect_uris": "http://planner.example/bye"},
            "http://planner.example/bye — Post-logout redirect URI must use https",
        ),
        ({"id_token_signed_response_alg": "HS256"}, "ID token signature: choose ES256 or RS256."),
    ]
    for change, message in cases:
        r = await client.post(
            "/developers/applications", data={**NEW_APP, **change, "csrf_token": csrf}
        )
        assert r.status_code == 422, change
        assert message in html.unescape(r.text), (change, r.text)
    # What was ticked stays ticked.
    r = await client.post(
        "/developers/applications",
        data={**NEW_APP, "grant_types": ["", "refresh_token"], "csrf_token": csrf},
    )
    assert 'value="refresh_token" checked' in r.text
    assert 'value="authorization_code" checked' not in r.text
    assert (await client.get("/api/applications")).json() == []


async def test_edit_grant_types_and_sign_out_uris(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client)
    base = f"/developers/applications/{app.client_id}"
    page = await client.get(base)
    assert 'action="' + base + '/grants"' in page.text
    csrf = hidden(page.text, "csrf_token")

    r = await client.post(
        f"{base}/grants", data={"grant_types": ["", "refresh_token"], "csrf_token": csrf}
    )
    assert r.status_code == 422
    assert 'id="grants-errors"' in r.text and "refresh_token needs a grant" in r.text
    assert (await client.get(f"/api/applications/{app.client_id}")).json()["grant_types"] == [
        "authorization_code",
        "refresh_token",
    ]
    r = await client.post(
        f"{base}/grants",
        data={
            "grant_types": ["", "authorization_code", DEVICE_CODE, "refresh_token"],
            "post_logout_redirect_uris": "https://client.example/bye",
            "id_token_signed_response_alg": "RS256",
            "csrf_token": csrf,
        },
    )
    assert r.status_code == 303 and r.headers["location"] == f"{base}?saved=1"
    now = (await client.get(f"/api/applications/{app.client_id}")).json()
    assert now["grant_types"] == ["authorization_code", DEVICE_CODE, "refresh_token"]
    assert now["post_logout_redirect_uris"] == ["https://client.example/bye"]
    assert now["id_token_signed_response_alg"] == "RS256"
    page = await client.get(base)
    assert f'value="{DEVICE_CODE}" checked' in page.text
    assert '<option value="RS256" selected>' in page.text
    assert "https://client.example/bye</textarea>" in page.text


async def test_a_name_that_imitates_the_service_is_refused_in_the_portal(
    client: httpx.AsyncClient,
) -> None:
    """SPEC §17, at registration and at rename."""
    await sign_up(client)
    csrf = await _csrf(client)
    r = await client.post(
        "/developers/applications",
        data={**NEW_APP, "name": "Wants to Party", "csrf_token": csrf},
    )
    assert r.status_code == 422 and "This name imitates Wants to Party" in r.text
    app = await register_client(client)
    base = f"/developers/applications/{app.client_id}"
    r = await client.post(f"{base}/details", data={"name": "W.T.P. Official", "csrf_token": csrf})
    assert r.status_code == 422
    assert 'id="details-errors"' in r.text and "This name imitates Wants to Party" in r.text
    assert (await client.get(f"/api/applications/{app.client_id}")).json()["name"] == (
        "Party Planner"
    )
