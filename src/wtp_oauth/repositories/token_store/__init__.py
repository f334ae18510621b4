"""The token store: the hot path's storage, one implementation per database."""

from wtp_oauth.repositories.token_store.base import (
    AccessTokenRecord,
    AuthorizeContext,
    AuthorizeStore,
    Checked,
    ClientApplication,
    ClientCheck,
    ClientRecord,
    CodeRecord,
    Grant,
    NewCode,
    NewTokens,
    PendingRequest,
    RefreshTokenRecord,
    SignedInSession,
    TokenStore,
    UserProfile,
)

__all__ = [
    "AccessTokenRecord",
    "AuthorizeContext",
    "AuthorizeStore",
    "Checked",
    "ClientApplication",
    "ClientCheck",
    "ClientRecord",
    "CodeRecord",
    "Grant",
    "NewCode",
    "NewTokens",
    "PendingRequest",
    "RefreshTokenRecord",
    "SignedInSession",
    "TokenStore",
    "UserProfile",
]
