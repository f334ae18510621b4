"""Threat model: another site makes the owner's browser change things with its session cookie
(CSRF, RFC 6749 §10.12; SPEC §17).

SameSite=Lax keeps the cookie off cross-*site* POSTs, but a page on another port of the same
host (``http://testserver:8001`` here, ``localhost:3000`` in real life) is the same site, and
its form POST carries the cookie. The secret rotation has no JSON body, so the JSON content
type rule does not stop it. Every cookie-authenticated state change on the JSON API refuses a
foreign ``Origin`` and a ``Sec-Fetch-Site`` other than ``same-origin`` / ``none``.
"""

from __future__ import annotations

import httpx
import pytest

from tests.attacks.conftest import AppFactory, World, bearer
from tests.helpers import get_code, guide_exchange, register_client, sign_up, tokens_for

SAME_SITE_PAGE = {"Origin": "http://testserver:8001", "Sec-Fetch-Site": "same-site"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

FOREIGN = [
    {"Origin": "http://testserver:8001"},
    {"Origin": "http://attacker.example"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "same-site"},
    {"Sec-Fetch-Site": "cross-site"},
    SAME_SITE_PAGE,
]
OURS = [
    {},  # no Origin, no Sec-Fetch-Site: curl, SDKs, server-side code
    {"Origin": "http://testserver"},
    {"Sec-Fetch-Site": "same-origin"},
    {"Sec-Fetch-Site": "none"},
    {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
]


def _refused(r: httpx.Response) -> None:
    assert r.status_code == 403, r.text
    assert r.json()["detail"].startswith("Cross-site request refused")


async def test_a_same_site_form_cannot_rotate_the_secret(world: World) -> None:
    """The reported attack: a form on another port POSTs to the rotation with the owner's
    cookie; the secret must not change."""
    r = await world.dev.post(
        f"/api/applications/{world.app.client_id}/secret",
        content=b"x=1",
        headers={**FORM, **SAME_SITE_PAGE},
    )
    _refused(r)
    # The application's secret still works.
    code = await get_code(world.user, world.app)
    assert (await guide_exchange(world.user, world.app, code)).status_code == 200


@pytest.mark.parametrize("headers", FOREIGN)
async def test_foreign_origins_are_refused(shared_world: World, headers: dict[str, str]) -> None:
    path = f"/api/applications/{shared_world.app.client_id}/secret"
    _refused(await shared_world.dev.post(path, headers=headers))


@pytest.mark.parametrize("headers", OURS)
async def test_our_own_pages_and_non_browsers_may(
    shared_world: World, headers: dict[str, str]
) -> None:
    path = f"/api/applications/{shared_world.app.client_id}/secret"
    r = await shared_world.dev.post(path, headers=headers)
    assert r.status_code == 200, r.text
    shared_world.app.client_secret = r.json()["client_secret"]


async def test_every_cookie_authenticated_change_is_guarded(world: World) -> None:
    path = f"/api/applications/{world.app.client_id}"
    answers = [
        await world.dev.post(
            "/api/applications",
            json={"name": "x", "redirect_uris": ["https://x.example/cb"]},
            headers=SAME_SITE_PAGE,
        ),
        await world.dev.patch(path, json={"name": "renamed"}, headers=SAME_SITE_PAGE),
        await world.dev.delete(path, headers=SAME_SITE_PAGE),
        await world.user.delete(
            f"/api/users/@me/authorizations/{world.app.client_id}", headers=SAME_SITE_PAGE
        ),
        await world.user.delete("/api/session", headers=SAME_SITE_PAGE),
    ]
    for r in answers:
        _refused(r)
    # Nothing changed: the application is there, under its name, and both are signed in.
    r = await world.dev.get(path)
    assert r.status_code == 200 and r.json()["name"] == "Party Planner"
    assert (await world.user.get("/api/users/@me/authorizations")).status_code == 200


async def test_reads_are_not_refused(world: World) -> None:
    r = await world.dev.get("/api/applications", headers=SAME_SITE_PAGE)
    assert r.status_code == 200


async def test_without_the_session_cookie_nothing_is_refused(world: World) -> None:
    """A request the cookie does not authenticate is not a cross-site *cookie* write: an
    access token from another origin still works (RFC 6750 §2.1)."""
    tokens = await tokens_for(world.user, world.app, "user.read user.write")
    world.user.cookies.clear()
    r = await world.user.patch(
        "/api/users/@me",
        json={"display_name": "From the SPA"},
        headers={**bearer(tokens["access_token"]), **SAME_SITE_PAGE},
    )
    assert r.status_code == 200, r.text


async def test_the_oauth_endpoints_answer_rfc_json_as_before(world: World) -> None:
    """RFC 6749 §2.3: they authenticate clients, never the cookie, so the cookie a browser
    might add changes nothing."""
    code = await get_code(world.user, world.app)
    r = await world.user.post(
        "/api/oauth/token",
        data={"grant_type": "authorization_code", "code": code},
        auth=(world.app.client_id, world.app.client_secret or ""),
        headers=SAME_SITE_PAGE,
    )
    assert r.status_code == 200, r.text
    r = await world.user.post("/api/oauth/revoke", data={"token": "x"}, headers=SAME_SITE_PAGE)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


async def test_an_https_issuer_compares_its_own_origin(custom_app: AppFactory) -> None:
    issuer = "https://auth.example"
    async with custom_app(base_url=issuer, issuer=issuer) as http:
        await sign_up(http)
        app = await register_client(http)
        path = f"/api/applications/{app.client_id}/secret"
        ours = await http.post(path, headers={"Origin": issuer})
        downgraded = await http.post(path, headers={"Origin": "http://auth.example"})
    assert ours.status_code == 200, ours.text
    _refused(downgraded)
