"""Fixtures of the API tests."""

from __future__ import annotations

import pytest
from passlib.context import CryptContext

from wtp_oauth.security import passwords

# argon2 at its defaults costs ~0.1 s a hash here, and these tests create hundreds of accounts.
# They check what the API does with passwords, not argon2's cost (tests/unit/test_passwords.py
# does, with the real parameters), so accounts made here use the cheapest argon2id.
_CHEAP_ARGON2 = CryptContext(
    schemes=["argon2"], argon2__memory_cost=1024, argon2__rounds=1, argon2__parallelism=1
)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "_context", _CHEAP_ARGON2)
