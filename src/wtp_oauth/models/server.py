"""Server-wide state: generated secrets and the failure log behind throttling."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Column, Field, Index, SQLModel

from wtp_oauth.models.types import UTCDateTime


class ServerSecret(SQLModel, table=True):
    """Secrets the server generates on first start (``WTP_SECRET_KEY`` when unset)."""

    __tablename__ = "server_secrets"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=255)


class AuthFailure(SQLModel, table=True):
    """One failed sign-in or client authentication, keyed by what is throttled.

    ``subject`` is ``user:<name>``, ``ip:<address>`` or ``client:<client_id>``; shared by every
    worker and host through the database.
    """

    __tablename__ = "auth_failures"
    __table_args__ = (Index("ix_auth_failures_subject_at", "subject", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=400)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
