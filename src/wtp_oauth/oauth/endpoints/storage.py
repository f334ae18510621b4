"""What the bearer check, introspection and revocation need of storage."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from wtp_oauth.oauth.clients import ClientCheck
from wtp_oauth.oauth.records import AccessTokenRecord, Checked, RefreshTokenRecord


class TokenStorage(Protocol):
    async def find_access_token(self, token_digest: str) -> AccessTokenRecord | None: ...

    async def introspect_token(
        self, *, client: ClientCheck, token_digest: str, refresh: bool
    ) -> Checked[AccessTokenRecord | RefreshTokenRecord]:
        """The access (or refresh) token with this digest if ``client`` holds and the token
        was issued to it; the client's record either way."""

    async def revoke_token(
        self, *, client: ClientCheck, token_digest: str, refresh: bool, now: datetime
    ) -> Checked[None]:
        """If ``client`` holds, revoke one of its own access tokens, or the whole family of
        one of its own refresh tokens; another client's token is left alone."""
