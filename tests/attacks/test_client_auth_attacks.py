"""Threat model of client authentication at the token, revocation and introspection endpoints.

RFC 6749 §2.3 (one method per request), §2.3.1 (Basic), §3.2.1, §5.2 (401 ``invalid_client``
with ``WWW-Authenticate``), §10.10 (credential guessing), RFC 7009 §2.1 and RFC 7662 §2.1 (the
same authentication at revocation and introspection). Each test names the section it enforces.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import httpx
import pytest

from tests.attacks.conftest import World, bearer, no_store
from tests.helpers import Client, get_code

ENDPOINTS = ["/api/oauth/token", "/api/token", "/api/oauth/revoke", "/api/oauth/introspect"]


def _body(path: str, **extra: str) -> dict[str, str]:
    if path.endswith("token"):
        return {"grant_type": "authorization_code", "code": "nothing", **extra}
    return {"token": "wtpa_nothing", **extra}


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def _invalid_client(r: httpx.Response) -> None:
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].split()[0] in {"Basic", "Bearer"}
    assert no_store(r)


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_two_authentication_methods_are_invalid_request(
    shared_world: World, path: str
) -> None:
    """RFC 6749 §2.3: a client must not use more than one authentication method per request."""
    app = shared_world.app
    assert app.client_secret
    r = await shared_world.user.post(
        path,
        data=_body(path, client_id=app.client_id, client_secret=app.client_secret),
        headers=_basic(app.client_id, app.client_secret),
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"
    assert no_store(r)


async def test_bearer_secret_and_body_secret_together_are_invalid_request(world: World) -> None:
    """RFC 6749 §2.3: the guide's Bearer secret plus ``client_secret_post`` is two methods."""
    app = world.app
    assert app.client_secret
    r = await world.user.post(
        "/api/oauth/token",
        json={
            "grand_type": "authorization_code",
            "code": "x",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
        headers=bearer(app.client_secret),
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


async def test_basic_and_body_client_id_must_agree(world: World, rival: Client) -> None:
    """RFC 6749 §2.3.1: the client identified by Basic is the one the request is for; a
    different ``client_id`` in the body is a confused request, not a second identity."""
    app = world.app
    assert app.client_secret
    r = await world.user.post(
        "/api/oauth/token",
        data={"grant_type": "authorization_code", "code": "x", "client_id": rival.client_id},
        headers=_basic(app.client_id, app.client_secret),
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_wrong_secret_is_401_invalid_client(shared_world: World, path: str) -> None:
    """RFC 6749 §5.2: failed client authentication is 401 ``invalid_client`` with the
    ``WWW-Authenticate`` header of the scheme used."""
    r = await shared_world.user.post(
        path, data=_body(path), headers=_basic(shared_world.app.client_id, "wtps_x")
    )
    _invalid_client(r)
    assert r.headers["www-authenticate"].startswith("Basic")


async def test_wrong_bearer_secret_answers_bearer_challenge(world: World) -> None:
    """RFC 6749 §5.2: the challenge matches the scheme the client tried (the guide's Bearer)."""
    r = await world.user.post(
        "/api/oauth/token",
        json={"grand_type": "authorization_code", "code": "x", "client_id": world.app.client_id},
        headers=bearer("wtps_wrong"),
    )
    _invalid_client(r)
    assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "credentials",
    [
        {"client_id": "0" * 24, "client_secret": "wtps_x"},  # unknown client
        {"client_secret": "wtps_x"},  # no client_id
        {},  # nothing at all
    ],
    ids=["unknown-client", "no-client-id", "anonymous"],
)
async def test_unidentified_client_is_401(shared_world: World, credentials: dict[str, str]) -> None:
    """RFC 6749 §3.2.1: the token endpoint never serves an unauthenticated client."""
    r = await shared_world.user.post(
        "/api/oauth/token", data=_body("/api/oauth/token", **credentials)
    )
    _invalid_client(r)


async def test_confidential_client_cannot_pose_as_public(world: World) -> None:
    """RFC 6749 §3.2.1: a confidential client sending only its client_id (as a public client
    would) is refused — the secret is what proves it."""
    code = await get_code(world.user, world.app)
    r = await world.user.post(
        "/api/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": world.app.client_id},
    )
    _invalid_client(r)


async def test_public_client_sending_a_secret_is_refused(world: World, public_app: Client) -> None:
    """RFC 6749 §2.1: a public client has no secret; a presented one proves nothing."""
    r = await world.user.post(
        "/api/oauth/token",
        data=_body("/api/oauth/token"),
        headers=_basic(public_app.client_id, "wtps_anything"),
    )
    _invalid_client(r)


async def test_another_clients_secret_is_refused(world: World, rival: Client) -> None:
    """RFC 6749 §2.3.1: a secret authenticates only its own client."""
    assert rival.client_secret
    r = await world.user.post(
        "/api/oauth/token",
        data=_body("/api/oauth/token"),
        headers=_basic(world.app.client_id, rival.client_secret),
    )
    _invalid_client(r)


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Digest abc",
        "Basic",
    ],
    ids=["bad-base64", "no-colon", "digest", "empty"],
)
async def test_malformed_authorization_header_is_401(
    shared_world: World, authorization: str
) -> None:
    """RFC 6749 §2.3.1 / §5.2: unusable credentials are ``invalid_client``, never a 500."""
    r = await shared_world.user.post(
        "/api/oauth/token",
        data=_body("/api/oauth/token", client_id=shared_world.app.client_id),
        headers={"Authorization": authorization},
    )
    _invalid_client(r)


async def test_rotated_secret_stops_working_at_once(world: World) -> None:
    """RFC 6749 §10.3 / SPEC §4: after rotation the old secret is worthless."""
    old = world.app.client_secret
    assert old
    r = await world.dev.post(f"/api/applications/{world.app.client_id}/secret")
    assert r.status_code == 200
    new = r.json()["client_secret"]
    path = "/api/oauth/introspect"
    _invalid_client(
        await world.user.post(path, data=_body(path), headers=_basic(world.app.client_id, old))
    )
    ok = await world.user.post(path, data=_body(path), headers=_basic(world.app.client_id, new))
    assert ok.status_code == 200


async def test_repeated_failures_for_one_client_are_throttled(world: World, rival: Client) -> None:
    """RFC 6749 §10.10 (guessing credentials): past WTP_LOGIN_FAILURE_LIMIT failures in 15
    minutes, the client is answered 429 with ``Retry-After`` — even with the right secret —
    while other clients are untouched."""
    app = world.app
    assert app.client_secret and rival.client_secret
    path = "/api/oauth/introspect"
    for _ in range(10):
        r = await world.user.post(path, data=_body(path), headers=_basic(app.client_id, "wtps_x"))
        _invalid_client(r)
    r = await world.user.post(
        path, data=_body(path), headers=_basic(app.client_id, app.client_secret)
    )
    assert r.status_code == 429, r.text
    assert int(r.headers["retry-after"]) > 0
    assert no_store(r)
    r = await world.user.post(
        path, data=_body(path), headers=_basic(rival.client_id, rival.client_secret)
    )
    assert r.status_code == 200


async def test_guessing_from_elsewhere_cannot_lock_a_client_out(world: World) -> None:
    """SPEC §16: the client_id is in every sign-in link, so anyone can send wrong secrets for
    it. Failures are counted per client *and source address*: the guesser's address is
    throttled (429 ``temporarily_unavailable``, never RFC 8628's ``slow_down``), while the
    real client, elsewhere, goes on exchanging codes and introspecting."""
    app = world.app
    assert app.client_secret
    path = "/api/oauth/introspect"
    for _ in range(12):
        r = await world.dev.post(path, data=_body(path), headers=_basic(app.client_id, "wtps_x"))
        assert r.status_code in {401, 429}, r.text
    r = await world.dev.post(
        path, data=_body(path), headers=_basic(app.client_id, app.client_secret)
    )
    assert r.status_code == 429, r.text
    assert r.json()["error"] == "temporarily_unavailable"
    assert int(r.headers["retry-after"]) > 0
    # The real client, from its own address: served as ever, at every endpoint.
    r = await world.user.post(
        path, data=_body(path), headers=_basic(app.client_id, app.client_secret)
    )
    assert r.status_code == 200, r.text
    code = await get_code(world.user, app)
    r = await world.user.post(
        "/api/oauth/token",
        data={"grant_type": "authorization_code", "code": code},
        headers=_basic(app.client_id, app.client_secret),
    )
    assert r.status_code == 200, r.text


async def test_secrets_are_compared_in_constant_time(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 6749 §10.10 / STYLE §4: the presented secret's digest goes through
    ``hmac.compare_digest`` (no early-exit comparison leaking a timing oracle)."""
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    presented = "wtps_guess"
    r = await world.user.post(
        "/api/oauth/introspect",
        data=_body("/api/oauth/introspect"),
        headers=_basic(world.app.client_id, presented),
    )
    _invalid_client(r)
    wanted = hashlib.sha256(presented.encode()).hexdigest()
    assert any(wanted in (a, b) for a, b in calls)
