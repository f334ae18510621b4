"""Issue 11 §2.2: two ``wtp-oauth serve`` processes, one PostgreSQL database.

As behind a load balancer: the same ``WTP_SECRET_KEY`` and ``WTP_ISSUER``, different ports.
Every step of a flow may land on either node; what one node writes, the other one honours at
once: codes, rotations, revocations, sessions, CSRF tokens and sign-in throttling.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.faults.conftest import Node
from tests.faults.traffic import Recorder, create_application, sign_up_and_in
from tests.helpers import PASSWORD, authorize_params, hidden, query_of

pytestmark = pytest.mark.faults

LIMIT = 3  # WTP_LOGIN_FAILURE_LIMIT of both nodes
ENV = {
    "WTP_SECRET_KEY": "several-nodes-share-this-secret-key-0123456789",
    # The public name both nodes answer for (never contacted: nothing fetches it).
    "WTP_ISSUER": "http://oauth.wtp.test",
    "WTP_LOGIN_FAILURE_LIMIT": str(LIMIT),
}


async def test_two_nodes_on_one_database_act_as_one_server(
    fresh_database: Callable[..., str], nodes: Callable[..., Node]
) -> None:
    url = fresh_database("postgres")
    a, b = nodes(url, env=ENV), nodes(url, env=ENV)
    rec = Recorder()
    async with (
        httpx.AsyncClient(base_url=a.url) as dev_a,
        httpx.AsyncClient(base_url=a.url) as on_a,
        httpx.AsyncClient(base_url=b.url) as on_b,
    ):
        await sign_up_and_in(dev_a, rec)
        client = await create_application(dev_a, rec)
        basic = (client.client_id, client.client_secret or "")

        # A user signs in on A; the session cookie works on B.
        username = await sign_up_and_in(on_a, rec)
        cookie = {"wtp_session": on_a.cookies["wtp_session"]}
        on_b.cookies.update(cookie)
        r = await on_b.get("/api/users/@me/authorizations")
        assert r.status_code == 200, r.text

        # The consent page from A, answered on B (its CSRF token signed with the shared key).
        params = authorize_params(client)
        page = await on_a.get("/oauth/authorize", params=params)
        assert page.status_code == 200, page.text
        allowed = await on_b.post(
            "/oauth/authorize",
            data={
                "request_id": hidden(page.text, "request_id"),
                "csrf_token": hidden(page.text, "csrf_token"),
                "decision": "allow",
            },
        )
        assert allowed.status_code == 303, allowed.text
        callback = query_of(allowed.headers["location"])
        assert callback["iss"] == ENV["WTP_ISSUER"]

        # Exchange on B, refresh on A; a code and a refresh token work once across both.
        exchange = {"grant_type": "authorization_code", "code": callback["code"]}
        exchange["redirect_uri"] = client.redirect_uri
        first = await on_b.post("/api/oauth/token", data=exchange, auth=basic)
        assert first.status_code == 200, first.text
        again = await on_a.post("/api/oauth/token", data=exchange, auth=basic)
        assert again.json()["error"] == "invalid_grant", again.text
        # That replay revoked the grant on both nodes (RFC 6749 §4.1.2); start another.
        for node in (on_a, on_b):
            r = await node.post(
                "/api/oauth/introspect", data={"token": first.json()["access_token"]}, auth=basic
            )
            assert r.json() == {"active": False}, r.text
        code = query_of((await on_b.get("/oauth/authorize", params=params)).headers["location"])
        exchange["code"] = code["code"]
        tokens = (await on_a.post("/api/oauth/token", data=exchange, auth=basic)).json()
        refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        refreshed = await on_a.post("/api/oauth/token", data=refresh, auth=basic)
        assert refreshed.status_code == 200, refreshed.text
        newest = refreshed.json()
        for node in (on_a, on_b):
            me = await node.get(
                "/api/users/@me", headers={"Authorization": f"Bearer {newest['access_token']}"}
            )
            assert me.json()["username"] == username, me.text

        # Revoked on B: inactive on both.
        revoked = await on_b.post(
            "/api/oauth/revoke", data={"token": newest["refresh_token"]}, auth=basic
        )
        assert revoked.status_code == 200, revoked.text
        for node in (on_a, on_b):
            for token in (newest["access_token"], newest["refresh_token"]):
                r = await node.post("/api/oauth/introspect", data={"token": token}, auth=basic)
                assert r.json() == {"active": False}, r.text
            me = await node.get(
                "/api/users/@me", headers={"Authorization": f"Bearer {newest['access_token']}"}
            )
            assert me.status_code == 401, me.text

        # Failed sign-ins on A count on B: LIMIT failures in all, then even the right
        # password is refused, on either node.
        wrong = {"username": username, "password": "not the password"}
        for node in (on_a, on_b, on_a)[:LIMIT]:
            r = await node.post("/api/session", json=wrong)
            assert r.status_code == 401, r.text
        right = {"username": username, "password": PASSWORD}
        for node in (on_b, on_a):
            r = await node.post("/api/session", json=right)
            assert r.status_code == 429, r.text
            assert r.headers["retry-after"]

        # And so do a client's failed authentications (SPEC §16).
        bad = (client.client_id, "wtps_wrong")
        for node in (on_b, on_a, on_b)[:LIMIT]:
            r = await node.post("/api/oauth/introspect", data={"token": "x"}, auth=bad)
            assert r.status_code == 401, r.text
        r = await on_a.post("/api/oauth/introspect", data={"token": "x"}, auth=bad)
        assert r.status_code == 429, r.text
