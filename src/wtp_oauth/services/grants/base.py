"""What every grant shares: its environment, the request it sees, the response it returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, TypeVar

from wtp_oauth.clock import Clock
from wtp_oauth.config import Settings
from wtp_oauth.errors import InvalidRequest, OAuthError
from wtp_oauth.oauth.grants.device_code.storage import DeviceCodeStorage
from wtp_oauth.repositories.token_store import ClientRecord, NewTokens, TokenStore
from wtp_oauth.security.tokens import (
    ACCESS_TOKEN_PREFIX,
    REFRESH_TOKEN_PREFIX,
    digest,
    new_secret,
)
from wtp_oauth.services.client_auth import ClientCredentials, authenticate_client

T = TypeVar("T")

# The client of a token request: the credentials it sent, which the grant's statement verifies
# (one round trip), or a client authenticated beforehand.
ClientProof = ClientCredentials | ClientRecord


@dataclass(frozen=True, slots=True)
class GrantEnv:
    """What a grant may use: storage, settings and the clock (injected for tests)."""

    store: TokenStore
    settings: Settings
    clock: Clock
    device_codes: DeviceCodeStorage


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """RFC 6749 §5.1."""

    access_token: str
    refresh_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"

    def as_dict(self) -> dict[str, str | int]:
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
        }


@dataclass(frozen=True, slots=True)
class IssuedPair:
    """A freshly generated token pair: the secrets for the client, the digests for storage."""

    access_token: str
    refresh_token: str
    stored: NewTokens


def new_token_pair(env: GrantEnv) -> IssuedPair:
    now = env.clock()
    access, refresh = new_secret(ACCESS_TOKEN_PREFIX), new_secret(REFRESH_TOKEN_PREFIX)
    return IssuedPair(
        access_token=access,
        refresh_token=refresh,
        stored=NewTokens(
            access_digest=digest(access),
            refresh_digest=digest(refresh),
            issued_at=now,
            access_expires_at=now + timedelta(seconds=env.settings.access_token_ttl),
            refresh_expires_at=now + timedelta(seconds=env.settings.refresh_token_ttl),
        ),
    )


def respond(pair: IssuedPair, scope: str, env: GrantEnv) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=env.settings.access_token_ttl,
        scope=scope,
    )


def required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise InvalidRequest(f"The '{name}' parameter is required.")
    return value


def required_or_alias(params: Mapping[str, str], name: str, alias: str) -> str:
    """``name``, or the developer guide's ``alias`` for it; both sent and different is an error."""
    standard, guide = params.get(name) or None, params.get(alias) or None
    if standard and guide and standard != guide:
        raise InvalidRequest(f"'{name}' and '{alias}' disagree.")
    value = standard or guide
    if not value:
        raise InvalidRequest(f"The '{name}' parameter is required.")
    return value


async def checked_params(parse: Callable[[], T], client: ClientProof, env: GrantEnv) -> T:
    """The grant's parameters, parsed; when they are bad, a client that fails to authenticate
    is still told so first (``invalid_client`` before ``invalid_request``)."""
    try:
        return parse()
    except OAuthError:
        if isinstance(client, ClientCredentials):
            await authenticate_client(client, env)
        raise


class GrantHandler(Protocol):
    """One grant type of the token endpoint (RFC 6749 §4): validate, then issue."""

    grant_type: str

    async def issue(
        self, params: Mapping[str, str], client: ClientProof, env: GrantEnv
    ) -> TokenResponse: ...
