"""The authorization endpoint: validate, sign in, consent, issue a code (RFC 6749 §4.1.1–4.1.2).

Errors about the client or its redirect URI are shown to the user and never redirected
(RFC 6749 §4.1.2.1, RFC 9700 §4.11): the redirect URI is not yet trusted. Every other error
goes back to the client with ``error``, ``state`` and ``iss`` (RFC 9207). A request waiting for
consent is stored, bound to the browser session; the consent form carries only its id, so a
user editing hidden fields cannot change what is granted or where it is sent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from sqlmodel.ext.asyncio.session import AsyncSession

from wtp_oauth.clock import Clock
from wtp_oauth.config import Settings
from wtp_oauth.errors import (
    AccessDenied,
    ConsentRequired,
    InvalidRequest,
    InvalidScope,
    LoginRequired,
    OAuthError,
    UnsupportedResponseType,
)
from wtp_oauth.models import (
    Application,
    AuthorizationCode,
    AuthorizationRequest,
    BrowserSession,
    Consent,
    User,
)
from wtp_oauth.repositories.applications import ApplicationRepository
from wtp_oauth.repositories.grants import GrantRepository
from wtp_oauth.scopes import format_scope, parse_scope, requested_scopes
from wtp_oauth.security import pkce
from wtp_oauth.security.redirect_uris import matches_registered
from wtp_oauth.security.text import has_control, is_identifier
from wtp_oauth.security.tokens import digest, new_id, new_secret

PENDING_REQUEST_TTL = timedelta(minutes=30)
PROMPTS = frozenset({"none", "login", "consent"})
# Parameters that may appear more than once (SPEC §5 lets scopes repeat).
_REPEATABLE = frozenset({"scope", "scopes"})
_MAX_STATE = 2000


class InvalidAuthorizationRequest(Exception):
    """Shown on an error page (400), never redirected: the client or redirect URI is bad."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class ValidRequest:
    application: Application
    owner: User
    redirect_uri: str
    scopes: frozenset[str]
    state: str | None
    code_challenge: str | None
    prompt: frozenset[str]


@dataclass(frozen=True, slots=True)
class Redirect:
    """Send the browser to the client: a code or an error."""

    url: str


@dataclass(frozen=True, slots=True)
class NeedsLogin:
    """Send the browser through ``/login`` and back to ``next_path``."""

    next_path: str


@dataclass(frozen=True, slots=True)
class NeedsConsent:
    request_id: str
    request: ValidRequest


Outcome = Redirect | NeedsLogin | NeedsConsent


def _single(params: list[tuple[str, str]], name: str) -> str | None:
    values = [value for key, value in params if key == name]
    return values[0] if values else None


class Authorization:
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self._apps = ApplicationRepository(session)
        self._grants = GrantRepository(session)
        self._settings = settings
        self._clock = clock

    def _redirect(self, redirect_uri: str, params: dict[str, str | None]) -> Redirect:
        query = urlencode({k: v for k, v in params.items() if v is not None})
        separator = "&" if "?" in redirect_uri else "?"
        return Redirect(redirect_uri + separator + query)

    def error_redirect(self, error: OAuthError, redirect_uri: str, state: str | None) -> Redirect:
        """RFC 6749 §4.1.2.1 with RFC 9207's ``iss``."""
        return self._redirect(
            redirect_uri,
            {
                "error": error.error,
                "error_description": error.description or None,
                "state": state,
                "iss": self._settings.issuer,
            },
        )

    async def _trusted_client(self, params: list[tuple[str, str]]) -> tuple[Application, User, str]:
        counts = Counter(key for key, _ in params)
        client_id = _single(params, "client_id")
        if not client_id:
            raise InvalidAuthorizationRequest("The request has no client_id.")
        if counts["client_id"] > 1 or counts["redirect_uri"] > 1:
            raise InvalidAuthorizationRequest("client_id and redirect_uri may be sent only once.")
        found = await self._apps.with_owner(client_id) if is_identifier(client_id) else None
        if found is None:
            raise InvalidAuthorizationRequest("There is no application with this client_id.")
        application, owner = found
        redirect_uri = _single(params, "redirect_uri")
        if not redirect_uri:
            raise InvalidAuthorizationRequest("The request has no redirect_uri.")
        if not matches_registered(redirect_uri, application.redirect_uris):
            raise InvalidAuthorizationRequest(
                "This redirect_uri is not registered for this application."
            )
        return application, owner, redirect_uri

    def _checked(
        self, params: list[tuple[str, str]], application: Application
    ) -> tuple[frozenset[str], str | None, frozenset[str]]:
        """Scopes, PKCE challenge and prompt, or an ``OAuthError`` to redirect."""
        repeated = sorted(
            key
            for key, n in Counter(key for key, _ in params).items()
            if n > 1 and key not in _REPEATABLE
        )
        if repeated:
            raise InvalidRequest(f"Parameter sent more than once: {repeated[0][:40]}.")
        response_type = _single(params, "response_type")
        if not response_type:
            raise InvalidRequest("The response_type parameter is required.")
        if response_type != "code":
            raise UnsupportedResponseType("Only response_type=code is supported.")
        scope_values = [value for key, value in params if key in _REPEATABLE]
        scopes = requested_scopes(scope_values)
        if not scopes:
            raise InvalidScope("Request at least one scope (the 'scopes' or 'scope' parameter).")
        challenge = _single(params, "code_challenge")
        method = _single(params, "code_challenge_method")
        if challenge or method:
            if method != "S256":
                raise InvalidRequest("code_challenge_method must be S256 (plain is not allowed).")
            if not challenge or not pkce.is_valid_challenge(challenge):
                raise InvalidRequest("code_challenge must be 43 base64url characters (S256).")
        elif application.is_public:
            raise InvalidRequest("Public clients must use PKCE (code_challenge with S256).")
        prompt = frozenset((_single(params, "prompt") or "").split())
        if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
            raise InvalidRequest("prompt must be none, login or consent.")
        return scopes, challenge or None, prompt

    async def validate(self, params: list[tuple[str, str]]) -> ValidRequest | Redirect:
        """Check the request; a bad client or redirect URI raises, anything else redirects."""
        application, owner, redirect_uri = await self._trusted_client(params)
        state = _single(params, "state")
        if state is not None and (len(state) > _MAX_STATE or has_control(state)):
            # Not echoed: RFC 6749 Appendix A.5 allows only visible characters in state.
            return self.error_redirect(
                InvalidRequest("state is too long or holds control characters."),
                redirect_uri,
                None,
            )
        try:
            scopes, challenge, prompt = self._checked(params, application)
        except OAuthError as error:
            return self.error_redirect(error, redirect_uri, state)
        return ValidRequest(application, owner, redirect_uri, scopes, state, challenge, prompt)

    async def decide(
        self,
        params: list[tuple[str, str]],
        request: ValidRequest,
        signed_in: tuple[BrowserSession, User] | None,
    ) -> Outcome:
        """Sign in, reuse a remembered consent, or ask (SPEC §5; OIDC Core §3.1.2.1 prompt)."""
        if signed_in is None or "login" in request.prompt:
            if "none" in request.prompt:
                return self.error_redirect(
                    LoginRequired("The user is not signed in."), request.redirect_uri, request.state
                )
            # After signing in, come back without prompt=login so the loop ends.
            again = [(k, v) for k, v in params if k != "prompt"]
            rest = " ".join(sorted(request.prompt - {"login"}))
            if rest:
                again.append(("prompt", rest))
            return NeedsLogin("/oauth/authorize?" + urlencode(again))
        browser_session, user = signed_in
        consent = await self._grants.consent(user.id, request.application.client_id)
        remembered = consent is not None and request.scopes <= parse_scope(consent.scope)
        if remembered and "consent" not in request.prompt:
            return await self._issue_code(request, user)
        if "none" in request.prompt:
            return self.error_redirect(
                ConsentRequired("The user has not granted these scopes."),
                request.redirect_uri,
                request.state,
            )
        request_id = new_secret()
        now = self._clock()
        await self._grants.add_request(
            AuthorizationRequest(
                id_digest=digest(request_id),
                session_digest=browser_session.token_digest,
                client_id=request.application.client_id,
                redirect_uri=request.redirect_uri,
                scope=format_scope(request.scopes),
                state=request.state,
                code_challenge=request.code_challenge,
                created_at=now,
                expires_at=now + PENDING_REQUEST_TTL,
            )
        )
        return NeedsConsent(request_id=request_id, request=request)

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
        request = ValidRequest(
            application=application,
            owner=owner,
            redirect_uri=stored.redirect_uri,
            scopes=parse_scope(stored.scope),
            state=stored.state,
            code_challenge=stored.code_challenge,
            prompt=frozenset(),
        )
        if not allow:
            return self.error_redirect(
                AccessDenied("The user denied the request."), stored.redirect_uri, stored.state
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
        return await self._issue_code(request, user)

    async def _issue_code(self, request: ValidRequest, user: User) -> Redirect:
        code = new_secret()
        now = self._clock()
        await self._grants.add_code(
            AuthorizationCode(
                code_digest=digest(code),
                client_id=request.application.client_id,
                user_id=user.id,
                redirect_uri=request.redirect_uri,
                scope=format_scope(request.scopes),
                code_challenge=request.code_challenge,
                family_id=new_id(),
                created_at=now,
                expires_at=now + timedelta(seconds=self._settings.code_ttl),
            )
        )
        return self._redirect(
            request.redirect_uri,
            {"code": code, "state": request.state, "iss": self._settings.issuer},
        )
