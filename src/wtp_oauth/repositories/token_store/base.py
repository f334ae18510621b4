"""The interface of the token store and the records it returns.

Like fosite's ``AuthorizeCodeStorage`` and ``RefreshTokenStorage``: small, shaped by the grants
that use it. Each redemption is one atomic statement (or one transaction), so of two racing
requests only one can win (STYLE §5). Implementations never decide policy: they consume, insert
and report; the grants decide what a failure means.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ClientRecord:
    client_id: str
    client_type: str
    secret_digest: str | None
    # Failed authentications in the current throttle window.
    recent_failures: int

    @property
    def is_public(self) -> bool:
        return self.client_type == "public"


@dataclass(frozen=True, slots=True)
class NewTokens:
    """Digests and lifetimes of an access/refresh pair about to be stored."""

    access_digest: str
    refresh_digest: str
    issued_at: datetime
    access_expires_at: datetime
    refresh_expires_at: datetime


@dataclass(frozen=True, slots=True)
class Grant:
    """What a redeemed code or refresh token carried over to the new tokens."""

    user_id: str
    scope: str
    access_scope: str
    family_id: str


@dataclass(frozen=True, slots=True)
class CodeRecord:
    client_id: str
    redirect_uri: str
    code_challenge: str | None
    family_id: str
    expires_at: datetime
    consumed_at: datetime | None


@dataclass(frozen=True, slots=True)
class UserProfile:
    id: str
    username: str
    display_name: str
    email: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AccessTokenRecord:
    client_id: str
    scope: str
    family_id: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    user: UserProfile

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


@dataclass(frozen=True, slots=True)
class RefreshTokenRecord:
    client_id: str
    scope: str
    family_id: str
    issued_at: datetime
    expires_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None
    user: UserProfile

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.rotated_at is None and self.expires_at > now


class TokenStore(Protocol):
    async def get_client(self, client_id: str, *, failures_since: datetime) -> ClientRecord | None:
        """The client, with its failed authentications since ``failures_since``."""

    async def record_client_failure(self, client_id: str, now: datetime) -> None: ...

    async def redeem_code(
        self,
        *,
        code_digest: str,
        client_id: str,
        redirect_uri: str | None,
        code_challenge: str | None,
        tokens: NewTokens,
    ) -> Grant | None:
        """Consume the code and store ``tokens`` from it, atomically.

        Only an unconsumed, unexpired code issued to ``client_id`` whose redirect URI equals
        ``redirect_uri`` (when given) and whose challenge equals ``code_challenge`` (both may be
        None) is consumed; otherwise nothing changes and None is returned.
        """

    async def find_code(self, code_digest: str) -> CodeRecord | None: ...

    async def rotate_refresh_token(
        self,
        *,
        token_digest: str,
        client_id: str,
        access_scope: str | None,
        tokens: NewTokens,
    ) -> Grant | None:
        """Retire an active refresh token of ``client_id`` and store ``tokens`` in its family.

        The new access token gets ``access_scope`` (or the grant's scope when None), which
        must lie within the grant's scope; the new refresh token keeps the grant's scope.
        """

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        """Revoke every access and refresh token of one authorization."""

    async def find_access_token(self, token_digest: str) -> AccessTokenRecord | None: ...

    async def find_refresh_token(self, token_digest: str) -> RefreshTokenRecord | None: ...

    async def revoke_access_token(self, token_digest: str, client_id: str, now: datetime) -> None:
        """Revoke one access token, only if ``client_id`` owns it."""

    async def close(self) -> None: ...
