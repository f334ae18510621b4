"""What the refresh token grant needs of storage (fosite's ``RefreshTokenStorage``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from wtp_oauth.oauth.clients import ClientCheck
from wtp_oauth.oauth.records import Checked, Issued, NewTokens


@dataclass(frozen=True, slots=True)
class StoredRefreshToken:
    """A refresh token's row, as the rotation read it."""

    client_id: str
    scope: str
    family_id: str
    expires_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Rotation:
    """What a rotation looked at (``token``: None if there is no such token) and, when it
    retired the token, what the new tokens carry (``issued``)."""

    token: StoredRefreshToken | None
    issued: Issued | None


class RefreshTokenStorage(Protocol):
    async def rotate_refresh_token(
        self,
        *,
        client: ClientCheck,
        token_digest: str,
        access_scope: str | None,
        tokens: NewTokens,
    ) -> Checked[Rotation]:
        """Retire the refresh token and store ``tokens`` in its family, atomically, if
        ``client`` holds and the token is usable (``rules.refresh_refusal`` is None). The new
        access token gets ``access_scope`` (or the grant's scope when None); the new refresh
        token keeps the grant's scope. Returns the client's record and the token's row as
        they were read."""

    async def revoke_family(self, family_id: str, now: datetime) -> None: ...
