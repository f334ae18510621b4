"""The device authorization grant (RFC 8628, SPEC §15): the device authorization endpoint, the
polling at the token endpoint in both dialects, and the /device page."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.api.support import developer_app
from tests.conftest import TEST_ISSUER, FakeClock
from tests.device_helpers import (
    DEVICE_GRANT,
    answer,
    decide,
    enable_device_grant,
    enter_code,
    guide_poll,
    poll,
    start,
    started,
)
from tests.helpers import PASSWORD, Account, Client, hidden, register_client, sign_up, unique
from wtp_oauth.security.tokens import digest

USER_CODE = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")


@pytest.fixture
async def device_app(client: httpx.AsyncClient, running_app: FastAPI) -> Client:
    """A confidential application with the device grant enabled; its developer uses ``client``."""
    registered = await developer_app(client)
    await enable_device_grant(running_app.state.wtp.engine, registered.client_id)
    return registered


@pytest.fixture
async def user(other_client: httpx.AsyncClient) -> Account:
    """The person in front of the device, signed in on ``other_client``."""
    return await sign_up(other_client)


def assert_error(r: httpx.Response, error: str, status: int = 400) -> dict[str, Any]:
    """RFC 6749 §5.2, as RFC 8628 §3.2 and §3.5 use it."""
    assert r.status_code == status, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["error"] == error, body
    assert body.get("error_description")
    return dict(body)


async def works(http: httpx.AsyncClient, access_token: str) -> bool:
    r = await http.get("/api/users/@me", headers={"Authorization": f"Bearer {access_token}"})
    return r.status_code == 200


# --- POST /api/oauth/device_authorization --------------------------------------------------------


async def test_device_authorization_response(
    client: httpx.AsyncClient, device_app: Client, running_app: FastAPI
) -> None:
    """RFC 8628 §3.2, SPEC §15."""
    r = await start(client, device_app)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert set(body) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert USER_CODE.match(body["user_code"]), body["user_code"]
    assert body["verification_uri"] == f"{TEST_ISSUER}/device"
    complete = urlsplit(body["verification_uri_complete"])
    assert f"{complete.scheme}://{complete.netloc}{complete.path}" == f"{TEST_ISSUER}/device"
    assert parse_qs(complete.query) == {"user_code": [body["user_code"]]}
    assert body["expires_in"] == 600
    assert body["interval"] == 5
    assert len(body["device_code"]) >= 43  # 256 random bits
    # Stored as a digest, the user code normalised; the device code itself nowhere.
    async with running_app.state.wtp.engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT * FROM device_codes WHERE device_code_digest = :d"),
                {"d": digest(body["device_code"])},
            )
        ).one()
    assert row.user_code == body["user_code"].replace("-", "")
    assert body["device_code"] not in {str(value) for value in row}
    assert row.scope == "user.read" and row.user_id is None and row.poll_interval == 5


async def test_every_request_gets_its_own_codes(
    client: httpx.AsyncClient, device_app: Client
) -> None:
    first, second = await started(client, device_app), await started(client, device_app)
    assert first["device_code"] != second["device_code"]
    assert first["user_code"] != second["user_code"]


async def test_guide_dialect_json_and_bearer_with_scopes(
    client: httpx.AsyncClient, device_app: Client
) -> None:
    r = await client.post(
        "/api/oauth/device_authorization",
        json={"client_id": device_app.client_id, "scopes": "user.read,user.email"},
        headers={"Authorization": f"Bearer {device_app.client_secret}"},
    )
    assert r.status_code == 200, r.text
    assert USER_CODE.match(r.json()["user_code"])


async def test_a_public_client_sends_its_client_id_only(
    client: httpx.AsyncClient, running_app: FastAPI
) -> None:
    await sign_up(client)
    public = await register_client(client, ["http://127.0.0.1/callback"], client_type="public")
    await enable_device_grant(running_app.state.wtp.engine, public.client_id)
    assert (await start(client, public)).status_code == 200
    with_secret = await client.post(
        "/api/oauth/device_authorization",
        data={"client_id": public.client_id, "client_secret": "wtps_guess", "scope": "user.read"},
    )
    assert_error(with_secret, "invalid_client", 401)


async def test_unknown_client(client: httpx.AsyncClient) -> None:
    r = await start(client, Client("no-such-client", "wtps_nothing"))
    assert_error(r, "invalid_client", 401)
    assert r.headers["www-authenticate"].startswith("Basic")


async def test_wrong_secret_and_no_secret(client: httpx.AsyncClient, device_app: Client) -> None:
    assert_error(
        await start(client, Client(device_app.client_id, "wtps_wrong")), "invalid_client", 401
    )
    no_secret = Client(device_app.client_id, None)
    assert_error(await start(client, no_secret), "invalid_client", 401)


async def test_grant_not_enabled(client: httpx.AsyncClient) -> None:
    """SPEC §11: the default grant types do not include the device grant."""
    plain = await developer_app(client)
    assert_error(await start(client, plain), "unauthorized_client")


@pytest.mark.parametrize("scope", ["", "admin", "user.read admin"])
async def test_bad_scope(client: httpx.AsyncClient, device_app: Client, scope: str) -> None:
    assert_error(await start(client, device_app, scope=scope), "invalid_scope")


async def test_resource(client: httpx.AsyncClient, device_app: Client) -> None:
    """RFC 8707: only the user API, ``{issuer}/api``, for now."""
    assert (await start(client, device_app, resource=f"{TEST_ISSUER}/api")).status_code == 200
    for resource in ("https://elsewhere.example/api", f"{TEST_ISSUER}/", "api"):
        assert_error(await start(client, device_app, resource=resource), "invalid_target")


async def test_repeated_parameter_is_invalid_request(
    client: httpx.AsyncClient, device_app: Client
) -> None:
    r = await client.post(
        "/api/oauth/device_authorization",
        content="scope=user.read&scope=user.email",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(device_app.client_id, device_app.client_secret or ""),
    )
    assert_error(r, "invalid_request")


# --- polling ------------------------------------------------------------------------------------


async def test_pending_until_allowed_then_tokens_once(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    device_app: Client,
    user: Account,
    clock: FakeClock,
) -> None:
    device = await started(client, device_app, scope="user.read user.email")
    assert_error(await poll(client, device_app, device["device_code"]), "authorization_pending")
    clock.advance(5)
    assert_error(await poll(client, device_app, device["device_code"]), "authorization_pending")
    await decide(other_client, device["user_code"], "allow")
    clock.advance(5)
    r = await poll(client, device_app, device["device_code"])
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    tokens = r.json()
    assert set(tokens) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert tokens["scope"] == "user.read user.email"
    assert tokens["access_token"].startswith("wtpa_")
    assert tokens["refresh_token"].startswith("wtpr_")
    me = await client.get(
        "/api/users/@me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["username"] == user.username and me.json()["email"] == user.email
    # The usual refresh token: it rotates like any other.
    refreshed = await client.post(
        "/api/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(device_app.client_id, device_app.client_secret or ""),
    )
    assert refreshed.status_code == 200, refreshed.text


async def test_a_second_poll_after_success_is_invalid_grant_and_revokes(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, device_app: Client, user: Account
) -> None:
    """Tokens once (SPEC §15); a replayed code revokes what it gave, as for authorization codes
    (RFC 6749 §4.1.2), since either the device or a thief of its code is not who it seems."""
    device = await started(client, device_app)
    await decide(other_client, device["user_code"])
    tokens = (await poll(client, device_app, device["device_code"])).json()
    assert await works(client, tokens["access_token"])
    again = await poll(client, device_app, device["device_code"])
    assert_error(again, "invalid_grant")
    assert not await works(client, tokens["access_token"])
    refreshed = await client.post(
        "/api/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(device_app.client_id, device_app.client_secret or ""),
    )
    assert_error(refreshed, "invalid_grant")


async def test_slow_down_and_the_growing_interval(
    client: httpx.AsyncClient, device_app: Client, running_app: FastAPI, clock: FakeClock
) -> None:
    """RFC 8628 §3.5: polled faster than the interval, ``slow_down``, and the interval grows by
    5 seconds for this and all later requests; it is stored, not just said."""
    device = await started(client, device_app)
    code = device["device_code"]

    async def interval() -> int:
        async with running_app.state.wtp.engine.connect() as conn:
            query = text("SELECT poll_interval FROM device_codes WHERE device_code_digest = :d")
            return int((await conn.execute(query, {"d": digest(code)})).scalar_one())

    assert_error(await poll(client, device_app, code), "authorization_pending")
    clock.advance(2)
    body = assert_error(await poll(client, device_app, code), "slow_down")
    assert "10 seconds" in body["error_description"]
    assert await interval() == 10
    clock.advance(6)  # more than the old 5 s, less than the new 10 s
    assert_error(await poll(client, device_app, code), "slow_down")
    assert await interval() == 15
    clock.advance(15)
    assert_error(await poll(client, device_app, code), "authorization_pending")
    assert await interval() == 15


async def test_denied(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    device_app: Client,
    user: Account,
    clock: FakeClock,
) -> None:
    device = await started(client, device_app)
    await decide(other_client, device["user_code"], "deny")
    assert_error(await poll(client, device_app, device["device_code"]), "access_denied")
    clock.advance(1)  # denied is final, however fast the device asks again
    assert_error(await poll(client, device_app, device["device_code"]), "access_denied")


async def test_expired(client: httpx.AsyncClient, device_app: Client, clock: FakeClock) -> None:
    device = await started(client, device_app)
    clock.advance(600)
    assert_error(await poll(client, device_app, device["device_code"]), "expired_token")


async def test_allowed_but_expired_before_the_poll(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    device_app: Client,
    user: Account,
    clock: FakeClock,
) -> None:
    device = await started(client, device_app)
    await decide(other_client, device["user_code"])
    clock.advance(601)
    assert_error(await poll(client, device_app, device["device_code"]), "expired_token")


async def test_another_clients_code_is_invalid_grant(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    device_app: Client,
    user: Account,
    running_app: FastAPI,
) -> None:
    device = await started(client, device_app)
    rival = await register_client(client, name="Rival")
    await enable_device_grant(running_app.state.wtp.engine, rival.client_id)
    await decide(other_client, device["user_code"])
    assert_error(await poll(client, rival, device["device_code"]), "invalid_grant")
    # Nothing was used up or revoked: the right client still gets its tokens.
    assert (await poll(client, device_app, device["device_code"])).status_code == 200


async def test_unknown_or_missing_device_code(
    client: httpx.AsyncClient, device_app: Client
) -> None:
    assert_error(await poll(client, device_app, "not-a-device-code"), "invalid_grant")
    r = await client.post(
        "/api/oauth/token",
        data={"grant_type": DEVICE_GRANT},
        auth=(device_app.client_id, device_app.client_secret or ""),
    )
    assert_error(r, "invalid_request")


async def test_polling_needs_client_authentication(
    client: httpx.AsyncClient, device_app: Client
) -> None:
    device = await started(client, device_app)
    wrong = Client(device_app.client_id, "wtps_wrong")
    assert_error(await poll(client, wrong, device["device_code"]), "invalid_client", 401)


async def test_grant_disabled_after_the_request(
    client: httpx.AsyncClient, device_app: Client, running_app: FastAPI
) -> None:
    device = await started(client, device_app)
    async with running_app.state.wtp.engine.begin() as conn:
        await conn.execute(
            text("UPDATE applications SET grant_types = :g WHERE client_id = :c"),
            {"g": '["authorization_code", "refresh_token"]', "c": device_app.client_id},
        )
    assert_error(await poll(client, device_app, device["device_code"]), "unauthorized_client")


async def test_both_dialects_and_both_paths(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, device_app: Client, user: Account
) -> None:
    """SPEC §6: ``grand_type`` in JSON with the secret as Bearer, at ``/api/token``; and the
    standard form with HTTP Basic at ``/api/token`` too."""
    guided = await started(client, device_app)
    assert_error(
        await guide_poll(client, device_app, guided["device_code"]), "authorization_pending"
    )
    await decide(other_client, guided["user_code"])
    r = await guide_poll(client, device_app, guided["device_code"])
    assert r.status_code == 200, r.text
    assert await works(client, r.json()["access_token"])

    standard = await started(client, device_app)
    await decide(other_client, standard["user_code"])
    r = await poll(client, device_app, standard["device_code"], path="/api/token")
    assert r.status_code == 200, r.text


async def test_a_public_client_polls_with_its_client_id(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    running_app: FastAPI,
    user: Account,
) -> None:
    await sign_up(client)
    public = await register_client(client, ["http://127.0.0.1/callback"], client_type="public")
    await enable_device_grant(running_app.state.wtp.engine, public.client_id)
    device = await started(client, public)
    await decide(other_client, device["user_code"])
    r = await poll(client, public, device["device_code"])
    assert r.status_code == 200, r.text


# --- /device ------------------------------------------------------------------------------------


async def test_not_signed_in_goes_through_login_and_keeps_the_code(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, device_app: Client
) -> None:
    device = await started(client, device_app)
    link = device["verification_uri_complete"].removeprefix(TEST_ISSUER)
    r = await other_client.get(link)
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/login?next=")
    next_path = unquote(location.removeprefix("/login?next="))
    assert next_path == f"/device?user_code={device['user_code']}"
    # Sign in through the form; back on /device, the code is filled in.
    username = unique("tv")
    await other_client.post(
        "/api/users",
        json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
    )
    login = await other_client.get(location)
    r = await other_client.post(
        "/login",
        data={
            "username": username,
            "password": PASSWORD,
            "next": hidden(login.text, "next"),
            "csrf_token": hidden(login.text, "csrf_token"),
        },
    )
    assert r.status_code == 303 and r.headers["location"] == next_path
    page = await other_client.get(next_path)
    assert page.status_code == 200
    assert f'value="{device["user_code"]}"' in page.text


async def test_a_post_without_a_session_goes_to_login(other_client: httpx.AsyncClient) -> None:
    r = await other_client.post("/device", data={"user_code": "BCDF-GHJK", "csrf_token": "x"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    r = await other_client.post("/device/consent", data={"decision": "allow"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


async def test_the_consent_page_names_the_application_in_its_own_words(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, device_app: Client, user: Account
) -> None:
    """RFC 8628 §5.4 (remote phishing): the user sees which application they would let in, who
    made it, what it could do, the code to compare with the device, and a warning."""
    device = await started(client, device_app, scope="user.read user.write")
    typed = device["user_code"].lower().replace("-", " ")
    r = await enter_code(other_client, typed)
    assert r.status_code == 200, r.text
    page = r.text
    assert "Allow <strong>Party Planner</strong> on your device?" in page
    owner = re.search(r"Made by <strong>([^<]+)</strong>", page)
    assert owner is not None
    assert device["user_code"] in page
    assert "Only continue if you started this yourself" in page
    assert 'data-scope="user.read"' in page and 'data-scope="user.write"' in page
    assert 'data-scope="user.email"' not in page
    assert "See your username and display name" in page and "Change your display name" in page
    assert 'value="allow"' in page and 'value="deny"' in page
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"


async def test_allow_shows_return_to_your_device_and_lists_the_app(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, device_app: Client, user: Account
) -> None:
    device = await started(client, device_app)
    consent = await enter_code(other_client, device["user_code"])
    done = await answer(other_client, consent.text, "allow")
    assert done.status_code == 200
    assert "You can return to your device." in done.text
    # The grant is an authorization like any other: listed, and revocable by the user.
    listed = (await other_client.get("/api/users/@me/authorizations")).json()
    assert [entry["client_id"] for entry in listed] == [device_app.client_id]
    tokens = (await poll(client, device_app, device["device_code"])).json()
    forgotten = await other_client.delete(f"/api/users/@me/authorizations/{device_app.client_id}")
    assert forgotten.status_code == 204
    assert not await works(client, tokens["access_token"])


async def test_deny_shows_request_denied(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, device_app: Client, user: Account
) -> None:
    device = await started(client, device_app)
    consent = await enter_code(other_client, device["user_code"])
    done = await answer(other_client, consent.text, "deny")
    assert done.status_code == 200
    assert "Request denied." in done.text
    assert (await other_client.get("/api/users/@me/authorizations")).json() == []


async def test_a_code_is_answered_once(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, device_app: Client, user: Account
) -> None:
    device = await started(client, device_app)
    consent = await enter_code(other_client, device["user_code"])
    assert (await answer(other_client, consent.text, "deny")).status_code == 200
    again = await answer(other_client, consent.text, "allow")
    assert again.status_code == 400
    assert "expired or was already answered" in again.text
    assert_error(await poll(client, device_app, device["device_code"]), "access_denied")
    # Nor can it be looked up again.
    assert (await enter_code(other_client, device["user_code"])).status_code == 400


async def test_wrong_and_malformed_codes(other_client: httpx.AsyncClient, user: Account) -> None:
    wrong = await enter_code(other_client, "BCDF-GHJK")
    assert wrong.status_code == 400
    assert "No device is waiting for this code" in wrong.text
    assert 'aria-invalid="true"' in wrong.text
    malformed = await enter_code(other_client, "HELLO")
    assert malformed.status_code == 400
    assert "eight letters" in malformed.text


async def test_an_expired_code_is_not_found(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    device_app: Client,
    user: Account,
    clock: FakeClock,
) -> None:
    device = await started(client, device_app)
    clock.advance(600)
    assert (await enter_code(other_client, device["user_code"])).status_code == 400


async def test_guesses_are_throttled(
    other_client: httpx.AsyncClient, user: Account, clock: FakeClock
) -> None:
    """RFC 8628 §5.1: ``WTP_LOGIN_FAILURE_LIMIT`` (10) wrong codes, then 429 for 15 minutes."""
    for _ in range(10):
        assert (await enter_code(other_client, "BCDF-GHJK")).status_code == 400
    r = await enter_code(other_client, "BCDF-GHJK")
    assert r.status_code == 429
    assert 0 < int(r.headers["retry-after"]) <= 900
    assert "Too many wrong codes" in r.text
    clock.advance(901)
    assert (await enter_code(other_client, "BCDF-GHJK")).status_code == 400


async def test_the_code_form_needs_its_csrf_token(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, device_app: Client, user: Account
) -> None:
    device = await started(client, device_app)
    for token in ("", "0" * 64):
        r = await other_client.post(
            "/device", data={"user_code": device["user_code"], "csrf_token": token}
        )
        assert r.status_code == 400
        assert "This form has expired" in r.text
        assert "Allow" not in r.text


async def test_the_consent_form_needs_its_token(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, device_app: Client, user: Account
) -> None:
    device = await started(client, device_app)
    consent = await enter_code(other_client, device["user_code"])
    code = hidden(consent.text, "user_code")
    for token in ("", "0" * 64, hidden(consent.text, "consent_token")[:-1]):
        r = await other_client.post(
            "/device/consent", data={"user_code": code, "consent_token": token, "decision": "allow"}
        )
        assert r.status_code == 400 and "This form has expired" in r.text
    assert_error(await poll(client, device_app, device["device_code"]), "authorization_pending")
    bad_decision = await other_client.post(
        "/device/consent",
        data={
            "user_code": code,
            "consent_token": hidden(consent.text, "consent_token"),
            "decision": "maybe",
        },
    )
    assert bad_decision.status_code == 400 and "Choose Allow or Deny" in bad_decision.text
