"""Sealing a short secret under a random one-time key, so that storage alone cannot read it.

The key stream is HKDF-SHA256 (RFC 5869) of the key, XORed with the text. Each key is random
(256 bits), lives only in the browser that is to see the secret, and seals exactly one text,
so the stream is never reused. This gives confidentiality, not integrity: the caller checks
what it unseals against a digest it trusts (a client secret against its stored digest).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

_SALT = b"wtp-oauth sealing v1"
_INFO = b"one-time key stream"
_HASH_LENGTH = hashlib.sha256().digest_size
# RFC 5869 §2.3: HKDF-Expand gives at most 255 blocks.
MAX_LENGTH = 255 * _HASH_LENGTH


def _key_stream(key: str, length: int) -> bytes:
    """HKDF-Extract then HKDF-Expand (RFC 5869 §2.2, §2.3) of ``key``, ``length`` bytes."""
    if length > MAX_LENGTH:
        raise ValueError(f"can seal at most {MAX_LENGTH} bytes")
    prk = hmac.new(_SALT, key.encode(), hashlib.sha256).digest()
    stream, block = b"", b""
    for counter in range(1, -(-length // _HASH_LENGTH) + 1):
        block = hmac.new(prk, block + _INFO + bytes([counter]), hashlib.sha256).digest()
        stream += block
    return stream[:length]


def seal(text: str, key: str) -> str:
    """``text`` sealed under ``key``, as URL-safe base64."""
    data = text.encode()
    sealed = bytes(a ^ b for a, b in zip(data, _key_stream(key, len(data)), strict=True))
    return base64.urlsafe_b64encode(sealed).decode("ascii")


def unseal(sealed: str, key: str) -> str | None:
    """The text :func:`seal` sealed under ``key``; None if ``sealed`` is not such a text (a
    wrong key gives other text, which the caller's digest check turns away)."""
    try:
        data = base64.b64decode(sealed.encode("ascii"), altchars=b"-_", validate=True)
        if len(data) > MAX_LENGTH:
            return None
        opened = bytes(a ^ b for a, b in zip(data, _key_stream(key, len(data)), strict=True))
        return opened.decode()
    except (binascii.Error, ValueError):
        return None
