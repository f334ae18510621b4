"""security/pkce.py: RFC 7636 with S256 only."""

from __future__ import annotations

import pytest

from wtp_oauth.security import pkce

# RFC 7636 Appendix B.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_s256_matches_rfc_7636_appendix_b() -> None:
    assert pkce.s256(RFC_VERIFIER) == RFC_CHALLENGE


def test_another_verifier_has_another_challenge() -> None:
    assert pkce.s256(RFC_VERIFIER[:-1] + "Y") != RFC_CHALLENGE
    # plain: the challenge itself is not a verifier for it.
    assert pkce.s256(RFC_CHALLENGE) != RFC_CHALLENGE


@pytest.mark.parametrize(
    ("verifier", "valid"),
    [
        ("a" * 43, True),
        ("a" * 128, True),
        ("A-._~z" * 8, True),
        ("a" * 42, False),
        ("a" * 129, False),
        ("a" * 42 + "+", False),
        ("a" * 42 + "/", False),
        ("a" * 42 + " ", False),
        ("a" * 42 + "é", False),
        ("", False),
    ],
)
def test_verifier_syntax(verifier: str, valid: bool) -> None:
    assert pkce.is_valid_verifier(verifier) is valid


@pytest.mark.parametrize(
    ("challenge", "valid"),
    [
        (RFC_CHALLENGE, True),
        (RFC_CHALLENGE[:-1], False),
        (RFC_CHALLENGE + "A", False),
        (RFC_CHALLENGE[:-1] + "=", False),
        (RFC_CHALLENGE[:-1] + "+", False),
        ("", False),
    ],
)
def test_challenge_syntax(challenge: str, valid: bool) -> None:
    assert pkce.is_valid_challenge(challenge) is valid
