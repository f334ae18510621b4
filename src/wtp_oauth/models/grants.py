"""What users grant: pending requests, consents, codes and tokens.

Every secret (request id, code, token) is stored only as its SHA-256 digest. A *family* is one
authorization: the code and every access and refresh token descended from it share
``family_id``, so a replay can revoke them together (RFC 9700 §4.14.2, §2.2.2).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Column, Field, SQLModel

from wtp_oauth.models.types import UTCDateTime


class SubjectType(StrEnum):
    """Whom a token speaks for: a user who granted it, or the client itself."""

    user = "user"
    client = "client"


class AuthorizationRequest(SQLModel, table=True):
    """A validated authorization request waiting for the user's decision on the consent page."""

    __tablename__ = "authorization_requests"

    id_digest: str = Field(primary_key=True, max_length=64)
    session_digest: str = Field(
        foreign_key="sessions.token_digest", ondelete="CASCADE", index=True, max_length=64
    )
    client_id: str = Field(
        foreign_key="applications.client_id", ondelete="CASCADE", index=True, max_length=64
    )
    redirect_uri: str = Field(max_length=2000)
    scope: str = Field(max_length=1000)
    state: str | None = Field(default=None, max_length=2000)
    code_challenge: str | None = Field(default=None, max_length=128)
    # OpenID Connect Core §3.1.2.1: echoed in the ID token exactly as sent.
    nonce: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class Consent(SQLModel, table=True):
    """Scopes a user has granted to an application; remembered for the next authorization."""

    __tablename__ = "consents"

    user_id: str = Field(
        foreign_key="users.id", ondelete="CASCADE", primary_key=True, max_length=32
    )
    client_id: str = Field(
        foreign_key="applications.client_id",
        ondelete="CASCADE",
        primary_key=True,
        index=True,
        max_length=64,
    )
    scope: str = Field(max_length=1000)
    granted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class AuthorizationCode(SQLModel, table=True):
    __tablename__ = "authorization_codes"
    # Room on each page for the one update a code gets (consumed_at): a HOT update, which
    # touches no index (migration 0002, docs/performance.md).
    __table_args__ = {"postgresql_with": {"fillfactor": 50}}

    code_digest: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(
        foreign_key="applications.client_id", ondelete="CASCADE", index=True, max_length=64
    )
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", index=True, max_length=32)
    redirect_uri: str = Field(max_length=2000)
    scope: str = Field(max_length=1000)
    code_challenge: str | None = Field(default=None, max_length=128)
    family_id: str = Field(index=True, max_length=32)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    consumed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # OpenID Connect: the request's nonce, and the browser session's sign-in time and sid.
    nonce: str | None = Field(default=None, max_length=1000)
    auth_time: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    sid: str | None = Field(default=None, max_length=32)


class AccessToken(SQLModel, table=True):
    __tablename__ = "access_tokens"

    token_digest: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(
        foreign_key="applications.client_id", ondelete="CASCADE", index=True, max_length=64
    )
    # The token's subject (SPEC §13): a user, or with ``subject_type`` "client" (a machine
    # client's own token) no user at all.
    user_id: str | None = Field(
        default=None, foreign_key="users.id", ondelete="CASCADE", index=True, max_length=32
    )
    subject_type: str = Field(default=SubjectType.user, max_length=8)
    scope: str = Field(max_length=1000)
    family_id: str = Field(index=True, max_length=32)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # Not indexed: only purge reads it, with revoked_at, in one pass over the table.
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_tokens"

    token_digest: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(
        foreign_key="applications.client_id", ondelete="CASCADE", index=True, max_length=64
    )
    # The token's subject (SPEC §13): a user, or with ``subject_type`` "client" (a machine
    # client's own token) no user at all.
    user_id: str | None = Field(
        default=None, foreign_key="users.id", ondelete="CASCADE", index=True, max_length=32
    )
    subject_type: str = Field(default=SubjectType.user, max_length=8)
    scope: str = Field(max_length=1000)
    family_id: str = Field(index=True, max_length=32)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # Not indexed: only purge reads it, with revoked_at, in one pass over the table.
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # Set when the token was exchanged for a new one (RFC 9700 §4.14.2 rotation).
    rotated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # Carried from the code through every rotation, so that a refresh's ID token has the
    # sign-in's ``auth_time`` and ``sid`` (OpenID Connect Core §12.2).
    auth_time: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    sid: str | None = Field(default=None, max_length=32)
