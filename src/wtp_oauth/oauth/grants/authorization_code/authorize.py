"""The authorization endpoint: validate, sign in, consent, issue a code (RFC 6749 §4.1.1–4.1.2).

Errors about the client or its redirect URI are shown to the user and never redirected
(RFC 6749 §4.1.2.1, RFC 9700 §4.11): the redirect URI is not yet trusted. Every other error
goes back to the client with ``error``, ``state`` and ``iss`` (RFC 9207). A request waiting for
consent is stored, bound to the browser session; the consent form carries only its id, so a
user editing hidden fields cannot change what is granted or where it is sent.

Signing in with a remembered consent is on every client's sign-in path, so it runs on the
token path's storage: one statement reads the browser's session, the client and the consent
(:class:`AuthorizeContext`). The code such a request would get is offered with the lookup as a
hint (:class:`PreparedCode`), which PostgreSQL stores in the same statement when what it reads
allows it; the decision is still made here, from what was read, and the code issued is stored
with ``add_code`` whatever the store did with the hint. Nothing is cached between requests, so
a revoked consent, a deleted application, a closed session or a removed redirect URI count
from the very next request. The consent form's answer is a cold path and stays on the ORM
(``services/consent_form.py``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from wtp_oauth.clock import Clock
from wtp_oauth.config import Settings
from wtp_oauth.errors import (
    ConsentRequired,
    InvalidRequest,
    InvalidScope,
    LoginRequired,
    OAuthError,
    UnsupportedResponseType,
)
from wtp_oauth.oauth.extensions.oidc import hinted_subject, openid_parameters, sign_in_needed
from wtp_oauth.oauth.grants.authorization_code.rules import consent_may_be_skipped
from wtp_oauth.oauth.grants.authorization_code.storage import AuthorizeSession, PreparedCode
from wtp_oauth.oauth.keys import KeyRing
from wtp_oauth.oauth.records import (
    AuthorizeContext,
    ClientApplication,
    NewCode,
    PendingRequest,
    SignedInSession,
)
from wtp_oauth.scopes import format_scope, parse_scope, requested_scopes
from wtp_oauth.security import pkce
from wtp_oauth.security.redirect_uris import MAX_LENGTH, matches_registered
from wtp_oauth.security.text import has_control, is_identifier
from wtp_oauth.security.tokens import digest, new_id, new_secret, session_digest

PENDING_REQUEST_TTL = timedelta(minutes=30)
PROMPTS = frozenset({"none", "login", "consent"})
# Parameters that may appear more than once (SPEC §5 lets scopes repeat).
_REPEATABLE = frozenset({"scope", "scopes"})
_MAX_STATE = 2000
# Dropped from the request that /login sends the browser back to: the sign-in just happened,
# so asking for it again (prompt=login, max_age) would loop, and the user who signed in is
# the one to authorize, whoever an id_token_hint named.
_SATISFIED_BY_SIGNING_IN = frozenset({"prompt", "max_age", "id_token_hint"})


class InvalidAuthorizationRequest(Exception):
    """Shown on an error page (400), never redirected: the client or redirect URI is bad."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class ValidRequest:
    application: ClientApplication
    redirect_uri: str
    scopes: frozenset[str]
    state: str | None
    code_challenge: str | None
    prompt: frozenset[str]
    # OpenID Connect Core §3.1.2.1: echoed in the ID token; the longest a sign-in may be ago;
    # who is expected to sign in; the user an id_token_hint names (its ``sub``).
    nonce: str | None = None
    max_age: int | None = None
    login_hint: str | None = None
    hinted_subject: str | None = None


@dataclass(frozen=True, slots=True)
class Redirect:
    """Send the browser to the client: a code (whose digest is ``code_digest``) or an error."""

    url: str
    code_digest: str | None = None


@dataclass(frozen=True, slots=True)
class NeedsLogin:
    """Send the browser through ``/login`` (its form filled in with ``login_hint``) and back
    to ``next_path``."""

    next_path: str
    login_hint: str | None = None


@dataclass(frozen=True, slots=True)
class NeedsConsent:
    request_id: str
    request: ValidRequest


Outcome = Redirect | NeedsLogin | NeedsConsent


def _bad_state(state: str | None) -> bool:
    # RFC 6749 Appendix A.5 allows only visible characters in state.
    return state is not None and (len(state) > _MAX_STATE or has_control(state))


def _single(params: list[tuple[str, str]], name: str) -> str | None:
    values = [value for key, value in params if key == name]
    return values[0] if values else None


def _redirect(redirect_uri: str, params: dict[str, str | None]) -> Redirect:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "&" if "?" in redirect_uri else "?"
    return Redirect(redirect_uri + separator + query)


def error_redirect(
    settings: Settings, error: OAuthError, redirect_uri: str, state: str | None
) -> Redirect:
    """RFC 6749 §4.1.2.1 with RFC 9207's ``iss``."""
    return _redirect(
        redirect_uri,
        {
            "error": error.error,
            "error_description": error.description or None,
            "state": state,
            "iss": settings.issuer,
        },
    )


def issue_code(
    settings: Settings,
    now: datetime,
    request: ValidRequest,
    user_id: str,
    *,
    auth_time: datetime | None = None,
    sid: str | None = None,
) -> tuple[NewCode, Redirect]:
    """A new code for ``request`` (RFC 6749 §4.1.2): the row to store, and the redirect that
    carries the code, ``state`` and ``iss`` back to the client. ``auth_time`` and ``sid`` are
    the browser session's, for the ID token (OpenID Connect Core §2)."""
    code = new_secret()
    record = NewCode(
        code_digest=digest(code),
        client_id=request.application.client_id,
        user_id=user_id,
        redirect_uri=request.redirect_uri,
        scope=format_scope(request.scopes),
        code_challenge=request.code_challenge,
        family_id=new_id(),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.code_ttl),
        nonce=request.nonce,
        auth_time=auth_time,
        sid=sid,
    )
    return record, _code_redirect(settings, request, code, record.code_digest)


def _code_redirect(
    settings: Settings, request: ValidRequest, code: str, code_digest: str
) -> Redirect:
    params = {"code": code, "state": request.state, "iss": settings.issuer}
    return Redirect(_redirect(request.redirect_uri, params).url, code_digest)


@dataclass(frozen=True, slots=True)
class _Prospect:
    """A code offered to the store with the lookup, and the code itself."""

    code: str
    record: PreparedCode

    def is_for(self, request: ValidRequest) -> bool:
        # The client and the user are the ones the lookup found, as for the request.
        return (
            self.record.redirect_uri == request.redirect_uri
            and self.record.scope == format_scope(request.scopes)
            and self.record.code_challenge == request.code_challenge
            and self.record.nonce == request.nonce
        )

    def as_code(self, client_id: str, session: SignedInSession) -> NewCode:
        record = self.record
        return NewCode(
            code_digest=record.code_digest,
            client_id=client_id,
            user_id=session.user.id,
            redirect_uri=record.redirect_uri,
            scope=record.scope,
            code_challenge=record.code_challenge,
            family_id=record.family_id,
            created_at=record.created_at,
            expires_at=record.expires_at,
            nonce=record.nonce,
            auth_time=session.auth_time,
            sid=session.sid,
        )


# Refused by the token store when the application, or the user's session, was deleted between
# the read and the write (the next request will say which).
_GONE = "This application or your session no longer exists. Start again from the application."


class Authorization:
    """``GET /oauth/authorize`` on the token store (RFC 6749 §4.1.1, OpenID Connect Core
    §3.1.2). ``keys`` verify an ``id_token_hint`` (without them, none is accepted)."""

    def __init__(
        self,
        store: AuthorizeSession,
        settings: Settings,
        clock: Clock,
        keys: KeyRing | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._keys = keys

    async def authorize(
        self, session_token: str | None, params: list[tuple[str, str]] | None
    ) -> tuple[AuthorizeContext, Outcome | InvalidAuthorizationRequest | None]:
        """The request with query ``params`` from the browser whose session cookie holds
        ``session_token``: what was read, and what to do (an error to show, or None when the
        query is not UTF-8 — the session is still looked up, for the page)."""
        now = self._clock()
        # No session cookie, no code: nothing to offer.
        prospect = self._prospect(params, now) if params is not None and session_token else None
        context = await self._context(session_token, params, now, prospect)
        if params is None:
            return context, None
        try:
            checked = self.validate(params, context.application)
            if isinstance(checked, Redirect):
                return context, checked
            return context, await self.decide(params, checked, context, prospect)
        except InvalidAuthorizationRequest as exc:
            return context, exc

    async def _context(
        self,
        session_token: str | None,
        params: list[tuple[str, str]] | None,
        now: datetime,
        prospect: _Prospect | None,
    ) -> AuthorizeContext:
        """The session behind the cookie value ``session_token``, the application the first
        ``client_id`` names and their consent, read together, with ``prospect`` offered."""
        client_id = _single(params, "client_id") if params else None
        return await self._store.authorize_context(
            session_digest=session_digest(session_token),
            client_id=client_id if client_id and is_identifier(client_id) else None,
            now=now,
            prepared=prospect.record if prospect is not None else None,
        )

    def _prospect(self, params: list[tuple[str, str]], now: datetime) -> _Prospect | None:
        """The code these parameters get if the store finds a consent that covers them; None
        when they alone rule a code out (the full check comes after the lookup)."""
        redirect_uri = _single(params, "redirect_uri")
        # Nothing that could not be registered goes to the database (a NUL, say).
        if not redirect_uri or len(redirect_uri) > MAX_LENGTH or has_control(redirect_uri):
            return None
        if _bad_state(_single(params, "state")):
            return None
        try:
            scopes, challenge, prompt = self._checked(params, public=False)
            nonce = openid_parameters(lambda name: _single(params, name)).nonce
        except OAuthError:
            return None
        if prompt & {"login", "consent"}:
            return None
        code = new_secret()
        record = PreparedCode(
            code_digest=digest(code),
            redirect_uri=redirect_uri,
            scope=format_scope(scopes),
            code_challenge=challenge,
            family_id=new_id(),
            created_at=now,
            expires_at=now + timedelta(seconds=self._settings.code_ttl),
            nonce=nonce,
        )
        return _Prospect(code, record)

    def _trusted_client(
        self, params: list[tuple[str, str]], application: ClientApplication | None
    ) -> tuple[ClientApplication, str]:
        counts = Counter(key for key, _ in params)
        client_id = _single(params, "client_id")
        if not client_id:
            raise InvalidAuthorizationRequest("The request has no client_id.")
        if counts["client_id"] > 1 or counts["redirect_uri"] > 1:
            raise InvalidAuthorizationRequest("client_id and redirect_uri may be sent only once.")
        if application is None or application.client_id != client_id:
            raise InvalidAuthorizationRequest("There is no application with this client_id.")
        redirect_uri = _single(params, "redirect_uri")
        if not redirect_uri:
            raise InvalidAuthorizationRequest("The request has no redirect_uri.")
        if not matches_registered(redirect_uri, application.redirect_uris):
            raise InvalidAuthorizationRequest(
                "This redirect_uri is not registered for this application."
            )
        return application, redirect_uri

    def _checked(
        self, params: list[tuple[str, str]], *, public: bool
    ) -> tuple[frozenset[str], str | None, frozenset[str]]:
        """Scopes, PKCE challenge and prompt for a public client or not, or an ``OAuthError``
        to redirect."""
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
        elif public:
            raise InvalidRequest("Public clients must use PKCE (code_challenge with S256).")
        prompt = frozenset((_single(params, "prompt") or "").split())
        if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
            raise InvalidRequest("prompt must be none, login, consent, or login consent.")
        return scopes, challenge or None, prompt

    def validate(
        self, params: list[tuple[str, str]], application: ClientApplication | None
    ) -> ValidRequest | Redirect:
        """Check the request against ``application`` (the one its ``client_id`` names, from
        :meth:`context`); a bad client or redirect URI raises, anything else redirects."""
        application, redirect_uri = self._trusted_client(params, application)
        state = _single(params, "state")
        if _bad_state(state):
            # Not echoed (RFC 6749 Appendix A.5).
            return error_redirect(
                self._settings,
                InvalidRequest("state is too long or holds control characters."),
                redirect_uri,
                None,
            )
        try:
            scopes, challenge, prompt = self._checked(params, public=application.is_public)
            openid = openid_parameters(lambda name: _single(params, name))
            subject = None
            if openid.id_token_hint is not None:
                subject = hinted_subject(
                    self._keys, openid.id_token_hint, self._settings.issuer, self._clock()
                )
        except OAuthError as error:
            return error_redirect(self._settings, error, redirect_uri, state)
        return ValidRequest(
            application,
            redirect_uri,
            scopes,
            state,
            challenge,
            prompt,
            nonce=openid.nonce,
            max_age=openid.max_age,
            login_hint=openid.login_hint,
            hinted_subject=subject,
        )

    async def decide(
        self,
        params: list[tuple[str, str]],
        request: ValidRequest,
        context: AuthorizeContext,
        prospect: _Prospect | None = None,
    ) -> Outcome:
        """Sign in, reuse a remembered consent, or ask (SPEC §5; OIDC Core §3.1.2.1 prompt).

        ``prospect`` is the code offered to the store with the lookup: issued if it is the one
        to issue, so that a store that kept it has nothing more to write.
        """
        signed_in = context.session
        why = sign_in_needed(
            prompt=request.prompt,
            max_age=request.max_age,
            hinted_subject=request.hinted_subject,
            session=signed_in,
            now=self._clock(),
        )
        if why is not None:
            if "none" in request.prompt:
                return error_redirect(
                    self._settings, LoginRequired(why), request.redirect_uri, request.state
                )
            # After signing in, come back without what signing in satisfied, so the loop ends.
            again = [(k, v) for k, v in params if k not in _SATISFIED_BY_SIGNING_IN]
            rest = " ".join(sorted(request.prompt - {"login"}))
            if rest:
                again.append(("prompt", rest))
            return NeedsLogin("/oauth/authorize?" + urlencode(again), request.login_hint)
        assert signed_in is not None
        consent = context.consent_scope
        remembered = (
            consent is not None
            and request.scopes <= parse_scope(consent)
            and consent_may_be_skipped(request.application, request.redirect_uri)
        )
        if remembered and "consent" not in request.prompt:
            if prospect is not None and prospect.is_for(request):
                code = prospect.as_code(request.application.client_id, signed_in)
                redirect = _code_redirect(
                    self._settings, request, prospect.code, prospect.record.code_digest
                )
            else:
                code, redirect = issue_code(
                    self._settings,
                    self._clock(),
                    request,
                    signed_in.user.id,
                    auth_time=signed_in.auth_time,
                    sid=signed_in.sid,
                )
            if not await self._store.add_code(code):
                raise InvalidAuthorizationRequest(_GONE)
            return redirect
        if "none" in request.prompt:
            return error_redirect(
                self._settings,
                ConsentRequired("The user has not granted these scopes."),
                request.redirect_uri,
                request.state,
            )
        request_id = new_secret()
        now = self._clock()
        pending = PendingRequest(
            id_digest=digest(request_id),
            session_digest=signed_in.token_digest,
            client_id=request.application.client_id,
            redirect_uri=request.redirect_uri,
            scope=format_scope(request.scopes),
            state=request.state,
            code_challenge=request.code_challenge,
            created_at=now,
            expires_at=now + PENDING_REQUEST_TTL,
            nonce=request.nonce,
        )
        if not await self._store.add_pending_request(pending):
            raise InvalidAuthorizationRequest(_GONE)
        return NeedsConsent(request_id=request_id, request=request)
