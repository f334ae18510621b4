"""What the device grant and the ``/device`` page need of storage, and the records they trade.

Like fosite's small storage interfaces: exactly the calls the grant (RFC 8628 §3.4–3.5), the
device authorization request (§3.1–3.2) and the verification page (§3.3) make. Implementations
(``wtp_oauth.storage.postgres.device_codes``, ``wtp_oauth.storage.sqlite.device_codes``) make each
state change atomic and return the row they looked at; the rules (``rules.py``) decide what it
means. Device codes are handled as SHA-256 digests only, user codes in their normalised form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from wtp_oauth.oauth.records import NewTokens


@dataclass(frozen=True, slots=True)
class NewDeviceCode:
    """A device authorization request about to be stored (the columns of ``device_codes``)."""

    device_code_digest: str
    user_code: str
    client_id: str
    scope: str
    family_id: str
    poll_interval: int
    created_at: datetime
    expires_at: datetime


class Added(StrEnum):
    """What became of a :class:`NewDeviceCode`."""

    ADDED = "added"
    # Another request holds this user code: draw another one.
    USER_CODE_TAKEN = "user_code_taken"
    # The client was deleted since it authenticated.
    CLIENT_GONE = "client_gone"


@dataclass(frozen=True, slots=True)
class DeviceCodeRow:
    """A device code as a poll found it, before the poll changed anything."""

    client_id: str
    user_id: str | None
    scope: str
    family_id: str
    poll_interval: int
    last_polled_at: datetime | None
    approved_at: datetime | None
    denied_at: datetime | None
    consumed_at: datetime | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Polled:
    """The answer of :meth:`DeviceCodeStorage.poll`: the row it looked at (None: no such device
    code) and whether this poll redeemed it, storing the tokens."""

    seen: DeviceCodeRow | None
    issued: bool


@dataclass(frozen=True, slots=True)
class PendingDevice:
    """A request waiting for its user's answer, as the verification page shows it (§3.3)."""

    user_code: str
    client_id: str
    scope: str
    expires_at: datetime
    application_name: str
    application_description: str
    # None for an application without an owner (self-registered clients, SPEC §14).
    owner_username: str | None


class DeviceCodeStorage(Protocol):
    async def add_device_code(self, code: NewDeviceCode) -> Added:
        """Store a new request, unless its user code is taken or its client is gone."""

    async def find_by_user_code(self, user_code: str, now: datetime) -> PendingDevice | None:
        """The request with this (normalised) user code if it is live at ``now`` and nobody has
        answered it yet."""

    async def approve(self, user_code: str, user_id: str, now: datetime) -> bool:
        """Allow the live, unanswered request with this user code, for ``user_id``; atomically,
        the user's consent to its client comes to cover its scope (so that it shows, and can be
        revoked, under Authorized apps). False if there is no such request any more."""

    async def deny(self, user_code: str, now: datetime) -> bool:
        """Deny the live, unanswered request with this user code; False if there is none."""

    async def poll(
        self, *, device_code_digest: str, client_id: str, now: datetime, tokens: NewTokens
    ) -> Polled:
        """One poll of the token endpoint by the authenticated ``client_id``, atomically.

        Only a live device code (not redeemed, not denied, ``expires_at`` after ``now``) of that
        client changes: its ``last_polled_at`` becomes ``now``; if it was allowed it is redeemed
        (``consumed_at``) and ``tokens`` are stored for its user, scope and family; if it is
        still pending and was polled less than ``poll_interval`` seconds ago, the interval grows
        by ``rules.SLOW_DOWN_STEP``. Of two racing polls of an allowed code only one redeems it.
        The answer holds the row as it was before this poll.
        """
