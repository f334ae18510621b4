"""The user's side of the grant (RFC 8628 §3.3): a signed-in user types the code shown on the
device, sees which application asks, and allows or denies it.

Wrong codes are counted against the account and the address (``rules.guess_limits``) in the
failure log that throttles sign-ins, shared by every worker. As there, an attempt is counted
*before* the lookup and taken back if the code is right, so that guesses sent in parallel see
one another; a right code clears nothing (``rules``).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Protocol

from wtp_oauth.clock import Clock
from wtp_oauth.config import Settings
from wtp_oauth.errors import TooManyAttempts
from wtp_oauth.oauth.grants.device_code import rules
from wtp_oauth.oauth.grants.device_code.storage import DeviceCodeStorage, PendingDevice


class FailureLog(Protocol):
    """The failure log behind throttling (``repositories.throttle.ThrottleRepository``)."""

    async def record(self, subjects: list[str], now: datetime) -> list[int]: ...

    async def failures(self, subject: str, since: datetime) -> tuple[int, datetime | None]: ...

    async def forget(self, ids: list[int]) -> None: ...


class MalformedUserCode(Exception):
    """What was typed cannot be a user code (wrong length, a vowel, a digit)."""


class UnknownUserCode(Exception):
    """No device is waiting for this code: wrong, expired or already answered."""


class DeviceVerification:
    def __init__(
        self, storage: DeviceCodeStorage, failures: FailureLog, settings: Settings, clock: Clock
    ) -> None:
        self._storage = storage
        self._failures = failures
        self._settings = settings
        self._clock = clock

    async def look_up(self, typed: str, *, user_id: str, address: str) -> PendingDevice:
        """The request waiting for the code ``typed`` (RFC 8628 §3.3), guesses throttled (§5.1).

        Raises :class:`MalformedUserCode`, :class:`UnknownUserCode` (a counted failure), or
        ``TooManyAttempts`` past the limits.
        """
        user_code = rules.normalise_user_code(typed)
        if user_code is None:
            raise MalformedUserCode(typed)
        now = self._clock()
        limits = rules.guess_limits(user_id, address, self._settings.login_failure_limit)
        attempt = await self._failures.record(list(limits), now)
        for subject, limit in limits.items():
            count, oldest = await self._failures.failures(subject, now - rules.THROTTLE_WINDOW)
            if count > limit:
                await self._failures.forget(attempt)
                wait = (oldest or now) + rules.THROTTLE_WINDOW - now
                raise TooManyAttempts(max(1, math.ceil(wait.total_seconds())))
        found = await self._storage.find_by_user_code(user_code, now)
        if found is None:
            raise UnknownUserCode(user_code)
        await self._failures.forget(attempt)
        return found

    async def answer(self, user_code: str, user_id: str, *, allow: bool) -> bool:
        """Allow or deny the request with this (normalised) user code; False if it expired or
        was answered meanwhile."""
        now = self._clock()
        if allow:
            return await self._storage.approve(user_code, user_id, now)
        return await self._storage.deny(user_code, now)
