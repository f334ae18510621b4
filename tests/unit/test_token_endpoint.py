"""oauth/params.py ``grant_type_of``: the guide's ``grand_type`` and RFC's name."""

from __future__ import annotations

import pytest

from wtp_oauth.errors import InvalidRequest
from wtp_oauth.oauth.params import grant_type_of


@pytest.mark.parametrize(
    "params",
    [
        {"grant_type": "authorization_code"},
        {"grand_type": "authorization_code"},
        {"grant_type": "authorization_code", "grand_type": "authorization_code"},
        {"grant_type": "authorization_code", "grand_type": ""},
        {"grant_type": "", "grand_type": "authorization_code"},
    ],
)
def test_either_spelling(params: dict[str, str]) -> None:
    assert grant_type_of(params) == "authorization_code"


def test_unknown_values_are_passed_on_for_the_registry_to_refuse() -> None:
    assert grant_type_of({"grand_type": "password"}) == "password"


def test_both_and_different_is_invalid_request() -> None:
    with pytest.raises(InvalidRequest, match="disagree"):
        grant_type_of({"grant_type": "authorization_code", "grand_type": "refresh_token"})


@pytest.mark.parametrize("params", [{}, {"grant_type": ""}, {"grand_type": ""}, {"code": "x"}])
def test_missing_is_invalid_request(params: dict[str, str]) -> None:
    with pytest.raises(InvalidRequest, match="required"):
        grant_type_of(params)
