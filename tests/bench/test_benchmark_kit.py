"""The benchmark's own code, on a tiny scale, so that it cannot rot unnoticed.

Preparation against a real ``wtp-oauth serve``, the request files, wrk's Lua scripts (a
one-second run each, when wrk is installed), the parsing of wrk's summary and the report. No
assertion here is about speed: speed is measured by ``python -m benchmarks``, never in a test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from benchmarks import report
from benchmarks.loadgen import (
    Measurement,
    measurement,
    median_of,
    parse_summary,
    request_line,
    run_wrk,
    write_lines,
)
from benchmarks.prepare import exchange_codes, insert_codes, prepare
from benchmarks.scenarios import Context, measure, wtp_scenarios
from benchmarks.servers import Server

from tests.conftest import LiveServer

SUMMARY = (
    'WTP_BENCH_JSON {"requests": 1000, "duration_us": 2000000, "bytes": 5, '
    '"errors": {"connect": 0, "read": 0, "write": 0, "status": 3, "timeout": 1}, '
    '"latency_us": {"mean": 900.0, "max": 9000, "p50": 800, "p90": 1500, "p99": 4000, '
    '"p999": 8000}, "unexpected": 5, "exhausted": 0, "completed": 0}'
)


def test_a_request_line_is_tab_separated_and_refuses_tabs() -> None:
    line = request_line("POST", "/api/oauth/token", "a=b", {"Authorization": "Basic x"})
    assert line == "POST\t/api/oauth/token\ta=b\tAuthorization: Basic x"
    assert request_line("GET", "/x", None, {}) == "GET\t/x\t-"
    with pytest.raises(ValueError):
        request_line("GET", "/x", "a\tb", {})


def test_wrk_summary_is_parsed_into_a_measurement() -> None:
    summary = parse_summary("Running 2s test\n" + SUMMARY + "\n")
    m = measurement("me", 64, summary, app_cpu=0.5, db_cpu=0.25, loadgen_cpu=0.1)
    assert (m.requests, m.rps, m.p50_ms, m.p99_ms) == (1000, 500.0, 0.8, 4.0)
    # Status errors counted by both wrk and the script count once; the timeout adds one.
    assert m.errors == 6
    assert (m.app_cpu_ms, m.db_cpu_ms, m.loadgen_cpu_ms) == (0.5, 0.25, 0.1)
    assert m.completed == 994
    with pytest.raises(RuntimeError):
        parse_summary("no summary here")


def _row(scenario: str, rps: float, p99: float, errors: int = 0) -> dict[str, object]:
    return {
        "scenario": scenario,
        "connections": 64,
        "duration_s": 10.0,
        "requests": int(rps * 10),
        "rps": rps,
        "p50_ms": 1.0,
        "p90_ms": 2.0,
        "p99_ms": p99,
        "max_ms": 9.0,
        "errors": errors,
        "exhausted": 0,
        "completed": 0,
        "app_cpu_ms": 0.2,
        "db_cpu_ms": 0.1,
        "loadgen_cpu_ms": 0.03,
    }


def _data() -> dict[str, object]:
    return {
        "started_at": "now",
        "machine": {"cpus": 2, "python": "3", "postgres_client": "pg", "load_average_before": []},
        "settings": {
            "duration_s": 10,
            "connections": [64],
            "workers_postgres": 2,
            "wrk_threads": 2,
        },
        "baseline": [_row("baseline_select", 1000, 10), _row("baseline_write", 500, 20)],
        "postgres": [_row("me", 800, 14), _row("code_exchange", 250, 40, errors=1)],
        "postgres_rss_mb": [90.0, 91.0],
    }


def test_the_report_compares_each_scenario_with_its_baseline() -> None:
    data = _data()
    checks = dict(report.targets(data))
    assert checks == {
        "(c) GET /api/users/@me: req/s ≥ 75% of baseline (80%)": True,
        "(c) GET /api/users/@me: p99 ≤ 1.5× baseline "
        "(1.40×; runs 14.0 ms, baseline's 10.0 ms)": True,
        "(c) GET /api/users/@me: zero errors (0)": True,
        "(a) code exchange: req/s ≥ 60% of baseline (50%)": False,
        "(a) code exchange: p99 ≤ 1.5× baseline (2.00×; runs 40.0 ms, baseline's 20.0 ms)": False,
        "(a) code exchange: zero errors (1)": False,
        "RSS per worker after the run < 150 MB (91.0 MB)": True,
    }
    assert not report.targets_hold(data)
    text = report.markdown(data)
    assert "| (c) GET /api/users/@me | 64 | 800 |" in text


def test_a_scenario_is_compared_with_the_baseline_runs_paired_with_its_own() -> None:
    # The baseline's series ran minutes earlier, on a faster machine than the scenario met;
    # the runs paired with the scenario's are what it is compared with.
    data = _data()
    data["postgres"] = [
        {**_row("me", 800, 14), "paired_baseline": _row("baseline_select", 900, 12)},
        _row("code_exchange", 400, 25),
    ]
    checks = dict(report.targets(data))
    assert checks["(c) GET /api/users/@me: req/s ≥ 75% of baseline (89%)"]
    assert checks[
        "(c) GET /api/users/@me: p99 ≤ 1.5× baseline (1.17×; runs 14.0 ms, baseline's 12.0 ms)"
    ]
    # A row without paired runs falls back on the baseline's series.
    assert checks["(a) code exchange: req/s ≥ 60% of baseline (80%)"]
    row = "| (c) GET /api/users/@me | 64 | 800 | 1.0 | 14.0 | 0 | 0.20 + 0.10 | 900 | 0.89 | 12.0 |"
    assert row in report.markdown(data)


def test_repeated_runs_are_reported_as_their_median() -> None:
    # One run that met a stall of the machine (p99 900 ms) does not decide the p99 alone.
    runs = [
        Measurement(**{**_row("signin", rps, p99), "max_ms": p99 * 2, "completed": done})  # type: ignore[arg-type]
        for rps, p99, done in ((800, 14, 2600), (760, 900, 2500), (820, 12, 2700))
    ]
    m = median_of(runs)
    assert (m.rps, m.p99_ms, m.max_ms) == (800, 14, 1800)
    assert m.requests == sum(r.requests for r in runs) and m.errors == 0
    assert m.completed == 2600  # whole sign-ins per run: a median, like every rate
    assert [run["p99_ms"] for run in m.runs] == [14, 900, 12]
    assert median_of(runs[:1]) is runs[0]
    data = _data()
    data["postgres"] = [m.as_dict()]
    data["baseline"] = [_row("baseline_write", 1000, 10)]
    assert "runs 14.0, 900.0, 12.0 ms" in " ".join(text for text, _ in report.targets(data))


def test_the_chart_is_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    chart = report.chart(_data(), tmp_path / "chart.png")
    assert chart is not None and chart.read_bytes().startswith(b"\x89PNG")


def test_preparation_through_the_public_api(live_server: LiveServer, database_url: str) -> None:
    # Plain functions: the benchmark's preparation runs its own event loop.
    fixture = prepare(live_server.url, n_users=2, n_clients=1)
    assert len(fixture.users) == 2 and len(fixture.clients) == 1
    # The fast path: codes written straight into the table are redeemed by the server.
    codes = insert_codes(database_url, fixture, 3)
    issued = exchange_codes(live_server.url, codes, concurrency=2)
    assert len({t.access_token for t in issued}) == 3
    with httpx.Client(base_url=live_server.url) as http:
        for t in issued:
            bearer = {"Authorization": f"Bearer {t.access_token}"}
            assert http.get("/api/users/@me", headers=bearer).status_code == 200
        # The sign-in scenario's link: remembered consent answers at once with a code.
        http.cookies.set("wtp_session", fixture.users[0].session)
        r = http.get(fixture.authorize_path(fixture.clients[0]))
        assert r.status_code == 302 and "code=" in r.headers["location"]


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_every_scenario_script_runs_without_errors(
    live_server: LiveServer, database_url: str, tmp_path: Path
) -> None:
    fixture = prepare(live_server.url, n_users=2, n_clients=1)
    fixture.tokens = exchange_codes(live_server.url, insert_codes(database_url, fixture, 4))
    server = Server(command=[], env={}, log_path=tmp_path / "unused.log", port=live_server.port)
    context = Context(server, database_url, fixture, threads=1)
    for scenario in wtp_scenarios(context):
        m = measure(server, scenario, tmp_path, connections=2, duration=1, threads=1, database=None)
        assert m.requests > 0, scenario.name
        assert (m.errors, m.exhausted) == (0, 0), scenario.name
    assert write_lines(tmp_path / "x.txt", ["a", "b"]).read_text() == "a\nb\n"


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_no_wrk_thread_is_left_without_requests(live_server: LiveServer, tmp_path: Path) -> None:
    # A baseline sends one request line again and again. Dealt out among two threads, it once
    # left the second thread with nothing to send: half the connections stayed idle and the
    # baseline was measured at half the concurrency it reported.
    server = Server(command=[], env={}, log_path=tmp_path / "unused.log", port=live_server.port)
    one_line = write_lines(tmp_path / "one.txt", [request_line("GET", "/healthz", None, {})])
    shared = run_wrk(
        server,
        "healthz",
        "requests.lua",
        [str(one_line), "2", "cycle", "ok"],
        connections=2,
        duration=1,
        threads=2,
    )
    assert shared.requests > 0 and shared.errors == 0
    # Single-use lines are dealt out; too few for every thread stops the run loudly.
    with pytest.raises(RuntimeError, match="has no line"):
        run_wrk(
            server,
            "healthz",
            "requests.lua",
            [str(one_line), "2", "once", "ok"],
            connections=2,
            duration=1,
            threads=2,
        )
