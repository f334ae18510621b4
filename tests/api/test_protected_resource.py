"""RFC 9728 for the user API: its metadata documents, and ``resource_metadata`` in every
bearer challenge, which is how an agent finds this server from the API alone (SPEC §13)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import TEST_ISSUER
from tests.helpers import register_client, sign_up, tokens_for

DOCUMENT = f"{TEST_ISSUER}/.well-known/oauth-protected-resource/api"


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-protected-resource/api", "/.well-known/oauth-protected-resource"]
)
async def test_the_user_api_describes_itself(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 200
    assert r.json() == {
        "resource": f"{TEST_ISSUER}/api",
        "authorization_servers": [TEST_ISSUER],
        "scopes_supported": ["user.read", "user.email", "user.write"],
        "bearer_methods_supported": ["header"],
        "resource_name": "Wants to Party user API",
        "resource_documentation": f"{TEST_ISSUER}/developers/docs/user",
    }
    # RFC 9728 §3.3: the resource is the URL whose well-known document this is.
    assert DOCUMENT.replace("/.well-known/oauth-protected-resource", "") == r.json()["resource"]


def _metadata_of(challenge: str) -> str | None:
    found = re.search(r'resource_metadata="([^"]+)"', challenge)
    return found.group(1) if found else None


async def test_every_bearer_failure_points_at_the_document(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    app = await register_client(client)
    issued = await tokens_for(client, app, "user.email")
    cases = {
        "no token": await client.get("/api/users/@me"),
        "unknown token": await client.get(
            "/api/users/@me", headers={"Authorization": "Bearer wtpa_unknown"}
        ),
        "wrong scheme": await client.get("/api/users/@me", headers={"Authorization": "Basic x"}),
        "insufficient scope": await client.get(
            "/api/users/@me", headers={"Authorization": f"Bearer {issued['access_token']}"}
        ),
        "another route": await client.get("/api/users/someone"),
    }
    for case, r in cases.items():
        assert r.status_code in {401, 403}, case
        assert _metadata_of(r.headers["www-authenticate"]) == DOCUMENT, case
    # And the document leads to this server's own metadata (RFC 8414), as an agent follows it.
    document = (await client.get(DOCUMENT)).json()
    (server,) = document["authorization_servers"]
    metadata = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["issuer"] == server
