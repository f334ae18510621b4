"""oauth/endpoints/bearer.py: reading the access token and the RFC 6750 §3 challenge."""

from __future__ import annotations

import pytest

from wtp_oauth.errors import InsufficientScope, InvalidToken
from wtp_oauth.oauth.endpoints.bearer import MissingToken, access_token_from, challenge


def test_token_from_a_bearer_header() -> None:
    assert access_token_from("Bearer wtpa_abc") == "wtpa_abc"
    assert access_token_from("bearer   wtpa_abc  ") == "wtpa_abc"


@pytest.mark.parametrize("header", [None, ""])
def test_no_header_is_a_missing_token(header: str | None) -> None:
    with pytest.raises(MissingToken) as caught:
        access_token_from(header)
    assert caught.value.status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Bearer   ", "Basic abc", "wtpa_abc"])
def test_a_malformed_header_is_invalid_token(header: str) -> None:
    with pytest.raises(InvalidToken):
        access_token_from(header)


def test_challenge_without_credentials_has_no_error_code() -> None:
    # RFC 6750 §3.1: a request without authentication gets no error code.
    assert challenge(MissingToken("An access token is required.")) == 'Bearer realm="wtp-oauth"'


def test_challenge_for_a_bad_token() -> None:
    value = challenge(InvalidToken("The access token is invalid, expired or revoked."))
    assert value.startswith('Bearer realm="wtp-oauth", error="invalid_token"')
    assert 'error_description="' in value


def test_challenge_for_a_missing_scope_names_the_scope() -> None:
    value = challenge(InsufficientScope("user.write"))
    assert 'error="insufficient_scope"' in value
    assert value.endswith('scope="user.write"')
