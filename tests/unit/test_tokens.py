"""security/tokens.py: secrets behind scanner-friendly prefixes, stored as SHA-256 digests."""

from __future__ import annotations

import hashlib
import re

from wtp_oauth.security.tokens import (
    ACCESS_TOKEN_PREFIX,
    CLIENT_SECRET_PREFIX,
    REFRESH_TOKEN_PREFIX,
    digest,
    matches_digest,
    new_client_id,
    new_id,
    new_secret,
)

URLSAFE = re.compile(r"[A-Za-z0-9_-]+")


def test_prefixes_are_the_specs() -> None:
    assert ACCESS_TOKEN_PREFIX == "wtpa_"
    assert REFRESH_TOKEN_PREFIX == "wtpr_"
    assert CLIENT_SECRET_PREFIX == "wtps_"


def test_new_secret_carries_its_prefix_and_256_random_bits() -> None:
    for prefix in (ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, CLIENT_SECRET_PREFIX, ""):
        secret = new_secret(prefix)
        assert secret.startswith(prefix)
        body = secret[len(prefix) :]
        # 32 random bytes in unpadded base64url: 43 characters, 6 bits each (>= 128 bits).
        assert len(body) == 43
        assert URLSAFE.fullmatch(body)


def test_new_secrets_do_not_repeat() -> None:
    secrets = {new_secret(ACCESS_TOKEN_PREFIX) for _ in range(2000)}
    assert len(secrets) == 2000


def test_identifiers_are_hex_and_unique() -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", new_id())
    assert re.fullmatch(r"[0-9a-f]{24}", new_client_id())
    assert len({new_client_id() for _ in range(1000)}) == 1000


def test_digest_is_sha256_hex() -> None:
    # FIPS 180-2 test vector.
    assert digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    secret = new_secret(ACCESS_TOKEN_PREFIX)
    assert digest(secret) == hashlib.sha256(secret.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", digest(secret))
    assert secret not in digest(secret)


def test_digest_accepts_any_string() -> None:
    # A lone surrogate (from a hostile JSON body) must not raise.
    assert re.fullmatch(r"[0-9a-f]{64}", digest("\ud800"))


def test_matches_digest() -> None:
    secret = new_secret(CLIENT_SECRET_PREFIX)
    stored = digest(secret)
    assert matches_digest(secret, stored)
    assert not matches_digest(secret + "x", stored)
    assert not matches_digest(stored, stored)
    assert not matches_digest(secret, None)
    assert not matches_digest("", stored)
