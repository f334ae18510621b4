"""Issue 11 §2.5: schemathesis against a running server, on both databases.

Every operation of ``openapi.json`` gets ``EXAMPLES`` generated requests, valid and invalid,
half of them with real credentials (a session cookie, an access token holding every scope, the
client's own Basic credentials) so that they get past authentication. No answer may be a
5xx, and every answer must be documented: its status code, content type, headers and body.

Generation is derandomized, so a run is repeatable and CI sees what a developer saw.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.faults.conftest import Databases, Node
from tests.helpers import PASSWORD, hidden, query_of

pytestmark = pytest.mark.faults

EXAMPLES = 20
# Each valid example of these hashes or verifies a password (argon2, ~0.15 s of a CPU).
FEWER = {"createUser": 10, "createSession": 10}
OPENAPI = json.loads((Path(__file__).parents[2] / "openapi.json").read_text())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
REDIRECT_URI = "https://client.example/callback"
ALL_SCOPES = "user.read user.email user.write"


def _operations() -> Iterator[Any]:
    for path, methods in OPENAPI["paths"].items():
        for method, operation in methods.items():
            yield pytest.param(method.upper(), path, id=operation["operationId"])


@dataclass
class Credentials:
    cookie: str
    access_token: str
    basic: str  # the client's Authorization header


@dataclass
class Target:
    url: str
    credentials: Credentials


def _credentials(base_url: str) -> Credentials:
    """A signed-in user with an application and an access token for every scope."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        account = {"username": "fuzzer", "email": "fuzzer@example.com", "password": PASSWORD}
        assert http.post("/api/users", json=account).status_code == 201
        signed_in = http.post("/api/session", json={"username": "fuzzer", "password": PASSWORD})
        assert signed_in.status_code == 204
        app = http.post(
            "/api/applications", json={"name": "Fuzzed", "redirect_uris": [REDIRECT_URI]}
        ).json()
        params = {
            "client_id": app["client_id"],
            "scopes": ALL_SCOPES,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "state": "fuzz",
        }
        page = http.get("/oauth/authorize", params=params)
        allowed = http.post(
            "/oauth/authorize",
            data={
                "request_id": hidden(page.text, "request_id"),
                "csrf_token": hidden(page.text, "csrf_token"),
                "decision": "allow",
            },
        )
        code = query_of(allowed.headers["location"])["code"]
        pair = (app["client_id"], app["client_secret"])
        tokens = http.post(
            "/api/oauth/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
            auth=pair,
        ).json()
        basic = "Basic " + base64.b64encode(":".join(pair).encode()).decode()
        return Credentials(http.cookies["wtp_session"], tokens["access_token"], basic)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    """``serve`` on a fresh database of its own: fuzzing fails sign-ins by the hundred from
    127.0.0.1, which would throttle every other live test sharing a database."""
    folder = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    databases = Databases(folder)
    server = Node(databases.make(request.param), workers=1)
    try:
        server.start(folder)
        yield Target(server.url, _credentials(server.url))
    finally:
        server.stop()
        databases.drop()


def _sign(case: schemathesis.Case, security: str, credentials: Credentials) -> dict[str, str]:
    """Real credentials for ``case``: the headers to send (and the cookie, set on the case)."""
    if "sessionCookie" in security:
        case.cookies = {**(case.cookies or {}), "wtp_session": credentials.cookie}
        return {}
    if "accessToken" in security:
        return {"Authorization": f"Bearer {credentials.access_token}"}
    if "clientBasic" in security:
        return {"Authorization": credentials.basic}
    return {}


@pytest.mark.parametrize(("method", "path"), list(_operations()))
def test_every_answer_is_documented(method: str, path: str, target: Target) -> None:
    schema = schemathesis.openapi.from_dict(OPENAPI)
    operation = schema[path][method]
    security = json.dumps(OPENAPI["paths"][path][method.lower()].get("security", []))
    # Signing out would end the session the other operations' cases use.
    operation_id = operation.definition.raw["operationId"]
    may_sign = operation_id != "deleteSession"
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=FEWER.get(operation_id, EXAMPLES),
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    @given(case=cases, signed=st.booleans())
    def run(case: schemathesis.Case, signed: bool) -> None:
        headers = _sign(case, security, target.credentials) if signed and may_sign else {}
        response = case.call(base_url=target.url, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS)

    run()


def test_revocation_answer_is_documented(target: Target) -> None:
    operation = schemathesis.openapi.from_dict(OPENAPI)["/api/oauth/revoke"]["POST"]
    case = operation.Case(
        body={"token": "wtpa_unknown"},
        media_type="application/x-www-form-urlencoded",
        headers={"Authorization": target.credentials.basic},
    )
    response = case.call(base_url=target.url, timeout=30)
    assert response.status_code == 200
    case.validate_response(response, checks=CHECKS)
