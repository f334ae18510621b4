"""SPEC §16: ``/metrics`` across workers, ``X-Request-ID`` on every answer, JSON logs that
carry it, and no password, secret, code or token in any log line."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer
from tests.helpers import (
    PASSWORD,
    authorize_params,
    consent,
    form_exchange,
    get_code,
    guide_exchange,
    query_of,
    register_client,
    sign_up,
)
from wtp_oauth import cli
from wtp_oauth.logs import scrub_target
from wtp_oauth.metrics import UNMATCHED

# Counters read from the Prometheus text: name{labels} value.
_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _metrics(text: str) -> Samples:
    samples: Samples = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            labels = re.findall(r'(\w+)="([^"]*)"', match.group("labels") or "")
            samples[(match.group("name"), frozenset(labels))] = float(match.group("value"))
    return samples


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(scope="module")
def observed(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``wtp-oauth serve --workers 2 --access-log`` with ``WTP_LOG_FORMAT=json``."""
    server = LiveServer(database_url, env={"WTP_LOG_FORMAT": "json"}, args=["--access-log"])
    server.start(tmp_path_factory.mktemp("observed"))
    try:
        yield server
    finally:
        server.stop()


async def test_every_flow_leaves_no_secret_in_the_logs_and_moves_the_counters(
    observed: LiveServer,
) -> None:
    async with httpx.AsyncClient(base_url=observed.url, timeout=30) as http:
        before = _metrics((await http.get("/metrics")).text)
        secrets_used: list[str] = [PASSWORD]
        account = await sign_up(http)
        wrong = "not-the-password-Zq81"
        secrets_used.append(wrong)
        r = await http.post("/api/session", json={"username": account.username, "password": wrong})
        assert r.status_code == 401
        r = await http.post(
            "/api/session", json={"username": account.username, "password": PASSWORD}
        )
        assert r.status_code == 204
        secrets_used.append(http.cookies["wtp_session"])
        app = await register_client(http, name="Log Checker")
        assert app.client_secret
        secrets_used.append(app.client_secret)
        r = await http.post(f"/api/applications/{app.client_id}/secret")
        assert r.status_code == 200, r.text
        app.client_secret = r.json()["client_secret"]
        secrets_used.append(app.client_secret)

        # Authorize and consent, then both dialects of the exchange.
        params = authorize_params(app)
        r = await consent(http, params)
        code = query_of(r.headers["location"])["code"]
        guide_code = await get_code(http, app)
        secrets_used += [code, guide_code]
        r = await guide_exchange(http, app, guide_code)
        assert r.status_code == 200, r.text
        guide_tokens = r.json()
        r = await form_exchange(
            http, app, grant_type="authorization_code", code=code, redirect_uri=app.redirect_uri
        )
        assert r.status_code == 200, r.text
        tokens = r.json()
        r = await form_exchange(
            http, app, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert r.status_code == 200, r.text
        refreshed = r.json()
        for issued in (guide_tokens, tokens, refreshed):
            secrets_used += [issued["access_token"], issued["refresh_token"]]
        access = refreshed["access_token"]
        auth = (app.client_id, app.client_secret)
        r = await http.post("/api/oauth/introspect", data={"token": access}, auth=auth)
        assert r.json()["active"] is True
        r = await http.post("/api/oauth/revoke", data={"token": access}, auth=auth)
        assert r.status_code == 200
        wrong_secret = "wtps_" + "x" * 43
        secrets_used.append(wrong_secret)
        r = await http.post(
            "/api/oauth/introspect", data={"token": access}, auth=(app.client_id, wrong_secret)
        )
        assert r.status_code == 401
        # A careless client puts secrets in a query string: the access log hides them.
        r = await http.get(
            "/api/users/@me",
            params={"access_token": guide_tokens["access_token"], "code": code},
            headers={"X-Request-ID": "obs-check.1"},
        )
        assert r.status_code == 401
        assert r.headers["x-request-id"] == "obs-check.1"
        bearer = {"Authorization": f"Bearer {guide_tokens['access_token']}"}
        for _ in range(3):
            assert (await http.get(f"/api/users/{account.id}", headers=bearer)).status_code == 200
        assert (await http.get("/no/such/page")).status_code == 404
        after = _metrics((await http.get("/metrics")).text)

    observed.stop()
    log = observed.log()

    # Counted across both workers, by route template.
    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    requests = "wtp_http_requests_total"
    assert moved(requests, method="GET", route="/api/users/{user_id}", status="200") == 3
    assert moved(requests, method="POST", route="/api/oauth/token", status="200") == 3
    assert moved(requests, method="GET", route=UNMATCHED, status="404") == 1
    assert not [key for key in after if ("route", "/no/such/page") in key[1]]
    assert moved("wtp_http_request_duration_seconds_count", route="/api/users/{user_id}") == 3
    assert moved("wtp_tokens_issued_total", grant_type="authorization_code") == 2
    assert moved("wtp_tokens_issued_total", grant_type="refresh_token") == 1
    assert moved("wtp_oauth_errors_total", error="invalid_client") == 1
    assert moved("wtp_signin_failures_total") == 1
    pools = {dict(labels)["pool"] for name, labels in after if name == "wtp_db_pool_size"}
    assert pools, "no pool gauges"
    assert all(_value(after, "wtp_db_pool_size", pool=pool) > 0 for pool in pools)

    # One JSON object per line, each with a request id; the access log's carries ours.
    lines = [line for line in log.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert all(isinstance(record, dict) and "request_id" in record for record in records)
    access = [record for record in records if record["logger"] == "uvicorn.access"]
    assert any(r["request_id"] == "obs-check.1" and r["status"] == 401 for r in access)
    assert any(r["path"].startswith("/oauth/authorize?") for r in access)
    leaked = [secret for secret in secrets_used if secret in log]
    assert leaked == [], leaked
    assert "access_token=***" in log


def test_sensitive_query_values_are_hidden() -> None:
    assert scrub_target("/cb?code=abc&state=s1") == "/cb?code=***&state=s1"
    assert scrub_target("/x?Access_Token=t&a=1") == "/x?Access_Token=***&a=1"
    assert scrub_target("/oauth/authorize?state=1&code_challenge=c") == (
        "/oauth/authorize?state=1&code_challenge=c"
    )
    assert scrub_target("/plain") == "/plain"


async def test_request_ids(client: httpx.AsyncClient) -> None:
    fresh = await client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{24}", fresh.headers["x-request-id"])
    assert (await client.get("/healthz")).headers["x-request-id"] != fresh.headers["x-request-id"]
    kept = await client.get("/api/users/@me", headers={"X-Request-ID": "abc-DEF_1.2"})
    assert kept.headers["x-request-id"] == "abc-DEF_1.2"
    for malformed in ("a b", "x" * 129, "<script>", ""):
        r = await client.get("/healthz", headers={"X-Request-ID": malformed})
        assert r.headers["x-request-id"] != malformed
        assert re.fullmatch(r"[0-9a-f]{24}", r.headers["x-request-id"])
    # Errors too, the hot paths' and the body limit's.
    r = await client.post("/api/oauth/token", content=b"x" * (65 * 1024))
    assert r.status_code == 413 and "x-request-id" in r.headers


async def test_metrics_in_one_process(client: httpx.AsyncClient) -> None:
    await client.get("/api/users/@me")
    text = (await client.get("/metrics")).text
    assert 'wtp_http_requests_total{method="GET",route="/api/users/@me",status="401"}' in text
    assert "wtp_http_request_duration_seconds_bucket" in text
    assert 'wtp_db_pool_size{pool="sqlalchemy"}' in text


def test_serve_gives_several_workers_a_metrics_folder_and_removes_it() -> None:
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    with cli._metrics_dir(1):
        assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    with cli._metrics_dir(2):
        folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        assert folder.is_dir()
    assert not folder.exists()
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
