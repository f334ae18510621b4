"""oauth/grants/device_code/rules.py: user codes and the polling decision (RFC 8628 §3.5, §5.1,
§6.1), with no I/O and a hand-moved clock."""

from __future__ import annotations

import math
import string
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest

from tests.conftest import FakeClock
from wtp_oauth.errors import InvalidGrant, InvalidScope
from wtp_oauth.oauth.grants.device_code import rules
from wtp_oauth.oauth.grants.device_code.errors import InvalidTarget
from wtp_oauth.oauth.grants.device_code.rules import Poll
from wtp_oauth.oauth.grants.device_code.storage import DeviceCodeRow, Polled

CLIENT = "client-a"

# --- user codes --------------------------------------------------------------------------------


def test_the_alphabet_is_twenty_consonants_without_vowels_or_digits() -> None:
    """RFC 8628 §6.1's example set: no vowels (no words), no digits (no 0/O, 1/I)."""
    assert rules.USER_CODE_ALPHABET == "BCDFGHJKLMNPQRSTVWXZ"
    assert len(set(rules.USER_CODE_ALPHABET)) == 20
    assert not set(rules.USER_CODE_ALPHABET) & set("AEIOUY" + string.digits)


def test_entropy_is_34_6_bits() -> None:
    assert rules.USER_CODE_SPACE == 20**8 == 25_600_000_000
    assert abs(rules.USER_CODE_BITS - 34.575) < 0.001
    assert math.log2(rules.USER_CODE_SPACE) == pytest.approx(rules.USER_CODE_BITS)


def test_new_codes_are_eight_letters_of_the_alphabet_drawn_evenly() -> None:
    codes = [rules.new_user_code() for _ in range(2000)]
    assert all(len(code) == 8 and set(code) <= set(rules.USER_CODE_ALPHABET) for code in codes)
    assert len(set(codes)) == len(codes)
    letters = Counter("".join(codes))
    # 16,000 letters, 800 of each expected: a fair draw stays far inside these bounds.
    assert set(letters) == set(rules.USER_CODE_ALPHABET)
    assert all(600 < n < 1000 for n in letters.values()), letters


def test_codes_are_shown_with_a_dash() -> None:
    assert rules.display_user_code("WDJBMJHT") == "WDJB-MJHT"


@pytest.mark.parametrize(
    "typed",
    [
        "WDJB-MJHT",
        "WDJBMJHT",
        "wdjb-mjht",
        "wdjbmjht",
        "  WdJb MjHt ",
        "WD JB-MJ HT",
        "WDJB\u2013MJHT",  # an en dash, as word processors and chat apps turn '-' into
        "WDJB\u2010MJHT",
    ],
)
def test_case_dashes_and_spaces_do_not_matter(typed: str) -> None:
    assert rules.normalise_user_code(typed) == "WDJBMJHT"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "WDJB-MJH",  # seven letters
        "WDJB-MJHTX",  # nine
        "WDJA-MJHT",  # a vowel: never in a code
        "WDJ1-MJHT",  # a digit
        "WDJB_MJHT",  # an underscore is not a separator
        "WDJB-MJHT" + " " * 30,  # too long to be a code with spaces in it
        "\uff37\uff24\uff2a\uff22-MJHT",  # fullwidth letters look alike but are not these
    ],
)
def test_what_cannot_be_a_code_is_refused(typed: str) -> None:
    assert rules.normalise_user_code(typed) is None


# --- the request -------------------------------------------------------------------------------


def test_scope_from_scope_or_scopes() -> None:
    assert rules.requested_scope(["user.email user.read"]) == "user.read user.email"
    assert rules.requested_scope(["user.read", "user.write"]) == "user.read user.write"
    assert rules.requested_scope(["user.read,user.email"]) == "user.read user.email"
    with pytest.raises(InvalidScope):
        rules.requested_scope([])
    with pytest.raises(InvalidScope):
        rules.requested_scope(["user.read admin"])


def test_only_the_user_api_is_a_resource() -> None:
    rules.check_resource(None, "https://id.example")
    rules.check_resource("https://id.example/api", "https://id.example")
    for other in ("https://id.example", "https://id.example/api/", "https://other.example/api"):
        with pytest.raises(InvalidTarget):
            rules.check_resource(other, "https://id.example")


def test_wrong_codes_count_per_account_and_ten_times_as_many_per_address() -> None:
    assert rules.guess_limits("u1", "10.0.0.1", 10) == {
        "device:user:u1": 10,
        "device:ip:10.0.0.1": 100,
    }


# --- polling -----------------------------------------------------------------------------------


@pytest.fixture
def row(clock: FakeClock) -> DeviceCodeRow:
    """A pending device code, issued to CLIENT just now, never polled."""
    return DeviceCodeRow(
        client_id=CLIENT,
        user_id=None,
        scope="user.read",
        family_id="f1",
        poll_interval=5,
        last_polled_at=None,
        approved_at=None,
        denied_at=None,
        consumed_at=None,
        expires_at=clock() + timedelta(seconds=600),
    )


def test_unknown_and_other_clients_codes(row: DeviceCodeRow, clock: FakeClock) -> None:
    assert rules.decide(None, CLIENT, clock()) is Poll.UNKNOWN
    assert rules.decide(row, "client-b", clock()) is Poll.UNKNOWN
    # Even once allowed, another client learns nothing about the code.
    allowed = replace(row, approved_at=clock(), user_id="u1")
    assert rules.decide(allowed, "client-b", clock()) is Poll.UNKNOWN


def test_pending_then_slow_down_when_polled_within_the_interval(
    row: DeviceCodeRow, clock: FakeClock
) -> None:
    assert rules.decide(row, CLIENT, clock()) is Poll.PENDING
    assert rules.next_interval(row, clock()) == 5
    polled = replace(row, last_polled_at=clock())
    clock.advance(4.9)
    assert rules.decide(polled, CLIENT, clock()) is Poll.SLOW_DOWN
    assert rules.next_interval(polled, clock()) == 10
    clock.advance(0.1)  # exactly the interval: in time
    assert rules.decide(polled, CLIENT, clock()) is Poll.PENDING
    assert rules.next_interval(polled, clock()) == 5


def test_the_grown_interval_is_the_one_that_counts(row: DeviceCodeRow, clock: FakeClock) -> None:
    slowed = replace(row, last_polled_at=clock(), poll_interval=10)
    clock.advance(7)
    assert rules.decide(slowed, CLIENT, clock()) is Poll.SLOW_DOWN
    assert rules.next_interval(slowed, clock()) == 15
    clock.advance(3)
    assert rules.decide(slowed, CLIENT, clock()) is Poll.PENDING


def test_allowed_is_issued_however_fast_it_was_polled(row: DeviceCodeRow, clock: FakeClock) -> None:
    allowed = replace(row, approved_at=clock(), user_id="u1", last_polled_at=clock())
    assert rules.decide(allowed, CLIENT, clock()) is Poll.ISSUED


def test_denied(row: DeviceCodeRow, clock: FakeClock) -> None:
    denied = replace(row, denied_at=clock(), last_polled_at=clock())
    assert rules.decide(denied, CLIENT, clock()) is Poll.DENIED


def test_expired_whatever_else_happened(row: DeviceCodeRow, clock: FakeClock) -> None:
    clock.advance(600)
    for state in (
        row,
        replace(row, denied_at=clock()),
        replace(row, approved_at=clock(), user_id="u1"),
    ):
        assert rules.decide(state, CLIENT, clock()) is Poll.EXPIRED


def test_a_redeemed_code_is_a_replay_even_after_it_expired(
    row: DeviceCodeRow, clock: FakeClock
) -> None:
    used = replace(row, approved_at=clock(), user_id="u1", consumed_at=clock())
    assert rules.decide(used, CLIENT, clock()) is Poll.REPLAYED
    clock.advance(3600)
    assert rules.decide(used, CLIENT, clock()) is Poll.REPLAYED


def test_what_the_storage_did_decides_the_outcome(row: DeviceCodeRow, clock: FakeClock) -> None:
    allowed = replace(row, approved_at=clock(), user_id="u1")
    assert rules.outcome(Polled(allowed, issued=True), CLIENT, clock()) is Poll.ISSUED
    # Allowed while the poll waited for the row: the tokens it stored are issued.
    assert rules.outcome(Polled(row, issued=True), CLIENT, clock()) is Poll.ISSUED
    # Should have been redeemed but was not: another poll of the same code won the race.
    assert rules.outcome(Polled(allowed, issued=False), CLIENT, clock()) is Poll.REPLAYED
    assert rules.outcome(Polled(None, issued=False), CLIENT, clock()) is Poll.UNKNOWN
    assert rules.outcome(Polled(row, issued=False), CLIENT, clock()) is Poll.PENDING


@pytest.mark.parametrize(
    ("poll", "error"),
    [
        (Poll.PENDING, "authorization_pending"),
        (Poll.SLOW_DOWN, "slow_down"),
        (Poll.DENIED, "access_denied"),
        (Poll.EXPIRED, "expired_token"),
        (Poll.REPLAYED, "invalid_grant"),
        (Poll.UNKNOWN, "invalid_grant"),
    ],
)
def test_each_refusal_is_a_400_with_its_rfc_code(
    poll: Poll, error: str, row: DeviceCodeRow
) -> None:
    """RFC 8628 §3.5: all of them are token endpoint errors of RFC 6749 §5.2 (400)."""
    refusal = rules.refusal(poll, row)
    assert refusal.error == error
    assert refusal.status_code == 400
    assert refusal.description


def test_slow_down_says_the_new_interval(row: DeviceCodeRow) -> None:
    assert "10 seconds" in rules.refusal(Poll.SLOW_DOWN, row).description


def test_a_replay_is_invalid_grant() -> None:
    assert isinstance(rules.refusal(Poll.REPLAYED, None), InvalidGrant)
