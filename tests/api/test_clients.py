"""routers/clients.py: applications managed by their owner's session (SPEC §4)."""

from __future__ import annotations

import re
from datetime import datetime

import httpx

from tests.conftest import FakeClock
from tests.helpers import (
    REDIRECT_URI,
    form_exchange,
    get_code,
    guide_exchange,
    pkce_pair,
    register_client,
    sign_up,
    tokens_for,
)

NEW_APP = {"name": "Party Planner", "redirect_uris": [REDIRECT_URI]}


async def test_create_confidential(client: httpx.AsyncClient, clock: FakeClock) -> None:
    await sign_up(client)
    r = await client.post(
        "/api/applications",
        json={
            **NEW_APP,
            "description": "Plans parties",
            "redirect_uris": [REDIRECT_URI, REDIRECT_URI],
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {
        "client_id",
        "client_secret",
        "name",
        "description",
        "redirect_uris",
        "client_type",
        "grant_types",
        "post_logout_redirect_uris",
        "id_token_signed_response_alg",
        "created_at",
    }
    assert body["client_type"] == "confidential"
    # SPEC §11's defaults.
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["post_logout_redirect_uris"] == []
    assert body["id_token_signed_response_alg"] == "ES256"
    assert body["name"] == "Party Planner"
    assert body["description"] == "Plans parties"
    assert body["redirect_uris"] == [REDIRECT_URI]  # repeats dropped
    assert re.fullmatch(r"wtps_[A-Za-z0-9_-]{43}", body["client_secret"])
    assert datetime.fromisoformat(body["created_at"]) == clock()


async def test_create_public_has_no_secret(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    r = await client.post(
        "/api/applications",
        json={"name": "Native", "redirect_uris": ["com.example.app:/cb"], "client_type": "public"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["client_type"] == "public"
    assert r.json()["client_secret"] is None


async def test_the_secret_is_shown_only_once(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client)
    assert app.client_secret
    for r in (
        await client.get("/api/applications"),
        await client.get(f"/api/applications/{app.client_id}"),
        await client.patch(f"/api/applications/{app.client_id}", json={"name": "Renamed"}),
    ):
        assert r.status_code == 200
        assert app.client_secret not in r.text
        assert "client_secret" not in r.text


async def test_list_shows_mine_only(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    await sign_up(client)
    await sign_up(other_client)
    first = await register_client(client, name="First")
    second = await register_client(client, name="Second")
    theirs = await register_client(other_client, name="Theirs")
    r = await client.get("/api/applications")
    assert r.status_code == 200
    listed = r.json()
    assert {app["client_id"] for app in listed} == {first.client_id, second.client_id}
    assert len(listed) == 2
    assert theirs.client_id not in r.text
    assert set(listed[0]) == {
        "client_id",
        "name",
        "description",
        "redirect_uris",
        "client_type",
        "grant_types",
        "post_logout_redirect_uris",
        "id_token_signed_response_alg",
        "created_at",
    }


async def test_a_new_user_has_no_applications(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    r = await client.get("/api/applications")
    assert r.status_code == 200
    assert r.json() == []


async def test_get_one(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client, name="Mine")
    r = await client.get(f"/api/applications/{app.client_id}")
    assert r.status_code == 200
    assert r.json()["client_id"] == app.client_id
    assert r.json()["name"] == "Mine"


async def test_someone_elses_application_is_not_found(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    await sign_up(client)
    await sign_up(other_client)
    theirs = await register_client(other_client)
    path = f"/api/applications/{theirs.client_id}"
    missing = await client.get("/api/applications/no-such-client")
    assert missing.status_code == 404
    for r in (
        await client.get(path),
        await client.patch(path, json={"name": "Mine now"}),
        await client.delete(path),
        await client.post(f"{path}/secret"),
    ):
        assert r.status_code == 404, r.text
        assert r.json() == missing.json()
    # Nothing changed for the owner.
    r = await other_client.get(path)
    assert r.json()["name"] == "Party Planner"
    assert (await guide_exchange(other_client, theirs, "no-code")).json()[
        "error"
    ] == "invalid_grant"


async def test_update(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client)
    uris = ["https://client.example/new", "http://localhost:8080/cb"]
    r = await client.patch(
        f"/api/applications/{app.client_id}",
        json={"name": "  Renamed  ", "description": "Now with cake", "redirect_uris": uris},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "Renamed"
    assert body["description"] == "Now with cake"
    assert body["redirect_uris"] == uris
    assert (await client.get(f"/api/applications/{app.client_id}")).json() == body


async def test_update_only_what_is_sent(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client)
    r = await client.patch(f"/api/applications/{app.client_id}", json={"description": "d"})
    assert r.status_code == 200
    assert r.json()["name"] == "Party Planner"
    assert r.json()["redirect_uris"] == [REDIRECT_URI]


async def test_updated_redirect_uris_take_effect(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client)
    new_uri = "https://client.example/new"
    await client.patch(f"/api/applications/{app.client_id}", json={"redirect_uris": [new_uri]})
    params = {
        "client_id": app.client_id,
        "scope": "user.read",
        "response_type": "code",
    }
    old = await client.get("/oauth/authorize", params={**params, "redirect_uri": REDIRECT_URI})
    assert old.status_code == 400
    new = await client.get("/oauth/authorize", params={**params, "redirect_uri": new_uri})
    assert new.status_code == 200


async def test_rotate_secret(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client)
    code = await get_code(client, app)
    r = await client.post(f"/api/applications/{app.client_id}/secret")
    assert r.status_code == 200
    assert set(r.json()) == {"client_secret"}
    new_secret = r.json()["client_secret"]
    assert new_secret.startswith("wtps_") and new_secret != app.client_secret
    # The old secret stops working at once, by every method.
    old = await guide_exchange(client, app, code)
    assert old.status_code == 401
    assert old.json()["error"] == "invalid_client"
    basic = await form_exchange(client, app, grant_type="authorization_code", code=code)
    assert basic.status_code == 401
    app.client_secret = new_secret
    assert (await guide_exchange(client, app, code)).status_code == 200


async def test_rotate_secret_of_a_public_client(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client, ["com.example.app:/cb"], client_type="public")
    r = await client.post(f"/api/applications/{app.client_id}/secret")
    assert r.status_code == 400
    assert r.json()["detail"]


async def test_delete_revokes_tokens(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client)
    tokens = await tokens_for(client, app)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.get("/api/users/@me", headers=bearer)).status_code == 200
    r = await client.delete(f"/api/applications/{app.client_id}")
    assert r.status_code == 204
    assert (await client.get(f"/api/applications/{app.client_id}")).status_code == 404
    me = await client.get("/api/users/@me", headers=bearer)
    assert me.status_code == 401
    assert 'error="invalid_token"' in me.headers["www-authenticate"]
    refreshed = await form_exchange(
        client, app, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refreshed.status_code == 401
    assert refreshed.json()["error"] == "invalid_client"
    assert app.client_id not in (await client.get("/api/users/@me/authorizations")).text


async def test_not_signed_in_is_401(client: httpx.AsyncClient) -> None:
    for r in (
        await client.get("/api/applications"),
        await client.post("/api/applications", json=NEW_APP),
        await client.get("/api/applications/x"),
        await client.patch("/api/applications/x", json={"name": "n"}),
        await client.delete("/api/applications/x"),
        await client.post("/api/applications/x/secret"),
    ):
        assert r.status_code == 401, r.request.url
        assert r.json()["detail"]


async def test_bodies_must_be_json(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client)
    form = {"name": "x", "redirect_uris": REDIRECT_URI}
    created = await client.post("/api/applications", data=form)
    assert created.status_code == 415
    patched = await client.patch(f"/api/applications/{app.client_id}", data={"name": "Evil"})
    assert patched.status_code == 415
    text = await client.post(
        "/api/applications",
        content=b'{"name": "x", "redirect_uris": ["https://a.example/cb"]}',
        headers={"Content-Type": "text/plain"},
    )
    assert text.status_code == 415
    assert (await client.get("/api/applications")).json()[0]["name"] == "Party Planner"


async def test_redirect_uri_rules_on_create(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    for uri, message in (
        ("http://client.example/cb", "https"),
        ("https://client.example/cb#top", "fragment"),
        ("https://*.client.example/cb", "wildcard"),
        ("/relative/cb", "absolute"),
        ("com.example.app:/cb", "public clients"),
        ("javascript:alert(1)", "javascript"),
    ):
        r = await client.post(
            "/api/applications", json={"name": "x", "redirect_uris": [REDIRECT_URI, uri]}
        )
        assert r.status_code == 422, (uri, r.text)
        [error] = r.json()["detail"]
        assert error["loc"] == ["body", "redirect_uris", 1]
        assert message in error["msg"]
    assert (await client.get("/api/applications")).json() == []


async def test_redirect_uri_rules_on_update(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client)
    r = await client.patch(
        f"/api/applications/{app.client_id}", json={"redirect_uris": ["http://evil.example/cb"]}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "redirect_uris", 0]
    assert (await client.get(f"/api/applications/{app.client_id}")).json()["redirect_uris"] == [
        REDIRECT_URI
    ]


async def test_public_clients_may_use_private_use_schemes(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(
        client, ["com.example.app:/cb", "http://127.0.0.1/cb"], client_type="public"
    )
    r = await client.patch(
        f"/api/applications/{app.client_id}", json={"redirect_uris": ["com.example.other:/cb"]}
    )
    assert r.status_code == 200


async def test_bad_application_bodies_are_422(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    for body in (
        {"name": "x", "redirect_uris": []},
        {"name": "x"},
        {"name": "", "redirect_uris": [REDIRECT_URI]},
        {"name": "   ", "redirect_uris": [REDIRECT_URI]},
        {"name": "x" * 101, "redirect_uris": [REDIRECT_URI]},
        {"name": "x", "redirect_uris": [REDIRECT_URI], "client_type": "trusted"},
        {"name": "x", "redirect_uris": REDIRECT_URI},
        {"name": "x", "redirect_uris": [REDIRECT_URI], "client_secret": "wtps_mine"},
    ):
        r = await client.post("/api/applications", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"]
    assert (await client.get("/api/applications")).json() == []


async def test_public_client_can_be_used_with_pkce(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client, ["http://127.0.0.1/cb"], client_type="public")
    verifier, challenge = pkce_pair()
    code = await get_code(client, app, code_challenge=challenge, code_challenge_method="S256")
    r = await form_exchange(
        client, app, grant_type="authorization_code", code=code, code_verifier=verifier
    )
    assert r.status_code == 200, r.text


async def test_a_refused_edit_changes_nothing(client: httpx.AsyncClient) -> None:
    """A PATCH whose redirect URIs are refused leaves the name as it was, too."""
    await sign_up(client)
    app = await register_client(client, name="Before")
    r = await client.patch(
        f"/api/applications/{app.client_id}",
        json={"name": "After", "redirect_uris": ["http://evil.example/cb"]},
    )
    assert r.status_code == 422
    assert (await client.get(f"/api/applications/{app.client_id}")).json()["name"] == "Before"


async def test_answers_that_carry_a_secret_are_never_stored(client: httpx.AsyncClient) -> None:
    """SPEC §17 (RFC 9111 §5.2.2.5): neither a browser's cache nor a proxy keeps the
    registration's or the rotation's answer, which hold a client secret."""
    await sign_up(client)
    created = await client.post("/api/applications", json=NEW_APP)
    assert created.status_code == 201 and created.json()["client_secret"]
    assert created.headers["cache-control"] == "no-store"
    rotated = await client.post(f"/api/applications/{created.json()['client_id']}/secret")
    assert rotated.status_code == 200 and rotated.json()["client_secret"]
    assert rotated.headers["cache-control"] == "no-store"
