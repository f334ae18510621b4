"""The device authorization grant's rules (RFC 8628): pure functions, no I/O.

**User codes** (RFC 8628 §6.1, §5.1). Eight letters from the 20 consonants
``BCDFGHJKLMNPQRSTVWXZ`` (no vowels, so no words; no digits, so no 0/O or 1/I mix-ups), shown
as ``XXXX-XXXX`` and accepted in any case, with or without the dash and spaces. That is
20^8 = 25,600,000,000 codes, log2(20^8) ≈ 34.6 bits, the RFC's own example.

What a guesser can do with it: a code lives ``WTP_DEVICE_CODE_TTL`` (600 s by default), and the
verification page counts wrong codes per signed-in account (``WTP_LOGIN_FAILURE_LIMIT``, 10 by
default) and per address (ten times that, 100) in any 15 minutes. One address therefore gets at
most 100 guesses during a code's whole life: the chance that they hit one given code is
100 / 2.56e10 ≈ 3.9e-9 ≈ 2^-27.9, and one account's 10 guesses 3.9e-10 ≈ 2^-31.3, about the
2^-32 that RFC 8628 §5.1 takes as its yardstick. Guessing at random, an attacker hits *some*
live code N times as often when N codes are live at once (1,000 live codes: 3.9e-6 per address
and lifetime). What a hit wins is small (§5.1): the attacker can only allow the request with
their *own* account, so the victim's device signs in as the attacker, or deny it, and the
victim starts again; the attacker never gains the victim's account. Operators who want more
margin lower ``WTP_DEVICE_CODE_TTL`` or ``WTP_LOGIN_FAILURE_LIMIT``. Failures are never cleared
by a correct code (unlike a sign-in's): anyone can make a device code of their own, so a correct
code proves nothing.

**Device codes** carry 256 random bits and are stored only as digests (§5.2): guessing them is
hopeless, and each works once.

**Polling** (§3.5): what one poll of a stored row does at a given time, in the order they are
checked: another client's or an unknown code is ``invalid_grant``; a redeemed one too (a replay,
which revokes the tokens it gave); an expired one ``expired_token``; a denied one
``access_denied``; an allowed one is redeemed once; a pending one is ``authorization_pending``,
or ``slow_down`` if it was polled less than its interval ago — the interval then grows by
5 seconds for this and every later poll (§3.5) and is stored.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from wtp_oauth.errors import InvalidGrant, InvalidScope, OAuthError
from wtp_oauth.oauth.grants.device_code.errors import (
    AuthorizationPending,
    DeviceAccessDenied,
    ExpiredToken,
    InvalidTarget,
    SlowDown,
)
from wtp_oauth.oauth.grants.device_code.storage import DeviceCodeRow, Polled
from wtp_oauth.scopes import format_scope, requested_scopes

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
USER_CODE_SPACE = len(USER_CODE_ALPHABET) ** USER_CODE_LENGTH
USER_CODE_BITS = USER_CODE_LENGTH * math.log2(len(USER_CODE_ALPHABET))
# Longer input is not a user code with some spaces in it, whatever it is.
MAX_TYPED_LENGTH = 32
# Separators a person may type, or a device may show, between the letters.
_SEPARATORS = str.maketrans("", "", " \t-\u2010\u2011\u2012\u2013\u2014\u2212")

SLOW_DOWN_STEP = 5
# Wrong codes counted per account, and this many times as many per address, in THROTTLE_WINDOW.
ADDRESS_FACTOR = 10
THROTTLE_WINDOW = timedelta(minutes=15)


def new_user_code() -> str:
    """A fresh user code in normalised form (eight letters, no dash), from a CSPRNG."""
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def display_user_code(user_code: str) -> str:
    """``WDJBMJHT`` → ``WDJB-MJHT``, as the device shows it."""
    half = USER_CODE_LENGTH // 2
    return f"{user_code[:half]}-{user_code[half:]}"


def normalise_user_code(typed: str) -> str | None:
    """What a person typed as the stored form of a user code, or None if it cannot be one.

    Case, spaces and dashes do not matter (RFC 8628 §6.1); anything else outside the alphabet
    (a vowel, a digit) means it is not a code at all, which costs the guesser nothing and is not
    worth a database lookup.
    """
    if len(typed) > MAX_TYPED_LENGTH:
        return None
    code = typed.translate(_SEPARATORS).upper()
    if len(code) != USER_CODE_LENGTH or any(c not in USER_CODE_ALPHABET for c in code):
        return None
    return code


def guess_limits(user_id: str, address: str, limit: int) -> dict[str, int]:
    """The throttle subjects one wrong code counts against, and each one's limit (§5.1).

    Counted per account rather than per browser session: a session belongs to one account, and
    signing in again must not start a fresh count.
    """
    return {f"device:user:{user_id}": limit, f"device:ip:{address}": limit * ADDRESS_FACTOR}


def requested_scope(values: list[str]) -> str:
    """The scope of a device authorization request, from ``scope`` and the developer guide's
    ``scopes``; as at the authorization endpoint, at least one known scope (RFC 6749 §3.3)."""
    scopes = requested_scopes(values)
    if not scopes:
        raise InvalidScope("Request at least one scope (the 'scope' or 'scopes' parameter).")
    return format_scope(scopes)


def check_resource(resource: str | None, issuer: str) -> None:
    """RFC 8707: the only resource this server issues tokens for so far is its user API."""
    if resource is not None and resource != f"{issuer}/api":
        raise InvalidTarget(f"Unknown resource; the user API is {issuer}/api.")


class Poll(StrEnum):
    """What one poll of the token endpoint comes to (RFC 8628 §3.5)."""

    ISSUED = "issued"
    REPLAYED = "replayed"
    UNKNOWN = "unknown"
    EXPIRED = "expired_token"
    DENIED = "access_denied"
    PENDING = "authorization_pending"
    SLOW_DOWN = "slow_down"


def polled_too_soon(row: DeviceCodeRow, now: datetime) -> bool:
    """Less than the row's interval since its last poll."""
    if row.last_polled_at is None:
        return False
    return now - row.last_polled_at < timedelta(seconds=row.poll_interval)


def decide(row: DeviceCodeRow | None, client_id: str, now: datetime) -> Poll:
    """What a poll by ``client_id`` at ``now`` does to ``row`` (``ISSUED``: redeem it)."""
    if row is None or row.client_id != client_id:
        return Poll.UNKNOWN
    if row.consumed_at is not None:
        return Poll.REPLAYED
    if row.expires_at <= now:
        return Poll.EXPIRED
    if row.denied_at is not None:
        return Poll.DENIED
    if row.approved_at is not None:
        return Poll.ISSUED
    return Poll.SLOW_DOWN if polled_too_soon(row, now) else Poll.PENDING


def next_interval(row: DeviceCodeRow, now: datetime) -> int:
    """The interval a pending row keeps after a poll at ``now``: 5 seconds more if too soon."""
    return row.poll_interval + SLOW_DOWN_STEP if polled_too_soon(row, now) else row.poll_interval


def outcome(polled: Polled, client_id: str, now: datetime) -> Poll:
    """What a poll came to, from the row the storage looked at and whether it redeemed it.

    Tokens stored are issued whatever the row looked like (it may have been allowed while the
    poll waited for it); a row that should have been redeemed but was not lost a race against
    another poll of the same code, which is a replay.
    """
    if polled.issued:
        return Poll.ISSUED
    decision = decide(polled.seen, client_id, now)
    return Poll.REPLAYED if decision is Poll.ISSUED else decision


def refusal(poll: Poll, row: DeviceCodeRow | None) -> OAuthError:
    """The RFC 8628 §3.5 error for a poll that issued nothing."""
    if poll is Poll.PENDING:
        return AuthorizationPending("The user has not answered yet; keep polling.")
    if poll is Poll.SLOW_DOWN:
        assert row is not None
        wait = row.poll_interval + SLOW_DOWN_STEP
        return SlowDown(f"Polling too fast: wait at least {wait} seconds between requests.")
    if poll is Poll.DENIED:
        return DeviceAccessDenied("The user denied the request.")
    if poll is Poll.EXPIRED:
        return ExpiredToken("The device code has expired; start again.")
    if poll is Poll.REPLAYED:
        return InvalidGrant(
            "The device code was already used; the tokens issued for it are revoked."
        )
    return InvalidGrant("The device code is invalid or was issued to another client.")
