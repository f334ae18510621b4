"""The ID tokens' signing keys (SPEC §12), shared by every node through the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Text
from sqlmodel import Column, Field, SQLModel

from wtp_oauth.models.types import UTCDateTime


class SigningKey(SQLModel, table=True):
    """One signing key: its public JWK in the clear (for ``/.well-known/jwks.json``), its
    private key encrypted with AES-GCM under a key derived from the server's secret key.

    A key is published from ``created_at``, signs from ``activates_at`` until a newer key of
    its ``alg`` activates (``retires_at``), and is dropped by ``purge`` once every ID token it
    signed has expired (``oauth/keys.py`` says why the times are what they are).
    """

    __tablename__ = "signing_keys"

    kid: str = Field(primary_key=True, max_length=64)
    alg: str = Field(max_length=8)
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    private_key: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    activates_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    retires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
