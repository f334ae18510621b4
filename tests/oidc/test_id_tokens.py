"""ID tokens from the code and refresh grants (SPEC §12, OpenID Connect Core §2, §3.1.3.6)."""

from __future__ import annotations

import httpx

from tests.conftest import FakeClock
from tests.helpers import form_exchange
from tests.oidc.support import code_flow, judged, key_set, nonce, party


async def test_the_code_grant_returns_a_valid_id_token(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app, user = await party(other_client, client)
    sent = nonce()
    tokens = await code_flow(client, app, "openid profile email", nonce=sent)
    claims = judged(
        tokens["id_token"],
        await key_set(client),
        client_id=app.client_id,
        access_token=tokens["access_token"],
        expected_nonce=sent,
        now=int(clock().timestamp()),
    )
    assert claims["sub"] == user.id
    assert claims["preferred_username"] == user.username
    assert claims["email"] == user.email and claims["email_verified"] is False
    assert claims.header["typ"] == "JWT" and claims.header["alg"] == "ES256"

    r = await form_exchange(
        client, app, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert r.status_code == 200, r.text
    again = judged(
        r.json()["id_token"],
        await key_set(client),
        client_id=app.client_id,
        access_token=r.json()["access_token"],
        now=int(clock().timestamp()),
    )
    assert again["sub"] == user.id and again["auth_time"] == claims["auth_time"]
    assert "nonce" not in again and again["sid"] == claims["sid"]
