"""Tables, targets and the chart, from the data ``run.py`` collected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TITLES = {
    "code_exchange": "(a) code exchange",
    "refresh": "(b) refresh",
    "me": "(c) GET /api/users/@me",
    "introspect": "(d) introspection",
    "signin": "(e) sign-in (authorize + exchange + @me)",
    "baseline_select": "baseline: one SELECT",
    "baseline_write": "baseline: INSERT + UPDATE transaction",
}
BASELINE_OF = {
    "code_exchange": "baseline_write",
    "refresh": "baseline_write",
    "me": "baseline_select",
    "introspect": "baseline_select",
    "signin": "baseline_write",
}
# Issue #5's targets, at 64 connections on PostgreSQL with two workers.
TARGET_CONNECTIONS = 64
RPS_TARGET = {"code_exchange": 0.60, "refresh": 0.60, "me": 0.75, "introspect": 0.75}
P99_TARGET = 1.5
RSS_TARGET_MB = 150.0

Row = dict[str, Any]


def _baseline(data: dict[str, Any], name: str, connections: int) -> Row | None:
    for row in data.get("baseline", []):
        if row["scenario"] == name and row["connections"] == connections:
            return dict(row)
    return None


def _ratio(value: float, base: float | None) -> float | None:
    return None if not base else round(value / base, 2)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def compare(data: dict[str, Any], row: Row) -> tuple[Row | None, float | None, float | None]:
    """The matching baseline row, the ratio of requests/s and the ratio of p99.

    The baseline is the one measured next to the row's own runs (``paired_baseline``: one
    baseline run right before each of them) where there is one, else the baseline's series.
    """
    base: Row | None = row.get("paired_baseline") or _baseline(
        data, BASELINE_OF.get(row["scenario"], ""), row["connections"]
    )
    if base is None:
        return None, None, None
    return base, _ratio(row["rps"], base["rps"]), _ratio(row["p99_ms"], base["p99_ms"])


def _table(data: dict[str, Any], rows: list[Row], *, with_baseline: bool) -> list[str]:
    head = "| scenario | conns | req/s | p50 ms | p99 ms | errors | CPU ms/req app + db |"
    rule = "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    if with_baseline:
        head += " baseline req/s | × req/s | baseline p99 | × p99 |"
        rule += " ---: | ---: | ---: | ---: |"
    lines = [head, rule]
    for row in rows:
        name = TITLES.get(row["scenario"], row["scenario"])
        rps = f"{row['rps']:,.0f}"
        if row["scenario"] == "signin" and row.get("completed"):
            rps += f" ({row['completed'] / row['duration_s']:,.0f} sign-ins/s)"
        cpu = f"{row['app_cpu_ms']:.2f} + {row['db_cpu_ms']:.2f}"
        errors = str(row["errors"]) + (
            f" ({row['exhausted']} exhausted)" if row["exhausted"] else ""
        )
        line = (
            f"| {name} | {row['connections']} | {rps} | {row['p50_ms']:.1f} | "
            f"{row['p99_ms']:.1f} | {errors} | {cpu} |"
        )
        if with_baseline:
            base, rps_ratio, p99_ratio = compare(data, row)
            line += (
                f" {_fmt(base['rps'] if base else None, 0)} | {_fmt(rps_ratio)} |"
                f" {_fmt(base['p99_ms'] if base else None, 1)} | {_fmt(p99_ratio)} |"
            )
        lines.append(line)
    return lines


def _each_p99(row: Row) -> str:
    """The p99 of each run behind a median, for the reader to see the spread."""
    runs = row.get("runs") or []
    return ", ".join(f"{run['p99_ms']:.1f}" for run in runs) or f"{row['p99_ms']:.1f}"


def targets(data: dict[str, Any]) -> list[tuple[str, bool]]:
    """Each target of the issue, and whether it holds in this run."""
    checks: list[tuple[str, bool]] = []
    for row in data.get("postgres", []):
        if row["connections"] != TARGET_CONNECTIONS:
            continue
        name = TITLES[row["scenario"]]
        base, rps_ratio, p99_ratio = compare(data, row)
        if base is None:
            continue
        goal = RPS_TARGET.get(row["scenario"])
        if goal is not None and rps_ratio is not None:
            checks.append(
                (f"{name}: req/s ≥ {goal:.0%} of baseline ({rps_ratio:.0%})", rps_ratio >= goal)
            )
        if p99_ratio is not None:
            checks.append(
                (
                    f"{name}: p99 ≤ {P99_TARGET}× baseline ({p99_ratio:.2f}×; runs "
                    f"{_each_p99(row)} ms, baseline's {_each_p99(base)} ms)",
                    p99_ratio <= P99_TARGET,
                )
            )
        checks.append((f"{name}: zero errors ({row['errors']})", row["errors"] == 0))
    memory = data.get("postgres_rss_mb") or []
    if memory:
        checks.append(
            (
                f"RSS per worker after the run < {RSS_TARGET_MB:.0f} MB ({max(memory)} MB)",
                max(memory) < RSS_TARGET_MB,
            )
        )
    return checks


def targets_hold(data: dict[str, Any]) -> bool:
    checks = targets(data)
    return bool(checks) and all(ok for _, ok in checks)


def markdown(data: dict[str, Any]) -> str:
    settings, machine = data["settings"], data["machine"]
    out = [
        f"# wtp-oauth benchmark, {data['started_at']}",
        "",
        f"{machine['cpus']} CPUs, Python {machine['python']}, {machine['postgres_client']}; "
        f"load average before: {machine['load_average_before']}. wrk, {settings['wrk_threads']} "
        f"threads, {settings['duration_s']:g} s per run, loopback. CPU ms/req: the server's "
        "processes + PostgreSQL's, per request."
        + (
            f" At {TARGET_CONNECTIONS} connections each scenario runs "
            f"{settings['repeat_at_target']} times and every figure is the median of the runs "
            "(each run's own figures are in results.json)."
            if settings.get("repeat_at_target", 1) > 1
            else ""
        ),
        "",
        f"## PostgreSQL, {settings['workers_postgres']} workers",
        "",
    ]
    rows = sorted(
        data.get("postgres", []),
        key=lambda r: (r["connections"], list(TITLES).index(r["scenario"])),
    )
    baseline_rows = sorted(
        data.get("baseline", []), key=lambda r: (r["connections"], r["scenario"])
    )
    out += _table(data, rows, with_baseline=bool(baseline_rows))
    if baseline_rows:
        out += ["", "Baseline: a minimal FastAPI app, same database, same workers, asyncpg.", ""]
        out += _table(data, baseline_rows, with_baseline=False)
    if data.get("postgres_rss_mb"):
        out += ["", f"RSS per worker after the run: {data['postgres_rss_mb']} MB."]
    checks = targets(data)
    if checks:
        out += ["", f"## Targets (PostgreSQL, {TARGET_CONNECTIONS} connections)", ""]
        out += [f"- {'✅' if ok else '❌'} {text}" for text, ok in checks]
    if data.get("sqlite"):
        out += ["", "## SQLite (the default), 1 worker", ""]
        rows = sorted(
            data["sqlite"], key=lambda r: (r["connections"], list(TITLES).index(r["scenario"]))
        )
        out += _table(data, rows, with_baseline=False)
        if data.get("sqlite_rss_mb"):
            out += ["", f"RSS after the run: {data['sqlite_rss_mb']} MB."]
    out += ["", f"Whole run: {data.get('elapsed_s', 0):.0f} s.", ""]
    return "\n".join(out)


def chart(data: dict[str, Any], path: Path) -> Path | None:
    """Throughput and p99 against concurrency; None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'): no chart")
        return None
    groups = [("PostgreSQL, 2 workers", data.get("postgres", []) + data.get("baseline", []))]
    if data.get("sqlite"):
        groups.append(("SQLite, 1 worker", data["sqlite"]))
    fig, axes = plt.subplots(len(groups), 2, figsize=(12, 4.5 * len(groups)), squeeze=False)
    for (title, rows), (ax_rps, ax_p99) in zip(groups, axes, strict=True):
        for scenario in TITLES:
            points = sorted(
                (r["connections"], r["rps"], r["p99_ms"]) for r in rows if r["scenario"] == scenario
            )
            if not points:
                continue
            conns = [p[0] for p in points]
            style = "--" if scenario.startswith("baseline") else "-"
            ax_rps.plot(conns, [p[1] for p in points], style, marker="o", label=TITLES[scenario])
            ax_p99.plot(conns, [p[2] for p in points], style, marker="o", label=TITLES[scenario])
        for ax, ylabel in ((ax_rps, "requests/s"), (ax_p99, "p99 latency, ms")):
            ax.set_xscale("log", base=2)
            ax.set_xticks(
                data["settings"]["connections"], [str(c) for c in data["settings"]["connections"]]
            )
            ax.set_xlabel("connections")
            ax.set_ylabel(ylabel)
            ax.set_title(f"{title}: {ylabel}")
            ax.grid(True, alpha=0.3)
        ax_p99.set_yscale("log")
        ax_rps.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
