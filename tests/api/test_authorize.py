"""routers/authorize.py: the authorization endpoint and the consent form (SPEC §5)."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from tests.api.support import developer_app
from tests.conftest import TEST_ISSUER, FakeClock
from tests.helpers import (
    REDIRECT_URI,
    Account,
    Client,
    authorize_params,
    consent,
    get_code,
    guide_exchange,
    hidden,
    pkce_pair,
    query_of,
    register_client,
    sign_up,
)


def redirected_to(r: httpx.Response, redirect_uri: str = REDIRECT_URI) -> dict[str, str]:
    """The query a redirect to the client carries; fails if it goes anywhere else."""
    assert r.status_code in (302, 303), r.text
    location = r.headers["location"]
    assert location.split("?", 1)[0] == redirect_uri
    return query_of(location)


def assert_error_page(r: httpx.Response, words: str) -> None:
    assert r.status_code == 400, r.text
    assert "location" not in r.headers
    assert r.headers["content-type"].startswith("text/html")
    assert words in r.text


def allow_form(page: httpx.Response) -> dict[str, str]:
    """What a browser submits from the consent page when the user clicks Allow."""
    assert page.status_code == 200, page.text
    return {
        "request_id": hidden(page.text, "request_id"),
        "csrf_token": hidden(page.text, "csrf_token"),
        "decision": "allow",
    }


async def sign_in_on(
    http: httpx.AsyncClient, login: httpx.Response, account: Account
) -> httpx.Response:
    """Submit the login page as the browser would, with its hidden ``next``."""
    return await http.post(
        "/login",
        data={
            "username": account.username,
            "password": account.password,
            "next": hidden(login.text, "next"),
            "csrf_token": hidden(login.text, "csrf_token"),
        },
    )


# --- errors shown to the user, never redirected ---------------------------------------------


@pytest.mark.parametrize("signed_in", [True, False])
async def test_unknown_client_is_an_error_page(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, signed_in: bool
) -> None:
    app = await developer_app(client)
    browser = client if signed_in else other_client
    params = authorize_params(app, client_id="no-such-client")
    assert_error_page(await browser.get("/oauth/authorize", params=params), "no application")
    params["client_id"] = "x" * 200
    assert_error_page(await browser.get("/oauth/authorize", params=params), "no application")


async def test_missing_client_id_is_an_error_page(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    params = authorize_params(app)
    del params["client_id"]
    assert_error_page(await client.get("/oauth/authorize", params=params), "client_id")


@pytest.mark.parametrize("signed_in", [True, False])
async def test_missing_redirect_uri_is_an_error_page(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, signed_in: bool
) -> None:
    app = await developer_app(client)
    params = authorize_params(app)
    del params["redirect_uri"]
    browser = client if signed_in else other_client
    assert_error_page(await browser.get("/oauth/authorize", params=params), "redirect_uri")


async def test_unregistered_redirect_uri_is_an_error_page(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    for redirect_uri in (
        "https://evil.example/callback",
        REDIRECT_URI + "/",
        REDIRECT_URI + "?next=https://evil.example",
        "https://client.example/Callback",
    ):
        params = authorize_params(app, redirect_uri=redirect_uri, response_type="token")
        assert_error_page(await client.get("/oauth/authorize", params=params), "not registered")


async def test_repeated_client_id_or_redirect_uri_is_an_error_page(
    client: httpx.AsyncClient,
) -> None:
    app = await developer_app(client)
    base = f"/oauth/authorize?response_type=code&scope=user.read&client_id={app.client_id}"
    uri = quote(REDIRECT_URI, safe="")
    twice = await client.get(f"{base}&redirect_uri={uri}&redirect_uri={uri}")
    assert_error_page(twice, "only once")
    twice = await client.get(f"{base}&client_id={app.client_id}&redirect_uri={uri}")
    assert_error_page(twice, "only once")


# --- errors redirected to the client (RFC 6749 §4.1.2.1, RFC 9207) ---------------------------


ERROR_REDIRECTS = [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": "code id_token"}, "unsupported_response_type"),
    ({"response_type": ""}, "invalid_request"),
    ({"scopes": ""}, "invalid_scope"),
    ({"scopes": "admin"}, "invalid_scope"),
    ({"scopes": "user.read admin"}, "invalid_scope"),
    ({"code_challenge": "x" * 43, "code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": pkce_pair()[1]}, "invalid_request"),
    ({"code_challenge_method": "S256"}, "invalid_request"),
    ({"code_challenge": "too-short", "code_challenge_method": "S256"}, "invalid_request"),
    ({"prompt": "sometimes"}, "invalid_request"),
    ({"prompt": "none login"}, "invalid_request"),
]


async def test_error_redirects(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    for changes, error in ERROR_REDIRECTS:
        params = authorize_params(app, **changes)
        r = await client.get("/oauth/authorize", params=params)
        assert r.status_code == 302, (changes, r.text)
        query = redirected_to(r)
        assert query["error"] == error, changes
        assert query["error_description"]
        assert query["state"] == params["state"]
        assert query["iss"] == TEST_ISSUER
        assert "code" not in query


async def test_missing_response_type_and_scope(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    for missing, error in (("response_type", "invalid_request"), ("scopes", "invalid_scope")):
        params = authorize_params(app)
        del params[missing]
        query = redirected_to(await client.get("/oauth/authorize", params=params))
        assert query["error"] == error


async def test_error_redirects_even_when_not_signed_in(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app = await developer_app(client)
    r = await other_client.get("/oauth/authorize", params=authorize_params(app, scopes="admin"))
    assert redirected_to(r)["error"] == "invalid_scope"


async def test_error_redirect_without_state_has_no_state(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    params = authorize_params(app, response_type="token")
    del params["state"]
    query = redirected_to(await client.get("/oauth/authorize", params=params))
    assert "state" not in query
    assert query["iss"] == TEST_ISSUER


async def test_public_client_must_use_pkce(client: httpx.AsyncClient) -> None:
    app = await developer_app(client, redirect_uris=["http://127.0.0.1/cb"], client_type="public")
    query = redirected_to(
        await client.get("/oauth/authorize", params=authorize_params(app)), "http://127.0.0.1/cb"
    )
    assert query["error"] == "invalid_request"
    assert "PKCE" in query["error_description"]


# --- signing in first ------------------------------------------------------------------------


async def test_not_signed_in_goes_through_login_and_back(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app = await developer_app(client)
    params = authorize_params(app)
    r = await other_client.get("/oauth/authorize", params=params)
    assert r.status_code == 302
    location = r.headers["location"]
    assert location.startswith("/login?next=")
    next_path = parse_qs(urlsplit(location).query)["next"][0]
    assert next_path.startswith("/oauth/authorize?")
    assert query_of(next_path) == params
    # The login page carries `next`; after signing in, the browser is back at authorize.
    account = await sign_up(other_client)
    await other_client.delete("/api/session")
    login = await other_client.get(location)
    assert hidden(login.text, "next") == next_path
    r = await sign_in_on(other_client, login, account)
    assert r.status_code == 303
    assert r.headers["location"] == next_path
    page = await other_client.get(next_path)
    assert page.status_code == 200
    assert hidden(page.text, "request_id")


async def test_the_longest_state_survives_the_login_round_trip(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app = await developer_app(client)
    account = await sign_up(other_client)
    await other_client.delete("/api/session")
    params = authorize_params(app, "user.read user.email", state="s" * 2000)
    r = await other_client.get("/oauth/authorize", params=params)
    login = await other_client.get(r.headers["location"])
    next_path = hidden(login.text, "next")
    assert query_of(next_path) == params
    r = await sign_in_on(other_client, login, account)
    assert r.headers["location"] == next_path
    page = await other_client.get(next_path)
    r = await other_client.post("/oauth/authorize", data=allow_form(page))
    assert redirected_to(r)["state"] == params["state"]


async def test_prompt_none_when_not_signed_in(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app = await developer_app(client)
    params = authorize_params(app, prompt="none")
    query = redirected_to(await other_client.get("/oauth/authorize", params=params))
    assert query["error"] == "login_required"
    assert query["state"] == params["state"]
    assert query["iss"] == TEST_ISSUER


async def test_prompt_login_signs_in_again(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    params = authorize_params(app, prompt="login consent")
    r = await client.get("/oauth/authorize", params=params)
    assert r.status_code == 302
    next_path = parse_qs(urlsplit(r.headers["location"]).query)["next"][0]
    assert urlsplit(r.headers["location"]).path == "/login"
    # Back from /login, the request no longer asks to sign in (no loop) but keeps the rest.
    assert query_of(next_path)["prompt"] == "consent"
    page = await client.get(next_path)
    assert page.status_code == 200
    assert hidden(page.text, "request_id")


# --- the consent page ------------------------------------------------------------------------


async def test_consent_page(client: httpx.AsyncClient, other_client: httpx.AsyncClient) -> None:
    owner = await sign_up(client)
    app = await register_client(client, name="Cake Finder")
    await sign_up(other_client)
    r = await other_client.get(
        "/oauth/authorize", params=authorize_params(app, "user.read user.email")
    )
    assert r.status_code == 200
    page = r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "Cake Finder" in page
    assert owner.username in page
    assert "See your username and display name" in page
    assert "See your email address" in page
    assert "Change your display name" not in page
    assert '<form method="post" action="/oauth/authorize"' in page
    assert hidden(page, "csrf_token")
    assert hidden(page, "request_id")
    assert 'name="decision" value="allow"' in page
    assert 'name="decision" value="deny"' in page
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"


async def test_consent_page_escapes_the_application_name(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app = await developer_app(client, name="<b>Bold</b> & co")
    await sign_up(other_client)
    page = (await other_client.get("/oauth/authorize", params=authorize_params(app))).text
    assert "<b>Bold</b>" not in page
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in page


async def test_allow_redirects_with_code_state_and_iss(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app = await developer_app(client)
    await sign_up(other_client)
    params = authorize_params(app)
    r = await consent(other_client, params, "allow")
    assert r.status_code == 303
    assert r.headers["cache-control"] == "no-store"
    query = redirected_to(r)
    assert set(query) == {"code", "state", "iss"}
    assert query["state"] == params["state"]
    assert query["iss"] == TEST_ISSUER
    assert len(query["code"]) >= 43


async def test_state_comes_back_exactly(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    state = "a b&c=d/é?#%20+"
    query = redirected_to(await consent(client, authorize_params(app, state=state)))
    assert query["state"] == state
    error = redirected_to(
        await client.get("/oauth/authorize", params=authorize_params(app, "admin", state=state))
    )
    assert error["state"] == state


async def test_deny_is_access_denied(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app = await developer_app(client)
    await sign_up(other_client)
    params = authorize_params(app)
    r = await consent(other_client, params, "deny")
    query = redirected_to(r)
    assert query["error"] == "access_denied"
    assert query["state"] == params["state"]
    assert query["iss"] == TEST_ISSUER
    assert "code" not in query
    # Nothing was remembered: the next request asks again.
    again = await other_client.get("/oauth/authorize", params=authorize_params(app))
    assert again.status_code == 200


async def test_redirect_uri_with_a_query_keeps_it(client: httpx.AsyncClient) -> None:
    uri = "https://client.example/cb?tenant=7"
    app = await developer_app(client, redirect_uris=[uri])
    r = await consent(client, authorize_params(app))
    location = r.headers["location"]
    assert location.startswith(uri + "&code=")
    assert query_of(location)["tenant"] == "7"


async def test_loopback_redirect_uri_on_any_port(client: httpx.AsyncClient) -> None:
    app = await developer_app(client, redirect_uris=["http://127.0.0.1/cb"])
    sent = "http://127.0.0.1:61234/cb"
    params = authorize_params(app, redirect_uri=sent)
    query = redirected_to(await consent(client, params), sent)
    assert query["code"]


async def consent_form(http: httpx.AsyncClient, params: dict[str, str]) -> dict[str, str]:
    return allow_form(await http.get("/oauth/authorize", params=params))


@pytest.mark.parametrize("csrf_token", ["", "forged"])
async def test_consent_without_a_valid_csrf_token_issues_nothing(
    client: httpx.AsyncClient, csrf_token: str
) -> None:
    app = await developer_app(client)
    form = await consent_form(client, authorize_params(app))
    r = await client.post("/oauth/authorize", data={**form, "csrf_token": csrf_token})
    assert_error_page(r, "expired")
    # The genuine form still works.
    assert redirected_to(await client.post("/oauth/authorize", data=form))["code"]


async def test_consent_answered_once(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    form = await consent_form(client, authorize_params(app))
    assert redirected_to(await client.post("/oauth/authorize", data=form))["code"]
    assert_error_page(await client.post("/oauth/authorize", data=form), "already answered")


async def test_consent_needs_a_decision(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    form = await consent_form(client, authorize_params(app))
    assert_error_page(
        await client.post("/oauth/authorize", data={**form, "decision": "maybe"}), "Allow or Deny"
    )


async def test_consent_after_signing_out(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    form = await consent_form(client, authorize_params(app))
    await client.delete("/api/session")
    assert_error_page(await client.post("/oauth/authorize", data=form), "session has ended")


async def test_a_consent_form_belongs_to_its_session(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    app = await developer_app(client)
    form = await consent_form(client, authorize_params(app))
    await sign_up(other_client)
    mine = await consent_form(other_client, authorize_params(app))
    r = await other_client.post("/oauth/authorize", data={**mine, "request_id": form["request_id"]})
    assert_error_page(r, "expired or was already answered")


# --- remembered consent and prompt -----------------------------------------------------------


async def test_remembered_consent_issues_a_code_at_once(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    await get_code(client, app, "user.read user.email")
    # A subset of what was granted needs no new consent.
    params = authorize_params(app, "user.email")
    r = await client.get("/oauth/authorize", params=params)
    assert r.status_code == 302
    query = redirected_to(r)
    assert query["state"] == params["state"]
    exchanged = await guide_exchange(client, app, query["code"])
    assert exchanged.json()["scope"] == "user.email"


async def test_more_scopes_ask_again_and_consent_adds_up(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    await get_code(client, app, "user.read")
    r = await client.get("/oauth/authorize", params=authorize_params(app, "user.read user.write"))
    assert r.status_code == 200
    assert "Change your display name" in r.text
    await get_code(client, app, "user.write")
    authorizations = (await client.get("/api/users/@me/authorizations")).json()
    assert authorizations[0]["scopes"] == ["user.read", "user.write"]
    r = await client.get("/oauth/authorize", params=authorize_params(app, "user.read user.write"))
    assert r.status_code == 302


async def test_prompt_consent_asks_again(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    await get_code(client, app)
    r = await client.get("/oauth/authorize", params=authorize_params(app, prompt="consent"))
    assert r.status_code == 200
    assert hidden(r.text, "request_id")


async def test_prompt_none_with_and_without_consent(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    query = redirected_to(
        await client.get("/oauth/authorize", params=authorize_params(app, prompt="none"))
    )
    assert query["error"] == "consent_required"
    assert query["iss"] == TEST_ISSUER
    await get_code(client, app)
    query = redirected_to(
        await client.get("/oauth/authorize", params=authorize_params(app, prompt="none"))
    )
    assert query["code"]


# --- scopes in every dialect -----------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "scope=user.read%20user.email",
        "scopes=user.read%20user.email",
        "scopes=user.read+user.email",
        "scopes=user.read%2Buser.email",
        "scopes=user.read,user.email",
        "scopes=user.read%2Cuser.email",
        "scopes=user.read&scopes=user.email",
        "scope=user.read&scopes=user.email",
        "scopes=user.email&scopes=user.read+user.email",
    ],
)
async def test_scopes_in_every_dialect(client: httpx.AsyncClient, query: str) -> None:
    app = await developer_app(client)
    uri = quote(app.redirect_uri, safe="")
    url = (
        f"/oauth/authorize?client_id={app.client_id}&redirect_uri={uri}&response_type=code&{query}"
    )
    page = await client.get(url)
    assert page.status_code == 200, page.text
    assert 'data-scope="user.read"' in page.text
    assert 'data-scope="user.email"' in page.text
    assert 'data-scope="user.write"' not in page.text
    r = await client.post("/oauth/authorize", data=allow_form(page))
    code = redirected_to(r)["code"]
    assert (await guide_exchange(client, app, code)).json()["scope"] == "user.read user.email"


async def test_repeated_parameters_other_than_scopes(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    uri = quote(app.redirect_uri, safe="")
    url = (
        f"/oauth/authorize?client_id={app.client_id}&redirect_uri={uri}&response_type=code"
        "&scope=user.read&state=a&state=b"
    )
    query = redirected_to(await client.get(url))
    assert query["error"] == "invalid_request"


# --- nothing remembered between requests ----------------------------------------------------
# The authorize link reads the session, the application and the consent afresh every time, so a
# change made elsewhere counts from the very next request.


async def remembered(http: httpx.AsyncClient, app: Client) -> dict[str, str]:
    """Consent once, and check that the link now goes straight back with a code."""
    await get_code(http, app)
    params = authorize_params(app)
    assert "code" in redirected_to(await http.get("/oauth/authorize", params=params))
    return params


async def test_a_revoked_consent_is_asked_for_again_at_once(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    params = await remembered(client, app)
    r = await client.delete(f"/api/users/@me/authorizations/{app.client_id}")
    assert r.status_code == 204
    page = await client.get("/oauth/authorize", params=params)
    assert page.status_code == 200
    assert hidden(page.text, "request_id")


async def test_a_closed_session_goes_to_login_at_once(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    params = await remembered(client, app)
    cookie = client.cookies["wtp_session"]
    assert (await client.delete("/api/session")).status_code == 204
    # The browser still sends the old cookie: the server no longer knows it.
    client.cookies.set("wtp_session", cookie)
    r = await client.get("/oauth/authorize", params=params)
    assert r.status_code == 302
    assert r.headers["location"].startswith("/login?next=")


async def test_an_expired_session_goes_to_login(
    running_app: FastAPI, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app = await developer_app(client)
    params = await remembered(client, app)
    clock.advance(running_app.state.wtp.settings.session_ttl + 1)
    r = await client.get("/oauth/authorize", params=params)
    assert r.status_code == 302
    assert r.headers["location"].startswith("/login?next=")


async def test_a_removed_redirect_uri_is_an_error_page_at_once(client: httpx.AsyncClient) -> None:
    other = "https://client.example/other"
    app = await developer_app(client, redirect_uris=[REDIRECT_URI, other])
    params = await remembered(client, app)
    r = await client.patch(f"/api/applications/{app.client_id}", json={"redirect_uris": [other]})
    assert r.status_code == 200, r.text
    assert_error_page(await client.get("/oauth/authorize", params=params), "not registered")
    moved = await client.get("/oauth/authorize", params={**params, "redirect_uri": other})
    assert "code" in redirected_to(moved, other)


async def test_a_deleted_application_is_an_error_page_at_once(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    params = await remembered(client, app)
    assert (await client.delete(f"/api/applications/{app.client_id}")).status_code == 204
    assert_error_page(await client.get("/oauth/authorize", params=params), "no application")


async def test_the_error_page_of_a_signed_in_user_can_sign_out(
    client: httpx.AsyncClient,
) -> None:
    account = await sign_up(client)
    page = await client.get("/oauth/authorize", params={"client_id": "no-such-client"})
    assert_error_page(page, "no application")
    assert f"Signed in as <strong>{account.username}</strong>" in page.text
    r = await client.post("/logout", data={"csrf_token": hidden(page.text, "csrf_token")})
    assert r.status_code == 303
    assert (await client.get("/api/users/@me/authorizations")).status_code == 401


async def test_the_authorize_link_opens_no_orm_session_with_remembered_consent(
    running_app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It runs on the token store alone; the consent form still uses the ORM."""
    state = running_app.state.wtp
    app = await developer_app(client)
    await get_code(client, app)
    opened: list[str] = []
    factory = state.session_factory

    def counting() -> object:
        opened.append("session")
        return factory()

    monkeypatch.setattr(state, "session_factory", counting)
    behind_proxy = httpx.ASGITransport(app=running_app, root_path="/auth")
    async with httpx.AsyncClient(
        transport=behind_proxy, base_url=TEST_ISSUER + "/auth", cookies=client.cookies
    ) as routed:
        # Served by the hot paths, then by FastAPI's router (under a root_path).
        for http in (client, routed):
            assert "code" in redirected_to(
                await http.get("/oauth/authorize", params=authorize_params(app))
            )
    assert opened == []
    await consent(client, authorize_params(app, "user.email"))
    assert opened
