"""scopes.py: the scope list as data, parsing in every dialect, a stable format."""

from __future__ import annotations

import pytest

from wtp_oauth.errors import InvalidScope
from wtp_oauth.scopes import SCOPES, SCOPES_BY_NAME, format_scope, parse_scope, requested_scopes

READ_EMAIL = frozenset({"user.read", "user.email"})


def test_the_scopes_of_the_spec() -> None:
    # SPEC §7, and OpenID Connect's (SPEC §12).
    assert [scope.name for scope in SCOPES] == [
        "user.read",
        "user.email",
        "user.write",
        "openid",
        "profile",
        "email",
        "offline_access",
    ]
    assert set(SCOPES_BY_NAME) == {scope.name for scope in SCOPES}
    for scope in SCOPES:
        assert scope.description and scope.consent_text


@pytest.mark.parametrize(
    "values",
    [
        ["user.read user.email"],
        ["user.read+user.email"],
        ["user.read,user.email"],
        ["user.read, user.email"],
        ["user.read", "user.email"],
        ["user.read", "user.email", "user.read"],
        ["user.read user.read+user.email,user.email"],
        ["  user.read   user.email  "],
        ["user.read,,user.email"],
    ],
)
def test_requested_scopes_in_every_dialect(values: list[str]) -> None:
    assert requested_scopes(values) == READ_EMAIL


def test_nothing_requested_is_an_empty_set() -> None:
    assert requested_scopes([]) == frozenset()
    assert requested_scopes(["", " , + "]) == frozenset()


@pytest.mark.parametrize(
    "values", [["admin"], ["user.read admin"], ["user.read", "user.delete"], ["USER.READ"]]
)
def test_unknown_scope_is_invalid_scope(values: list[str]) -> None:
    with pytest.raises(InvalidScope) as caught:
        requested_scopes(values)
    assert caught.value.error == "invalid_scope"
    assert "/api/oauth/scopes" in caught.value.description


def test_unknown_scope_description_stays_short() -> None:
    with pytest.raises(InvalidScope) as caught:
        requested_scopes(["x" * 5000 + " " + " ".join(f"bad{i}" for i in range(100))])
    assert len(caught.value.description) < 400


def test_format_scope_uses_the_lists_order() -> None:
    assert format_scope({"user.write", "user.read"}) == "user.read user.write"
    assert format_scope(frozenset({"user.email", "user.write", "user.read"})) == (
        "user.read user.email user.write"
    )
    assert format_scope(set()) == ""


def test_parse_scope_round_trips() -> None:
    assert parse_scope(format_scope(READ_EMAIL)) == READ_EMAIL
    assert parse_scope("") == frozenset()
