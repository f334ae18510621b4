"""The consent form's answer: Allow or Deny on a stored authorization request (RFC 6749 §4.1.2).

A cold path (once per user and application, or when more scopes are asked for), so it stays on
the ORM: taking the pending request, saving the consent and storing the code are one
transaction, committed with the request.

The request may have waited up to 30 minutes, so what authorize checked is checked again
against the application as it is now: its redirect URI must still be registered (SPEC §17),
or nothing is sent there, not even the refusal.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from wtp_oauth.clock import Clock
from wtp_oauth.config import Settings
from wtp_oauth.errors import AccessDenied
from wtp_oauth.models import BrowserSession, Consent, User
from wtp_oauth.oauth.grants.authorization_code.authorize import (
    InvalidAuthorizationRequest,
    Redirect,
    ValidRequest,
    error_redirect,
    issue_code,
)
from wtp_oauth.oauth.records import ClientApplication
from wtp_oauth.repositories.applications import ApplicationRepository
from wtp_oauth.repositories.consents import ConsentRepository
from wtp_oauth.scopes import format_scope, parse_scope
from wtp_oauth.security.redirect_uris import matches_registered
from wtp_oauth.security.tokens import digest


class ConsentForm:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self._apps = ApplicationRepository(session)
        self._grants = ConsentRepository(session)
        self._settings = settings
        self._clock = clock

    async def answer(
        self, request_id: str, signed_in: tuple[BrowserSession, User], allow: bool
    ) -> Redirect:
        """Act on the stored request the consent form names (RFC 6749 §4.1.2)."""
        browser_session, user = signed_in
        now = self._clock()
        stored = await self._grants.take_request(
            digest(request_id), browser_session.token_digest, now
        )
        if stored is None:
            raise InvalidAuthorizationRequest(
                "This authorization request has expired or was already answered."
            )
        found = await self._apps.with_owner(stored.client_id)
        if found is None:
            raise InvalidAuthorizationRequest("There is no application with this client_id.")
        application, owner = found
        # RFC 6749 §3.1.2.4: never redirect to a URI the client does not (any longer) register.
        if not matches_registered(stored.redirect_uri, application.redirect_uris):
            raise InvalidAuthorizationRequest(
                "This redirect_uri is no longer registered for this application, so nothing "
                "was sent to it. Start again from the application."
            )
        request = ValidRequest(
            application=ClientApplication(
                client_id=application.client_id,
                name=application.name,
                description=application.description,
                client_type=application.client_type,
                redirect_uris=application.redirect_uris,
                owner_username=owner.username,
            ),
            redirect_uri=stored.redirect_uri,
            scopes=parse_scope(stored.scope),
            state=stored.state,
            code_challenge=stored.code_challenge,
            prompt=frozenset(),
            nonce=stored.nonce,
        )
        if not allow:
            return error_redirect(
                self._settings,
                AccessDenied("The user denied the request."),
                stored.redirect_uri,
                stored.state,
            )
        previous = await self._grants.consent(user.id, application.client_id)
        granted = request.scopes | (parse_scope(previous.scope) if previous else frozenset())
        await self._grants.save_consent(
            Consent(
                user_id=user.id,
                client_id=application.client_id,
                scope=format_scope(granted),
                granted_at=now,
            )
        )
        code, redirect = issue_code(
            self._settings,
            self._clock(),
            request,
            user.id,
            auth_time=browser_session.auth_time,
            sid=browser_session.sid,
        )
        await self._grants.add_code(code)
        return redirect
