"""Third-party applications (OAuth clients)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON
from sqlmodel import Column, Field, SQLModel

# Re-exported: models.DEFAULT_GRANT_TYPES is where the rest of the code has found it.
from wtp_oauth.grant_types import DEFAULT_GRANT_TYPES as DEFAULT_GRANT_TYPES
from wtp_oauth.grant_types import DEFAULT_ID_TOKEN_ALG
from wtp_oauth.models.types import UTCDateTime


class ClientType(StrEnum):
    """RFC 6749 §2.1."""

    confidential = "confidential"
    public = "public"


class Application(SQLModel, table=True):
    __tablename__ = "applications"

    client_id: str = Field(primary_key=True, max_length=64)
    owner_id: str = Field(foreign_key="users.id", ondelete="CASCADE", index=True, max_length=32)
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=1000)
    client_type: str = Field(default=ClientType.confidential, max_length=16)
    # SHA-256 of the client secret; None for public clients.
    secret_digest: str | None = Field(default=None, unique=True, max_length=64)
    redirect_uris: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # RFC 7591 §2 names of the grants this application may use (SPEC §11).
    grant_types: list[str] = Field(
        default_factory=lambda: list(DEFAULT_GRANT_TYPES),
        sa_column=Column(JSON, nullable=False),
    )
    post_logout_redirect_uris: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    id_token_signed_response_alg: str = Field(default=DEFAULT_ID_TOKEN_ALG, max_length=8)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))

    @property
    def is_public(self) -> bool:
        return self.client_type == ClientType.public


class SecretReveal(SQLModel, table=True):
    """A client secret waiting to be shown once on the portal's page after the POST that made
    it (post/redirect/get): for five minutes, to the browser session that made it, and only
    with the random key the browser holds, since the secret is sealed under that key."""

    __tablename__ = "secret_reveals"

    # SHA-256 of the random key in the browser's cookie.
    id_digest: str = Field(primary_key=True, max_length=64)
    session_digest: str = Field(
        foreign_key="sessions.token_digest", ondelete="CASCADE", index=True, max_length=64
    )
    client_id: str = Field(
        foreign_key="applications.client_id", ondelete="CASCADE", index=True, max_length=64
    )
    # The secret, sealed under the browser's key (``security/sealing.py``); None for a public
    # client, which has none.
    sealed_secret: str | None = Field(default=None, max_length=128)
    # True when the application was just registered, False after a secret rotation.
    created: bool
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
