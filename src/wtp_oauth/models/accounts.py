"""People and their browser sessions."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from wtp_oauth.models.types import UTCDateTime


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: str = Field(primary_key=True, max_length=32)
    username: str = Field(max_length=32)
    # Lower-cased copies carry the case-insensitive uniqueness (SPEC §3).
    username_key: str = Field(max_length=32, unique=True)
    email: str = Field(max_length=320)
    email_key: str = Field(max_length=320, unique=True)
    password_hash: str = Field(max_length=255)
    display_name: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # When the profile last changed (OpenID Connect ``updated_at``); None: never since creation.
    updated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class BrowserSession(SQLModel, table=True):
    """A signed-in browser; the cookie holds a token whose digest is the key."""

    __tablename__ = "sessions"

    token_digest: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="users.id", ondelete="CASCADE", index=True, max_length=32)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    # When the user's password was checked for this session (OpenID Connect ``auth_time``).
    auth_time: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # An opaque id of this session for ID tokens (``sid``): random, never derived from the cookie.
    sid: str = Field(unique=True, index=True, max_length=32)
