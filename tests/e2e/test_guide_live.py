"""The developer guide, step by step, against a real ``wtp-oauth serve`` process.

The token request is the guide's Python snippet, with httpx in place of requests.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.conftest import LiveServer
from tests.helpers import PASSWORD, hidden, unique


def test_guide_flow_on_a_running_server(live_server: LiveServer) -> None:
    base = live_server.url
    with httpx.Client(base_url=base) as developer, httpx.Client(base_url=base) as browser:
        # A developer signs up and registers an application.
        dev = unique("dev")
        assert (
            developer.post(
                "/api/users",
                json={"username": dev, "email": f"{dev}@example.com", "password": PASSWORD},
            ).status_code
            == 201
        )
        assert (
            developer.post("/api/session", json={"username": dev, "password": PASSWORD}).status_code
            == 204
        )
        created = developer.post(
            "/api/applications",
            json={"name": "My site", "redirect_uris": ["https://mysite.com/callback"]},
        ).json()
        CLIENT_ID, CLIENT_SECRET = created["client_id"], created["client_secret"]

        # A user opens the guide's authorize link, signs in through /login, and allows.
        user = unique("user")
        browser.post(
            "/api/users",
            json={"username": user, "email": f"{user}@example.com", "password": PASSWORD},
        )
        link = (
            f"/oauth/authorize?client_id={CLIENT_ID}&scopes=user.read"
            "&redirect_uri=https://mysite.com/callback&response_type=code&state=1234567890"
        )
        r = browser.get(link)
        assert r.status_code == 302
        assert r.headers["location"].startswith("/login?next=")
        login = browser.get(r.headers["location"])
        r = browser.post(
            "/login",
            data={
                "username": user,
                "password": PASSWORD,
                "next": hidden(login.text, "next"),
                "csrf_token": hidden(login.text, "csrf_token"),
            },
        )
        assert r.status_code == 303
        consent = browser.get(r.headers["location"])
        assert consent.status_code == 200
        assert "My site" in consent.text
        r = browser.post(
            "/oauth/authorize",
            data={
                "request_id": hidden(consent.text, "request_id"),
                "csrf_token": hidden(consent.text, "csrf_token"),
                "decision": "allow",
            },
        )
        callback = urlsplit(r.headers["location"])
        assert (
            f"{callback.scheme}://{callback.netloc}{callback.path}" == "https://mysite.com/callback"
        )
        query = parse_qs(callback.query)
        assert query["state"] == ["1234567890"]
        CODE_FROM_URL = query["code"][0]

    # The guide's snippet, as written (requests -> httpx).
    headers = {"Authorization": "Bearer " + CLIENT_SECRET}
    response = httpx.post(
        base + "/api/oauth/token",
        json={"code": CODE_FROM_URL, "grand_type": "authorization_code", "client_id": CLIENT_ID},
        headers=headers,
    )
    access_token = response.json().get("access_token")
    assert response.status_code == 200, response.text
    assert access_token.startswith("wtpa_")

    me = httpx.get(base + "/api/users/@me", headers={"Authorization": "Bearer " + access_token})
    assert me.status_code == 200
    assert me.json()["username"] == user
    assert "email" not in me.json()

    # "Refresh token": the same endpoint, the refresh token in `code`, grand_type changed.
    refreshed = httpx.post(
        base + "/api/token",
        json={
            "code": response.json()["refresh_token"],
            "grand_type": "refresh_token",
            "client_id": CLIENT_ID,
        },
        headers=headers,
    )
    assert refreshed.status_code == 200, refreshed.text
    again = httpx.get(
        base + "/api/users/@me",
        headers={"Authorization": "Bearer " + refreshed.json()["access_token"]},
    )
    assert again.status_code == 200
