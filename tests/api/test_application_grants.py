"""Applications choose their grants, sign-out URIs and ID token signature (SPEC §11), and may
not take the service's name (SPEC §17): ``POST`` and ``PATCH /api/applications``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import REDIRECT_URI, Client, get_code, register_client, sign_up, tokens_for
from wtp_oauth.grant_types import KNOWN_GRANT_TYPES

DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
LOGOUT_URI = "https://client.example/signed-out"


async def _create(http: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    body = {"name": "Party Planner", "redirect_uris": [REDIRECT_URI], **fields}
    return await http.post("/api/applications", json=body)


def _error(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    return dict(error)


async def test_every_field_is_set_on_create_and_shown_by_get(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    r = await _create(
        client,
        grant_types=list(KNOWN_GRANT_TYPES),
        post_logout_redirect_uris=[LOGOUT_URI, "http://127.0.0.1:9000/bye", LOGOUT_URI],
        id_token_signed_response_alg="RS256",
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["grant_types"] == list(KNOWN_GRANT_TYPES)
    # Repeats dropped, as for redirect URIs.
    assert created["post_logout_redirect_uris"] == [LOGOUT_URI, "http://127.0.0.1:9000/bye"]
    assert created["id_token_signed_response_alg"] == "RS256"
    got = (await client.get(f"/api/applications/{created['client_id']}")).json()
    listed = (await client.get("/api/applications")).json()
    for shown in (got, listed[0]):
        for field in ("grant_types", "post_logout_redirect_uris", "id_token_signed_response_alg"):
            assert shown[field] == created[field]


async def test_unknown_grant_types_are_named(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    for unknown in ("password", "implicit", "Authorization_Code", "urn:x:custom"):
        error = _error(await _create(client, grant_types=["authorization_code", unknown]))
        assert error["loc"] == ["body", "grant_types", 1]
        assert f"Unknown grant type '{unknown}'" in error["msg"]
        assert "client_credentials" in error["msg"]  # and what is known
    assert (await client.get("/api/applications")).json() == []


@pytest.mark.parametrize(
    ("grant_types", "loc", "message"),
    [
        ([], ["body", "grant_types"], "Choose at least one grant type."),
        (
            ["authorization_code", "refresh_token", "authorization_code"],
            ["body", "grant_types", 2],
            "Grant type 'authorization_code' is listed twice.",
        ),
        (["refresh_token"], ["body", "grant_types"], "refresh_token needs a grant"),
        (
            ["client_credentials", "refresh_token"],
            ["body", "grant_types"],
            "refresh_token needs a grant that issues refresh tokens",
        ),
    ],
)
async def test_grant_type_rules(
    client: httpx.AsyncClient, grant_types: list[str], loc: list[Any], message: str
) -> None:
    await sign_up(client)
    error = _error(await _create(client, grant_types=grant_types))
    assert error["loc"] == loc
    assert message in error["msg"]


async def test_grants_that_make_sense_on_their_own(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    for grant_types in (
        ["authorization_code"],
        [DEVICE_CODE, "refresh_token"],
        ["client_credentials"],
        ["client_credentials", "authorization_code", "refresh_token"],
    ):
        r = await _create(client, grant_types=grant_types)
        assert r.status_code == 201, (grant_types, r.text)
        assert r.json()["grant_types"] == grant_types


async def test_a_public_client_cannot_use_client_credentials(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    public = {"client_type": "public", "redirect_uris": ["com.example.app:/cb"]}
    error = _error(
        await _create(client, **public, grant_types=["authorization_code", "client_credentials"])
    )
    assert error["loc"] == ["body", "grant_types", 1]
    assert "Public clients cannot use client_credentials" in error["msg"]
    # The device grant is for exactly such clients.
    r = await _create(client, **public, grant_types=[DEVICE_CODE, "refresh_token"])
    assert r.status_code == 201, r.text

    app = await register_client(client, ["com.example.app:/cb"], "public")
    r = await client.patch(
        f"/api/applications/{app.client_id}", json={"grant_types": ["client_credentials"]}
    )
    error = _error(r)
    assert error["loc"] == ["body", "grant_types", 0]
    assert "Public clients cannot use client_credentials" in error["msg"]
    after = (await client.get(f"/api/applications/{app.client_id}")).json()
    assert after["grant_types"] == ["authorization_code", "refresh_token"]


async def test_redirect_uris_are_needed_only_for_the_code_grant(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    r = await client.post("/api/applications", json={"name": "No URIs"})
    error = _error(r)
    assert error["loc"] == ["body", "redirect_uris"]
    assert "Register at least one redirect URI" in error["msg"]

    r = await client.post(
        "/api/applications", json={"name": "Machine", "grant_types": ["client_credentials"]}
    )
    assert r.status_code == 201, r.text
    machine = r.json()
    assert machine["redirect_uris"] == [] and machine["client_secret"].startswith("wtps_")
    path = f"/api/applications/{machine['client_id']}"
    # Turning the code grant on needs a redirect URI, sent with it or already there.
    error = _error(await client.patch(path, json={"grant_types": ["authorization_code"]}))
    assert error["loc"] == ["body", "grant_types"]
    r = await client.patch(
        path, json={"grant_types": ["authorization_code"], "redirect_uris": [REDIRECT_URI]}
    )
    assert r.status_code == 200, r.text
    # And the last redirect URI of a code-grant application stays.
    error = _error(await client.patch(path, json={"redirect_uris": []}))
    assert error["loc"] == ["body", "redirect_uris"]


async def test_patch_changes_grants_logout_uris_and_algorithm(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client)
    path = f"/api/applications/{app.client_id}"
    r = await client.patch(
        path,
        json={
            "grant_types": ["authorization_code", "client_credentials"],
            "post_logout_redirect_uris": [LOGOUT_URI],
            "id_token_signed_response_alg": "RS256",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["grant_types"] == ["authorization_code", "client_credentials"]
    # What is not sent stays.
    r = await client.patch(path, json={"name": "Renamed"})
    body = r.json()
    assert body["grant_types"] == ["authorization_code", "client_credentials"]
    assert body["post_logout_redirect_uris"] == [LOGOUT_URI]
    assert body["id_token_signed_response_alg"] == "RS256"
    r = await client.patch(path, json={"post_logout_redirect_uris": []})
    assert r.json()["post_logout_redirect_uris"] == []


async def test_a_refused_grant_change_changes_nothing(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client, name="Before")
    path = f"/api/applications/{app.client_id}"
    r = await client.patch(
        path,
        json={
            "name": "After",
            "post_logout_redirect_uris": [LOGOUT_URI],
            "grant_types": ["refresh_token"],
        },
    )
    assert r.status_code == 422
    after = (await client.get(path)).json()
    assert after["name"] == "Before"
    assert after["post_logout_redirect_uris"] == []
    assert after["grant_types"] == ["authorization_code", "refresh_token"]


async def test_post_logout_redirect_uris_follow_the_redirect_uri_rules(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client)
    for uri, message in (
        ("http://client.example/bye", "https"),
        ("https://client.example/bye#top", "fragment"),
        ("https://*.client.example/bye", "wildcard"),
        ("/relative/bye", "absolute"),
        ("com.example.app:/bye", "public clients"),
        ("javascript:alert(1)", "javascript"),
        ("https://user@client.example/bye", "user information"),
    ):
        error = _error(await _create(client, post_logout_redirect_uris=[LOGOUT_URI, uri]))
        assert error["loc"] == ["body", "post_logout_redirect_uris", 1]
        assert error["msg"].startswith("Post-logout redirect URI ")
        assert message in error["msg"], (uri, error)
    app = await register_client(client)
    error = _error(
        await client.patch(
            f"/api/applications/{app.client_id}",
            json={"post_logout_redirect_uris": ["http://evil.example/bye"]},
        )
    )
    assert error["loc"] == ["body", "post_logout_redirect_uris", 0]
    # A public (native) client may use its private-use scheme, as for redirect URIs.
    r = await _create(
        client,
        client_type="public",
        redirect_uris=["com.example.app:/cb"],
        post_logout_redirect_uris=["com.example.app:/bye"],
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("alg", ["HS256", "none", "es256", "", 256])
async def test_id_token_signing_algorithm_is_es256_or_rs256(
    client: httpx.AsyncClient, alg: object
) -> None:
    await sign_up(client)
    error = _error(await _create(client, id_token_signed_response_alg=alg))
    assert error["loc"] == ["body", "id_token_signed_response_alg"]
    app = await register_client(client)
    r = await client.patch(
        f"/api/applications/{app.client_id}", json={"id_token_signed_response_alg": alg}
    )
    assert r.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"grant_types": "authorization_code"},
        {"grant_types": [None]},
        {"grant_types": [""]},
        {"grant_types": ["authorization_code\u0000"]},
        {"grant_types": ["refresh_token"] * 11},
        {"post_logout_redirect_uris": LOGOUT_URI},
        {"post_logout_redirect_uris": [f"https://client.example/{n}" for n in range(21)]},
        {"grant_types": None},
    ],
)
async def test_malformed_fields_are_422(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    await sign_up(client)
    r = await _create(client, **body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


# --- Names that imitate the service (SPEC §17) ---------------------------------------------

IMITATIONS = [
    "Wants to Party",
    "wants to party",
    "WantsToParty",
    "WTP",
    "W.T.P.",
    "w t p",
    "Official Wants to Party app",
    "WTP Login",
    "Wants-To-Party Verified",
    "Wаnts tо Pаrty",  # Cyrillic а and о
    "ＷＴＰ",  # full-width
    "W4nts t0 P4rty",
    "Wänts tö Pärty",
    "W\u200btp",  # a zero-width space
    "VVants to Party",
    "WantsToPartyApp",
    "ωτρ",  # Greek
]


@pytest.mark.parametrize("name", IMITATIONS)
async def test_a_name_that_imitates_the_service_is_refused(
    client: httpx.AsyncClient, name: str
) -> None:
    await sign_up(client)
    error = _error(await _create(client, name=name))
    assert error["loc"] == ["body", "name"]
    assert error["msg"].startswith("This name imitates Wants to Party")
    app = await register_client(client, name="Honest Name")
    error = _error(await client.patch(f"/api/applications/{app.client_id}", json={"name": name}))
    assert error["loc"] == ["body", "name"]
    assert (await client.get(f"/api/applications/{app.client_id}")).json()["name"] == "Honest Name"


async def test_names_that_only_look_a_little_like_it_are_fine(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    for name in ("Party Planner", "WTPlanner", "Wants Party", "Law T. P. Smith", "SWTP", "Tapas"):
        r = await _create(client, name=name)
        assert r.status_code == 201, (name, r.text)


async def test_the_description_may_mention_the_service(client: httpx.AsyncClient) -> None:
    """Only the name is refused; the description is shown as the developer's words."""
    await sign_up(client)
    r = await _create(client, description="Plans parties for Wants to Party users.")
    assert r.status_code == 201, r.text


async def test_the_token_endpoint_serves_only_the_grants_an_application_enabled(
    client: httpx.AsyncClient,
) -> None:
    """SPEC §11: a grant the application has not enabled is ``unauthorized_client``; one that
    did not enable the refresh grant gets no refresh token."""
    await sign_up(client)
    r = await _create(client, grant_types=["authorization_code"])
    assert r.status_code == 201, r.text
    app = Client(r.json()["client_id"], r.json()["client_secret"], [REDIRECT_URI])
    assert app.client_secret is not None
    auth = (app.client_id, app.client_secret)
    code = await get_code(client, app)
    r = await client.post(
        "/api/oauth/token", data={"grant_type": "authorization_code", "code": code}, auth=auth
    )
    assert r.status_code == 200, r.text
    assert "refresh_token" not in r.json() and r.json()["access_token"].startswith("wtpa_")
    r = await client.post(
        "/api/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": "wtpr_x"},
        auth=auth,
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "unauthorized_client"
    # Enabled again, the code grant hands out refresh tokens as before.
    r = await client.patch(
        f"/api/applications/{app.client_id}",
        json={"grant_types": ["authorization_code", "refresh_token"]},
    )
    assert r.status_code == 200, r.text
    issued = await tokens_for(client, app)
    assert issued["refresh_token"].startswith("wtpr_")
    # And an application that enabled only refresh cannot redeem codes any more.
    r = await client.patch(
        f"/api/applications/{app.client_id}",
        json={"grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"]},
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        "/api/oauth/token", data={"grant_type": "authorization_code", "code": "x"}, auth=auth
    )
    assert r.json()["error"] == "unauthorized_client"
