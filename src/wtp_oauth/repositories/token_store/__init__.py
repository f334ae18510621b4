"""The token store: the hot path's storage, one implementation per database."""

from wtp_oauth.repositories.token_store.base import (
    AccessTokenRecord,
    Checked,
    ClientCheck,
    ClientRecord,
    CodeRecord,
    Grant,
    NewTokens,
    RefreshTokenRecord,
    TokenStore,
    UserProfile,
)

__all__ = [
    "AccessTokenRecord",
    "Checked",
    "ClientCheck",
    "ClientRecord",
    "CodeRecord",
    "Grant",
    "NewTokens",
    "RefreshTokenRecord",
    "TokenStore",
    "UserProfile",
]
