"""security/passwords.py: argon2 through passlib, and the dummy check for unknown users."""

from __future__ import annotations

import time

from wtp_oauth.security.passwords import hash_password, verify_password

PASSWORD = "correct horse battery"


def test_hash_is_argon2id_and_salted() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("$argon2id$")
    assert first != second
    assert PASSWORD not in first


def test_verify() -> None:
    stored = hash_password(PASSWORD)
    assert verify_password(PASSWORD, stored)
    assert not verify_password(PASSWORD + " ", stored)
    assert not verify_password("", stored)


def test_an_unreadable_hash_is_a_mismatch_not_an_error() -> None:
    assert not verify_password(PASSWORD, "not-a-hash")


def test_without_a_hash_the_answer_is_no_and_costs_a_real_check() -> None:
    stored = hash_password(PASSWORD)
    started = time.perf_counter()
    assert not verify_password("wrong password", stored)
    real = time.perf_counter() - started
    started = time.perf_counter()
    assert not verify_password(PASSWORD, None)
    dummy = time.perf_counter() - started
    # The unknown-user path verifies a dummy hash of the same cost, so timing tells nothing.
    assert dummy > real / 5
