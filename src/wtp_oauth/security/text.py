"""Checks on untrusted text before it reaches storage or a page.

PostgreSQL cannot store a NUL character, and no driver can encode an unpaired surrogate (which
JSON's ``\\ud800`` escapes produce); either would surface as a 500. Such input is refused as
a client error where it enters.
"""

from __future__ import annotations

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def is_storable(value: str) -> bool:
    """No NUL character and no unpaired surrogate: both databases can keep it."""
    return _UNSTORABLE.search(value) is None


def has_control(value: str) -> bool:
    """Whether ``value`` holds a control character (C0 or DEL) or an unpaired surrogate."""
    return _CONTROL.search(value) is not None


def is_identifier(value: str, max_length: int = 64) -> bool:
    """Plausibly an id this server issued (client ids, user ids): short printable ASCII."""
    return 0 < len(value) <= max_length and value.isascii() and value.isprintable()
