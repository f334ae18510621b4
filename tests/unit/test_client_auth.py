"""oauth/clients.py ``credentials_from``: exactly one client authentication method."""

from __future__ import annotations

import base64

import pytest

from wtp_oauth.errors import InvalidClient, InvalidRequest
from wtp_oauth.oauth.clients import ClientCredentials, credentials_from


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_basic() -> None:
    found = credentials_from(basic("cid", "wtps_secret"), {})
    assert found == ClientCredentials("cid", "wtps_secret", "client_secret_basic")
    assert found.challenge == 'Basic realm="wtp-oauth"'


def test_basic_scheme_is_case_insensitive() -> None:
    header = basic("cid", "s").replace("Basic", "bAsIc")
    assert credentials_from(header, {}).method == "client_secret_basic"


def test_basic_parts_are_form_urldecoded() -> None:
    # RFC 6749 §2.3.1: client_id and secret are application/x-www-form-urlencoded first.
    found = credentials_from(basic("my%3Aclient", "s%2Bcret+with%20space"), {})
    assert found.client_id == "my:client"
    assert found.client_secret == "s+cret with space"


def test_basic_secret_may_contain_a_colon() -> None:
    assert credentials_from(basic("cid", "a:b"), {}).client_secret == "a:b"


def test_basic_with_the_same_client_id_in_the_body() -> None:
    assert credentials_from(basic("cid", "s"), {"client_id": "cid"}).client_id == "cid"


def test_basic_with_another_client_id_in_the_body() -> None:
    with pytest.raises(InvalidRequest):
        credentials_from(basic("cid", "s"), {"client_id": "other"})


@pytest.mark.parametrize(
    "value", ["Basic !!!notbase64", "Basic " + base64.b64encode(b"no-colon").decode()]
)
def test_malformed_basic_is_invalid_client(value: str) -> None:
    with pytest.raises(InvalidClient) as caught:
        credentials_from(value, {})
    assert caught.value.status_code == 401
    assert caught.value.headers["WWW-Authenticate"].startswith("Basic")


def test_bearer_is_the_guides_way() -> None:
    found = credentials_from("Bearer wtps_secret", {"client_id": "cid"})
    assert found == ClientCredentials("cid", "wtps_secret", "bearer")
    assert found.challenge == 'Bearer realm="wtp-oauth"'


def test_bearer_without_client_id_leaves_it_unknown() -> None:
    assert credentials_from("Bearer wtps_secret", {}).client_id is None


def test_client_secret_post() -> None:
    found = credentials_from(None, {"client_id": "cid", "client_secret": "s"})
    assert found == ClientCredentials("cid", "s", "client_secret_post")


def test_public_client_sends_client_id_only() -> None:
    assert credentials_from(None, {"client_id": "cid"}) == ClientCredentials("cid", None, "none")


def test_no_credentials_at_all() -> None:
    assert credentials_from(None, {}) == ClientCredentials(None, None, "none")
    assert credentials_from("", {"client_id": ""}) == ClientCredentials(None, None, "none")


@pytest.mark.parametrize(
    ("authorization", "params"),
    [
        (basic("cid", "s"), {"client_secret": "s"}),
        (basic("cid", "s"), {"client_id": "cid", "client_secret": "s"}),
        ("Bearer s", {"client_id": "cid", "client_secret": "s"}),
    ],
)
def test_two_methods_at_once_is_invalid_request(authorization: str, params: dict[str, str]) -> None:
    with pytest.raises(InvalidRequest) as caught:
        credentials_from(authorization, params)
    assert caught.value.status_code == 400


@pytest.mark.parametrize("authorization", ["Digest abc", "Bearer", "Basic", "Token x"])
def test_other_authorization_headers_are_invalid_client(authorization: str) -> None:
    with pytest.raises(InvalidClient):
        credentials_from(authorization, {"client_id": "cid"})
