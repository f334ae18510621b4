"""security/sealing.py: a secret sealed under a one-time key (HKDF, RFC 5869)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from wtp_oauth.security.sealing import MAX_LENGTH, seal, unseal
from wtp_oauth.security.tokens import CLIENT_SECRET_PREFIX, new_secret


def test_sealed_text_opens_with_its_key_only() -> None:
    secret, key = new_secret(CLIENT_SECRET_PREFIX), new_secret()
    sealed = seal(secret, key)
    assert secret not in sealed and secret[5:20] not in sealed
    assert unseal(sealed, key) == secret
    assert unseal(sealed, new_secret()) != secret
    # A fresh key seals the same text differently.
    assert seal(secret, new_secret()) != sealed


def test_the_key_stream_is_rfc_5869_hkdf_sha256() -> None:
    """Sealing zero bytes shows the key stream; it equals HKDF computed by hand."""
    key = "k" * 43
    prk = hmac.new(b"wtp-oauth sealing v1", key.encode(), hashlib.sha256).digest()
    t1 = hmac.new(prk, b"one-time key stream\x01", hashlib.sha256).digest()
    t2 = hmac.new(prk, t1 + b"one-time key stream\x02", hashlib.sha256).digest()
    stream = base64.urlsafe_b64decode(seal("\x00" * 40, key))
    assert stream == (t1 + t2)[:40]


@pytest.mark.parametrize("sealed", ["not base64!", "%%%", "é", "AAAA" * 3000])
def test_what_is_not_sealed_text_opens_to_none(sealed: str) -> None:
    assert unseal(sealed, new_secret()) is None


def test_there_is_a_limit() -> None:
    with pytest.raises(ValueError, match="at most"):
        seal("x" * (MAX_LENGTH + 1), new_secret())
