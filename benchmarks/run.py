"""One command: ``python -m benchmarks [--quick]`` (see docs/performance.md).

1. A fresh PostgreSQL database; the baseline app (FastAPI + asyncpg, two workers) measured on it.
2. ``wtp-oauth serve --workers 2`` on the same database; users, applications, consents and
   tokens prepared; each scenario at each concurrency, each run right after a run of the
   matching baseline (its ``paired_baseline``), so that a ratio compares what ran together.
3. The same scenarios on a fresh SQLite file with one worker.
4. ``benchmarks/results/<time>/``: results.json, results.md, chart.png (and ``latest``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import report
from benchmarks.baseline_app import prepare_tables
from benchmarks.loadgen import Measurement, median_of, require_wrk
from benchmarks.prepare import Fixture, exchange_codes, insert_codes, prepare
from benchmarks.scenarios import Context, Scenario, baseline_scenarios, measure, wtp_scenarios
from benchmarks.servers import (
    REPO,
    Database,
    Server,
    baseline_server,
    checkpoint,
    create_postgres,
    create_sqlite,
    rss_mb,
    wtp_server,
)
from wtp_oauth.config import Settings

RESULTS = REPO / "benchmarks" / "results"


def _log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


# Runs the baseline scenario that matches a scenario, at a concurrency.
Pairing = Callable[[Scenario, int], Measurement]


def _run(
    server: Server,
    scenario: Scenario,
    connections: int,
    work: Path,
    args: argparse.Namespace,
    *,
    label: str,
    database: Database,
) -> Measurement:
    m = measure(
        server,
        scenario,
        work,
        connections=connections,
        duration=args.duration,
        threads=args.threads,
        database=database.name or None,
        settle=lambda: checkpoint(database),
    )
    _log(
        f"{label} {scenario.name:16} c={connections:<4} {m.rps:8.1f} req/s  "
        f"p50 {m.p50_ms:7.1f} ms  p99 {m.p99_ms:7.1f} ms  errors {m.errors}"
    )
    return m


def _series(
    server: Server,
    scenarios: list[Scenario],
    work: Path,
    args: argparse.Namespace,
    *,
    label: str,
    database: Database,
    pairing: Pairing | None = None,
) -> list[dict[str, object]]:
    """Each scenario at each concurrency, as rows of results.json; with ``pairing``, each run
    comes right after a run of its baseline, whose median is the row's ``paired_baseline``."""
    results = []
    for scenario in scenarios:
        for connections in args.connections:
            # The targets' concurrency is measured several times: see median_of.
            repeats = args.repeat if connections == report.TARGET_CONNECTIONS else 1
            runs, baselines = [], []
            for _ in range(repeats):
                if pairing is not None:
                    baselines.append(pairing(scenario, connections))
                run = _run(
                    server, scenario, connections, work, args, label=label, database=database
                )
                runs.append(run)
            row = median_of(runs).as_dict()
            if baselines:
                row["paired_baseline"] = median_of(baselines).as_dict()
            results.append(row)
    return results


def _warm_up(
    server: Server, scenarios: list[Scenario], work: Path, args: argparse.Namespace
) -> None:
    """Open every pooled connection and prepare every statement before measuring."""
    for scenario in scenarios:
        measure(
            server,
            scenario,
            work,
            connections=64,
            duration=args.warmup,
            threads=args.threads,
            database=None,
        )


def _start_baseline(database: Database, work: Path, args: argparse.Namespace) -> Server:
    import asyncio

    asyncio.run(prepare_tables(database.dsn))
    pools = Settings(database_url=database.url, workers=args.workers).token_pools
    server = baseline_server(database, args.workers, pools, work).start()
    try:
        _warm_up(server, baseline_scenarios(args.threads), work, args)
    except BaseException:
        server.stop()
        raise
    return server


def _pairing(server: Server, database: Database, work: Path, args: argparse.Namespace) -> Pairing:
    """Runs of the baseline app (left running, idle in between) to pair with the scenarios'."""
    by_kind = {s.baseline: s for s in baseline_scenarios(args.threads)}

    def pair(scenario: Scenario, connections: int) -> Measurement:
        base = by_kind[scenario.baseline]
        return _run(server, base, connections, work, args, label="  paired", database=database)

    return pair


def _fixture(server: Server, database: Database, n_tokens: int) -> Fixture:
    fixture = prepare(server.url)
    codes = insert_codes(database.url, fixture, n_tokens)
    fixture.tokens = exchange_codes(server.url, codes)
    return fixture


def _wtp(
    database: Database,
    workers: int,
    work: Path,
    args: argparse.Namespace,
    pairing: Pairing | None = None,
) -> tuple[list[dict[str, object]], list[float]]:
    server = wtp_server(database, workers, work).start()
    try:
        _log(f"{database.kind}: preparing users, applications, consents and tokens")
        fixture = _fixture(server, database, n_tokens=256)
        context = Context(server, database.url, fixture, threads=args.threads)
        scenarios = [s for s in wtp_scenarios(context) if s.name in args.scenarios]
        _warm_up(server, scenarios, work, args)
        label = f"{database.kind}/{workers}w"
        results = _series(
            server, scenarios, work, args, label=label, database=database, pairing=pairing
        )
        memory = [round(rss_mb(pid), 1) for pid in server.worker_pids()]
        _log(f"{label} RSS per worker after the run: {memory} MB")
        return results, memory
    finally:
        server.stop()


def _machine() -> dict[str, object]:
    try:
        postgres = subprocess.run(
            ["psql", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        postgres = "?"
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "postgres_client": postgres,
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="64 connections only, 5 s runs")
    parser.add_argument("--duration", type=float, help="seconds per run (default 10, quick 5)")
    parser.add_argument(
        "--connections",
        type=lambda text: [int(c) for c in text.split(",")],
        help="comma-separated concurrency levels (default 16,64,256; quick 64)",
    )
    parser.add_argument("--workers", type=int, default=2, help="workers on PostgreSQL")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs at 64 connections (the targets' level), reported as their median",
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per scenario")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite runs")
    parser.add_argument("--no-postgres", action="store_true", help="only the SQLite runs")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline app")
    parser.add_argument(
        "--scenarios",
        type=lambda text: text.split(","),
        default=["code_exchange", "refresh", "me", "introspect", "signin"],
        help="comma-separated subset of: code_exchange,refresh,me,introspect,signin",
    )
    parser.add_argument(
        "--out", type=Path, help="results folder (default benchmarks/results/<time>)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.duration = args.duration or (5.0 if args.quick else 10.0)
    args.connections = args.connections or ([64] if args.quick else [16, 64, 256])
    require_wrk()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out: Path = args.out or RESULTS / stamp
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    data: dict[str, object] = {
        "started_at": stamp,
        "machine": _machine(),
        "settings": {
            "duration_s": args.duration,
            "connections": args.connections,
            "workers_postgres": args.workers,
            "wrk_threads": args.threads,
            "repeat_at_target": args.repeat,
            "quick": args.quick,
        },
    }
    if not args.no_postgres:
        postgres = create_postgres()
        baseline: Server | None = None
        try:
            pairing = None
            if not args.no_baseline:
                baseline = _start_baseline(postgres, work, args)
                data["baseline"] = _series(
                    baseline,
                    baseline_scenarios(args.threads),
                    work,
                    args,
                    label="baseline",
                    database=postgres,
                )
                pairing = _pairing(baseline, postgres, work, args)
            results, memory = _wtp(postgres, args.workers, work, args, pairing)
            data["postgres"] = results
            data["postgres_rss_mb"] = memory
        finally:
            if baseline is not None:
                baseline.stop()
            postgres.drop()
    if not args.no_sqlite:
        sqlite = create_sqlite(work)
        try:
            results, memory = _wtp(sqlite, 1, work, args)
            data["sqlite"] = results
            data["sqlite_rss_mb"] = memory
        finally:
            sqlite.drop()
    data["elapsed_s"] = round(time.monotonic() - started, 1)
    (out / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    markdown = report.markdown(data)
    (out / "results.md").write_text(markdown)
    chart = report.chart(data, out / "chart.png")
    latest = RESULTS / "latest"
    if out.parent == RESULTS:
        latest.unlink(missing_ok=True)
        latest.symlink_to(out.name)
    print()
    print(markdown)
    print(
        f"Results: {out / 'results.md'}, {out / 'results.json'}" + (f", {chart}" if chart else "")
    )
    return 0 if report.targets_hold(data) else 1


if __name__ == "__main__":
    sys.exit(main())
