"""A Python SDK generated from ``openapi.json`` (openapi-python-client) imports, reads well and
works against a real server: every step a third-party client takes (SPEC §9)."""

from __future__ import annotations

import base64
import contextlib
import html
import re
import secrets
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.conftest import LiveServer
from tests.helpers import PASSWORD, REDIRECT_URI, unique
from tests.sdk.conftest import import_all


def test_every_module_imports(python_sdk: ModuleType) -> None:
    names = import_all(python_sdk)
    for module in ("create_token", "create_token_legacy", "revoke_token", "introspect_token"):
        assert f"wtp_sdk.api.oauth.{module}" in names


def test_models_have_readable_names(python_sdk: ModuleType) -> None:
    from wtp_sdk import models

    exported = set(models.__all__)
    for name in (
        "AuthorizationServerMetadata",
        "ErrorDetail",
        "OAuthErrorOut",
        "TokenOut",
        "IntrospectionOut",
        "CreateTokenBody",
        "Profile",
    ):
        assert name in exported, name
    # No names made up from an operation and its response (…Response…), nor JSON twins of
    # the form bodies: one body per operation.
    assert not [name for name in exported if "Response" in name or "JsonBody" in name]


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden input {name}"
    return html.unescape(match.group(1))


def _code(browser: httpx.Client, client_id: str, scopes: str) -> str:
    """Open the authorize link as the signed-in user and allow (as tests/helpers.py does)."""
    state = "st-" + secrets.token_hex(4)
    params = {
        "client_id": client_id,
        "scopes": scopes,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "state": state,
    }
    r = browser.get("/oauth/authorize", params=params)
    if r.status_code == 200:
        form = {
            "request_id": _hidden(r.text, "request_id"),
            "csrf_token": _hidden(r.text, "csrf_token"),
            "decision": "allow",
        }
        r = browser.post("/oauth/authorize", data=form)
    assert r.status_code in (302, 303), r.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}
    assert query["state"] == state
    return query["code"]


def _basic(client_id: str, secret: str) -> str:
    return base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_a_third_party_client_built_on_the_sdk(
    python_sdk: ModuleType, live_server: LiveServer
) -> None:
    from wtp_sdk import AuthenticatedClient, Client
    from wtp_sdk.api.accounts import create_session, create_user
    from wtp_sdk.api.applications import create_application
    from wtp_sdk.api.discovery import get_authorization_server_metadata
    from wtp_sdk.api.oauth import create_token, create_token_legacy, introspect_token, revoke_token
    from wtp_sdk.api.users import (
        get_current_user,
        get_user,
        list_my_authorizations,
        update_current_user,
    )
    from wtp_sdk.models import (
        ApplicationCreate,
        ApplicationCreated,
        AuthorizationServerMetadata,
        CreateTokenBody,
        CreateTokenBodyGrantType,
        CreateTokenLegacyBody,
        ErrorDetail,
        IntrospectionOut,
        IntrospectTokenBody,
        OAuthErrorOut,
        Profile,
        ProfileUpdate,
        PublicProfile,
        RevokeTokenBody,
        SessionCreate,
        TokenOut,
        UserCreate,
    )

    base = live_server.url
    with contextlib.ExitStack() as opened:

        def client(**options: Any) -> Any:
            return opened.enter_context(Client(base_url=base, **options))

        def authenticated(token: str, **options: Any) -> Any:
            return opened.enter_context(AuthenticatedClient(base_url=base, token=token, **options))

        meta = get_authorization_server_metadata.sync(client=client())
        assert isinstance(meta, AuthorizationServerMetadata)
        assert meta.token_endpoint == f"{base}/api/oauth/token"

        # Sign up and sign in: the session cookie stays in the SDK client's cookie jar.
        user = client()
        username = unique("sdk")
        created = create_user.sync(
            client=user,
            body=UserCreate(username=username, email=f"{username}@example.com", password=PASSWORD),
        )
        assert isinstance(created, PublicProfile) and created.username == username
        wrong = create_session.sync_detailed(
            client=user, body=SessionCreate(username=username, password="not the password")
        )
        assert wrong.status_code == 401 and isinstance(wrong.parsed, ErrorDetail)
        signed_in = create_session.sync_detailed(
            client=user, body=SessionCreate(username=username, password=PASSWORD)
        )
        assert signed_in.status_code == 204
        taken = create_user.sync_detailed(
            client=user,
            body=UserCreate(username=username, email=f"{username}@example.com", password=PASSWORD),
        )
        assert taken.status_code == 409 and isinstance(taken.parsed, ErrorDetail)

        app = create_application.sync(
            client=user,
            body=ApplicationCreate(name="SDK Planner", redirect_uris=[REDIRECT_URI]),
        )
        assert isinstance(app, ApplicationCreated)
        assert isinstance(app.client_secret, str) and app.client_secret.startswith("wtps_")
        client_id, secret = app.client_id, app.client_secret
        scopes = "user.read user.write"
        browser = user.get_httpx_client()

        # The guide's way: JSON with grand_type, the secret as a Bearer token. The schema
        # documents the form body; the SDK's own HTTP client sends the JSON.
        guide = authenticated(secret)
        r = guide.get_httpx_client().post(
            "/api/oauth/token",
            json={
                "code": _code(browser, client_id, scopes),
                "grand_type": "authorization_code",
                "client_id": client_id,
            },
        )
        assert r.status_code == 200, r.text
        assert TokenOut.from_dict(r.json()).token_type == "Bearer"
        # The guide's parameters and credentials, form-encoded through the SDK, at /api/token.
        legacy = create_token_legacy.sync(
            client=guide,
            body=CreateTokenLegacyBody(
                code=_code(browser, client_id, scopes),
                grand_type="authorization_code",
                client_id=client_id,
            ),
        )
        assert isinstance(legacy, TokenOut), legacy

        # The standard way: form-encoded, HTTP Basic.
        basic = authenticated(_basic(client_id, secret), prefix="Basic")
        issued = create_token.sync(
            client=basic,
            body=CreateTokenBody(
                grant_type=CreateTokenBodyGrantType.AUTHORIZATION_CODE,
                code=_code(browser, client_id, scopes),
                redirect_uri=REDIRECT_URI,
            ),
        )
        assert isinstance(issued, TokenOut), issued
        assert issued.scope == scopes and isinstance(issued.refresh_token, str)
        again = create_token.sync(
            client=basic,
            body=CreateTokenBody(grant_type=CreateTokenBodyGrantType.AUTHORIZATION_CODE, code="x"),
        )
        assert isinstance(again, OAuthErrorOut) and again.error == "invalid_grant"

        refreshed = create_token.sync(
            client=basic,
            body=CreateTokenBody(
                grant_type=CreateTokenBodyGrantType.REFRESH_TOKEN,
                refresh_token=issued.refresh_token,
            ),
        )
        assert isinstance(refreshed, TokenOut), refreshed
        access = refreshed.access_token

        holder = authenticated(access)
        me = get_current_user.sync(client=holder)
        assert isinstance(me, Profile) and me.username == username
        renamed = update_current_user.sync(
            client=holder, body=ProfileUpdate(display_name="SDK User")
        )
        assert isinstance(renamed, Profile) and renamed.display_name == "SDK User"
        missing = get_user.sync_detailed(client=holder, user_id="no-such-user")
        assert missing.status_code == 404 and isinstance(missing.parsed, ErrorDetail)
        unauthenticated = get_current_user.sync_detailed(client=authenticated("wtpa_unknown"))
        assert unauthenticated.status_code == 401 and isinstance(
            unauthenticated.parsed, ErrorDetail
        )

        authorizations = list_my_authorizations.sync(client=user)
        assert isinstance(authorizations, list)
        assert [a.client_id for a in authorizations] == [client_id]

        described = introspect_token.sync(client=basic, body=IntrospectTokenBody(token=access))
        assert isinstance(described, IntrospectionOut) and described.active is True
        assert described.username == username
        revoked = revoke_token.sync_detailed(client=basic, body=RevokeTokenBody(token=access))
        assert revoked.status_code == 200
        after: Any = introspect_token.sync(client=basic, body=IntrospectTokenBody(token=access))
        assert isinstance(after, IntrospectionOut) and after.active is False
        assert get_current_user.sync_detailed(client=holder).status_code == 401
