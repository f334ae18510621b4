"""What the OAuth core runs with: its storage, the settings and the clock (injected in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from wtp_oauth.clock import Clock
from wtp_oauth.config import Settings
from wtp_oauth.oauth.clients import ClientStorage
from wtp_oauth.oauth.endpoints.storage import TokenStorage
from wtp_oauth.oauth.grants.authorization_code.storage import AuthorizeStorage, CodeStorage
from wtp_oauth.oauth.grants.device_code.storage import DeviceCodeStorage
from wtp_oauth.oauth.grants.refresh_token.storage import RefreshTokenStorage
from wtp_oauth.oauth.keys import KeyRing


class Storage(
    ClientStorage, CodeStorage, RefreshTokenStorage, TokenStorage, AuthorizeStorage, Protocol
):
    """Every storage interface of the core, as one database's implementation provides them.

    Each piece of the core uses only the small interface declared beside it; this union is
    what ``app.py`` builds once per database and hands around.
    """

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class OAuthContext:
    store: Storage
    settings: Settings
    clock: Clock
    # The device grant's storage (RFC 8628), on the same database connections as ``store``.
    device_codes: DeviceCodeStorage
    # The ID tokens' signing keys (``oauth/keys.py``), kept loaded by the application.
    keys: KeyRing
