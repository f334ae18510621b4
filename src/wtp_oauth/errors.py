"""OAuth errors: one class per RFC 6749 / RFC 6750 error code.

Services raise these; the HTTP layer renders them in one place (JSON for the token endpoints,
a redirect or an error page for authorize, ``WWW-Authenticate`` for bearer checks).
"""

from __future__ import annotations


class OAuthError(Exception):
    """An error with an RFC error code; ``description`` is safe to show to the client."""

    error: str = "server_error"
    status_code: int = 400

    def __init__(self, description: str = "", *, headers: dict[str, str] | None = None) -> None:
        super().__init__(description or self.error)
        self.description = description
        self.headers = headers or {}


class InvalidRequest(OAuthError):
    """RFC 6749 §5.2: malformed, missing or repeated parameter."""

    error = "invalid_request"


class InvalidClient(OAuthError):
    """RFC 6749 §5.2: client authentication failed; answered with 401."""

    error = "invalid_client"
    status_code = 401


class InvalidGrant(OAuthError):
    """RFC 6749 §5.2: the code or refresh token is invalid, expired, revoked or not yours."""

    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    """RFC 6749 §5.2: the client may not use this grant type (SPEC §11)."""

    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    """RFC 6749 §4.1.2.1: the user said no."""

    error = "access_denied"
    status_code = 403


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class LoginRequired(OAuthError):
    """OpenID Connect Core §3.1.2.6, used with ``prompt=none``."""

    error = "login_required"


class ConsentRequired(OAuthError):
    error = "consent_required"


class RequestNotSupported(OAuthError):
    """OpenID Connect Core §3.1.2.6: the ``request`` parameter (a request object)."""

    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    """OpenID Connect Core §3.1.2.6: the ``request_uri`` parameter."""

    error = "request_uri_not_supported"


class TooManyAttempts(OAuthError):
    """Throttled after repeated failures; answered with 429 and ``Retry-After``.

    SPEC §16: ``temporarily_unavailable`` (RFC 6749 §5.2 has no throttling code; never
    ``slow_down``, which RFC 8628 gives another meaning).
    """

    error = "temporarily_unavailable"
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many failed attempts; try again later.",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class InvalidToken(OAuthError):
    """RFC 6750 §3.1: the access token is expired, revoked, malformed or unknown."""

    error = "invalid_token"
    status_code = 401


class InsufficientScope(OAuthError):
    """RFC 6750 §3.1: the token lacks a scope the resource needs."""

    error = "insufficient_scope"
    status_code = 403

    def __init__(self, scope: str) -> None:
        super().__init__(f"This request needs the scope '{scope}'.")
        self.scope = scope


class ServiceUnavailable(Exception):
    """The database could not be reached; answered with 503."""


class DomainError(Exception):
    """An error of the JSON API (outside the OAuth endpoints), rendered as ``{"detail": …}``."""

    status_code = 400

    def __init__(self, detail: str | list[dict[str, object]]) -> None:
        super().__init__(str(detail))
        self.detail = detail


class NotSignedIn(DomainError):
    status_code = 401


class InvalidCredentials(DomainError):
    status_code = 401


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class InvalidInput(DomainError):
    """Input that parsed but breaks a rule; 422 with FastAPI's detail shape."""

    status_code = 422

    def __init__(self, loc: list[str | int], message: str) -> None:
        super().__init__([{"type": "value_error", "loc": loc, "msg": message}])
