"""Device authorization requests (RFC 8628): one row per device code, from the device's request
through the user's answer to the code's single redemption at the token endpoint.

The device code is stored only as its SHA-256 digest; the user code in its normalised form (eight
letters, upper case, no dash), unique so that a code the user types names one request. Whether
the request is pending, allowed, denied or redeemed is told by ``approved_at``, ``denied_at`` and
``consumed_at``. ``family_id`` is the family of the tokens issued from it, as for an
authorization code, so that a replay can revoke them together (RFC 8628 §5.2–ish, RFC 9700
§4.14.2).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Column, Field, Index, SQLModel

from wtp_oauth.models.types import UTCDateTime


class DeviceCode(SQLModel, table=True):
    __tablename__ = "device_codes"
    __table_args__ = (Index("ix_device_codes_user_code", "user_code", unique=True),)

    device_code_digest: str = Field(primary_key=True, max_length=64)
    user_code: str = Field(max_length=8)
    client_id: str = Field(
        foreign_key="applications.client_id", ondelete="CASCADE", index=True, max_length=64
    )
    # The user who allowed the request; None until then.
    user_id: str | None = Field(
        default=None, foreign_key="users.id", ondelete="CASCADE", index=True, max_length=32
    )
    scope: str = Field(max_length=1000)
    family_id: str = Field(max_length=32)
    # Seconds the device must wait between polls; grows by 5 with every slow_down (RFC 8628 §3.5).
    poll_interval: int
    last_polled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    approved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    denied_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    consumed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
