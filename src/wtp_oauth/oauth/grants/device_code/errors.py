"""The error codes RFC 8628 §3.5 adds to the token endpoint's, and RFC 8707's ``invalid_target``.

They belong with the other RFC error classes (``wtp_oauth.errors``) once the OAuth core's own
errors module exists; they live here so that the device grant stays one package until then.
Every one of them is a 400 with RFC 6749 §5.2's JSON body.
"""

from __future__ import annotations

from wtp_oauth.errors import OAuthError


class AuthorizationPending(OAuthError):
    """RFC 8628 §3.5: the user has not answered yet; poll again after the interval."""

    error = "authorization_pending"


class SlowDown(OAuthError):
    """RFC 8628 §3.5: polled faster than the interval, which grows by 5 seconds from now on."""

    error = "slow_down"


class DeviceAccessDenied(OAuthError):
    """RFC 8628 §3.5: the user denied the request (400 here, unlike at the authorization
    endpoint, where ``access_denied`` travels in a redirect)."""

    error = "access_denied"


class ExpiredToken(OAuthError):
    """RFC 8628 §3.5: the device code expired; the device may start again."""

    error = "expired_token"


class InvalidTarget(OAuthError):
    """RFC 8707 §2: the requested ``resource`` is not one this server issues tokens for."""

    error = "invalid_target"


class TemporarilyUnavailable(OAuthError):
    """No free user code could be drawn (the code space is saturated): try again later."""

    error = "temporarily_unavailable"
    status_code = 503
