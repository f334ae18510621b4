"""Issuing tokens: fresh secrets with their digests, and the token response (RFC 6749 §5.1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from wtp_oauth.config import Settings
from wtp_oauth.oauth.records import NewTokens
from wtp_oauth.security.tokens import ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, digest, new_secret


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """RFC 6749 §5.1. ``refresh_token`` is absent when the grant issues none (RFC 6749 §4.4.3);
    ``extra`` carries what extensions add (an ``id_token``, say), after the standard members."""

    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    token_type: str = "Bearer"
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
        }
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        body["scope"] = self.scope
        body.update(self.extra)
        return body


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """Freshly generated tokens: the secrets for the client, the digests for storage."""

    access_token: str
    refresh_token: str | None
    stored: NewTokens

    def response(
        self,
        settings: Settings,
        scope: str,
        *,
        refresh: bool,
        extra: Mapping[str, Any] | None = None,
    ) -> TokenResponse:
        """The response for the tokens that were stored (``refresh``: the refresh token too),
        with what extensions add (``extra``: an ``id_token``, say)."""
        return TokenResponse(
            access_token=self.access_token,
            refresh_token=self.refresh_token if refresh else None,
            expires_in=settings.access_token_ttl,
            scope=scope,
            extra=extra or {},
        )


def new_tokens(settings: Settings, now: datetime, *, refresh: bool = True) -> IssuedTokens:
    """An access token, and a refresh token unless ``refresh`` is False."""
    access = new_secret(ACCESS_TOKEN_PREFIX)
    refresh_token = new_secret(REFRESH_TOKEN_PREFIX) if refresh else None
    return IssuedTokens(
        access_token=access,
        refresh_token=refresh_token,
        stored=NewTokens(
            access_digest=digest(access),
            refresh_digest=None if refresh_token is None else digest(refresh_token),
            issued_at=now,
            access_expires_at=now + timedelta(seconds=settings.access_token_ttl),
            refresh_expires_at=(
                now + timedelta(seconds=settings.refresh_token_ttl) if refresh else None
            ),
        ),
    )
