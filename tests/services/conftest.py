"""Fixtures of the service tests: the services called directly, on the real databases.

``party`` holds a user with a browser session and three applications, created through the
services; ``party.code(...)`` runs the authorization service (``Authorization.authorize``) and
the consent form to obtain a real authorization code, with no HTTP in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pytest
from fastapi import FastAPI

from tests.api import conftest as api_fixtures
from tests.conftest import FakeClock
from tests.helpers import PASSWORD, REDIRECT_URI, query_of, unique
from wtp_oauth.models import BrowserSession, RefreshToken, User
from wtp_oauth.oauth.clients import ClientCheck, client_check, credentials_from
from wtp_oauth.oauth.context import OAuthContext
from wtp_oauth.oauth.endpoints.token import exchange
from wtp_oauth.oauth.grants.authorization_code.authorize import (
    Authorization,
    NeedsConsent,
    Redirect,
)
from wtp_oauth.oauth.records import (
    AccessTokenRecord,
    ClientRecord,
    RefreshTokenRecord,
    UserProfile,
)
from wtp_oauth.oauth.tokens import TokenResponse
from wtp_oauth.schemas import ApplicationCreate, UserCreate
from wtp_oauth.security.tokens import digest
from wtp_oauth.services.accounts import Accounts
from wtp_oauth.services.applications import Applications
from wtp_oauth.services.consent_form import ConsentForm
from wtp_oauth.state import AppState

# The API tests' fixtures: one application per database, a resettable clock, cheap hashing.
cheap_password_hashing = api_fixtures.cheap_password_hashing
shared_clock = api_fixtures.shared_clock
clock = api_fixtures.clock
shared_app = api_fixtures.shared_app
running_app = api_fixtures.running_app

LOOPBACK_URI = "http://127.0.0.1/cb"
# The source address of the services' requests (client failures are counted per address).
ADDRESS = "192.0.2.10"
NATIVE_URI = "com.example.app:/cb"


@dataclass
class Party:
    state: AppState
    clock: FakeClock
    user: User
    session: BrowserSession
    # The session's cookie value.
    session_token: str
    # client_id -> secret (None for the public client)
    secrets: dict[str, str | None] = field(default_factory=dict)
    confidential: str = ""
    other: str = ""
    public: str = ""

    @property
    def env(self) -> OAuthContext:
        return self.state.oauth

    def check(self, client_id: str, secret: str | None = None, **params: str) -> ClientCheck:
        """The client check a request with these credentials asks for, from ADDRESS."""
        body = {"client_id": client_id, **({"client_secret": secret} if secret else {}), **params}
        return client_check(credentials_from(None, body), self.env, ADDRESS)

    async def exchange(
        self, grant_type: str, client_id: str | None = None, **params: str
    ) -> TokenResponse:
        """A token request of ``grant_type`` from ``client_id`` (the confidential client unless
        told) with its own secret, through the token endpoint's logic."""
        client_id = client_id or self.confidential
        secret = self.secrets[client_id]
        body = {"grant_type": grant_type, "client_id": client_id, **params}
        if secret is not None:
            body["client_secret"] = secret
        return await exchange(body, credentials_from(None, body), ADDRESS, self.env)

    async def access_record(self, token: str) -> AccessTokenRecord | None:
        return await self.env.store.find_access_token(digest(token))

    async def refresh_record(self, token: str | None) -> RefreshTokenRecord | None:
        """The refresh token as stored (read with the ORM: no grant reads it back)."""
        assert token is not None
        async with self.state.session_factory() as db:
            row = await db.get(RefreshToken, digest(token))
            if row is None:
                return None
            user = None if row.user_id is None else await db.get(User, row.user_id)
        return RefreshTokenRecord(
            client_id=row.client_id,
            scope=row.scope,
            family_id=row.family_id,
            issued_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            user=None
            if user is None
            else UserProfile(
                id=user.id,
                username=user.username,
                display_name=user.display_name,
                email=user.email,
                created_at=user.created_at,
            ),
            rotated_at=row.rotated_at,
        )

    async def client(self, client_id: str) -> ClientRecord:
        record = await self.env.store.find_client(self.check(client_id))
        assert record is not None
        return record

    async def code(
        self,
        scope: str = "user.read",
        *,
        client_id: str | None = None,
        redirect_uri: str = REDIRECT_URI,
        challenge: str | None = None,
    ) -> str:
        """An authorization code from the authorization service, the user allowing."""
        params = [
            ("client_id", client_id or self.confidential),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("scope", scope),
            ("state", "xyz"),
        ]
        if challenge is not None:
            params += [("code_challenge", challenge), ("code_challenge_method", "S256")]
        async with self.env.store.authorizing() as store:
            authorization = Authorization(store, self.state.settings, self.state.clock)
            _, outcome = await authorization.authorize(self.session_token, params)
        if isinstance(outcome, NeedsConsent):
            async with self.state.session_factory.begin() as db:
                form = ConsentForm(db, self.state.settings, self.state.clock)
                signed_in = (self.session, self.user)
                outcome = await form.answer(outcome.request_id, signed_in, allow=True)
        assert isinstance(outcome, Redirect), outcome
        return query_of(outcome.url)["code"]

    def now(self) -> datetime:
        return self.clock()


@pytest.fixture
async def party(running_app: FastAPI, clock: FakeClock) -> Party:
    state: AppState = running_app.state.wtp
    username = unique()
    async with state.session_factory.begin() as db:
        accounts = Accounts(db, state.session_factory, state.settings, state.clock)
        user = await accounts.register(
            UserCreate(username=username, email=f"{username}@example.com", password=PASSWORD)
        )
        signed_in = await accounts.open_session(user)
        apps = Applications(db, state.clock)
        found = Party(
            state=state,
            clock=clock,
            user=user,
            session=signed_in.session,
            session_token=signed_in.token,
        )
        for attribute, data in (
            (
                "confidential",
                ApplicationCreate(name="Planner", redirect_uris=[REDIRECT_URI, LOOPBACK_URI]),
            ),
            ("other", ApplicationCreate(name="Other", redirect_uris=[REDIRECT_URI])),
            (
                "public",
                ApplicationCreate(name="Native", redirect_uris=[NATIVE_URI], client_type="public"),
            ),
        ):
            registered = await apps.register(user, data)
            setattr(found, attribute, registered.application.client_id)
            found.secrets[registered.application.client_id] = registered.client_secret
    return found
