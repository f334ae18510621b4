"""wrk, driven by the Lua scripts in ``lua/``, and what one run measured."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from benchmarks.servers import Server, cpu_seconds, postgres_cpu_seconds

LUA = Path(__file__).resolve().parent / "lua"
MARKER = "WTP_BENCH_JSON "
INSTALL_HINT = "wrk is not installed: apt-get install -y wrk (Debian/Ubuntu) or brew install wrk"


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(INSTALL_HINT)
    return path


def request_line(method: str, path: str, body: str | None, headers: dict[str, str]) -> str:
    """One line of a request file for ``lua/requests.lua``."""
    fields = [method, path, body or "-", *(f"{name}: {value}" for name, value in headers.items())]
    if any("\t" in field or "\n" in field for field in fields):
        raise ValueError("request fields may not hold tabs or newlines")
    return "\t".join(fields)


def write_lines(path: Path, lines: Iterable[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


@dataclass
class Measurement:
    """One wrk run against one server at one concurrency."""

    scenario: str
    connections: int
    duration_s: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # socket errors, timeouts, 4xx/5xx and unexpected answers
    exhausted: int
    completed: int  # whole flows (sign-in); else equal to the requests that succeeded
    app_cpu_ms: float  # server CPU per request (all its processes)
    db_cpu_ms: float  # PostgreSQL CPU per request (0 on SQLite: it runs inside the server)
    loadgen_cpu_ms: float  # wrk's own CPU per request
    # When the figures above are medians of several runs: each run's own figures.
    runs: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


_SUMMED = {"requests", "errors", "exhausted"}


def median_of(runs: Sequence[Measurement]) -> Measurement:
    """Several runs of one scenario at one concurrency, as one: every rate, latency and CPU
    figure, whole sign-ins included, is the median of the runs' (so one run that met a stall
    of the machine does not decide a p99 alone); requests, errors and exhausted credentials
    are summed; each run is kept in ``runs``."""
    if len(runs) == 1:
        return runs[0]
    values: dict[str, object] = {}
    for f in fields(Measurement):
        column = [getattr(m, f.name) for m in runs]
        if f.name in ("scenario", "connections"):
            values[f.name] = column[0]
        elif f.name in _SUMMED:
            values[f.name] = sum(column)
        elif f.name == "max_ms":
            values[f.name] = max(column)
        elif f.name == "runs":
            values[f.name] = [replace(m, runs=[]).as_dict() for m in runs]
        else:
            values[f.name] = statistics.median(column)
    return Measurement(**values)  # type: ignore[arg-type]


def parse_summary(output: str) -> dict[str, object]:
    """The JSON line ``lua/common.lua`` prints at the end of a run."""
    for line in output.splitlines():
        if line.startswith(MARKER):
            summary: dict[str, object] = json.loads(line[len(MARKER) :])
            return summary
    raise RuntimeError(f"wrk printed no summary:\n{output[-2000:]}")


def measurement(
    scenario: str,
    connections: int,
    summary: dict[str, object],
    *,
    app_cpu: float,
    db_cpu: float,
    loadgen_cpu: float,
) -> Measurement:
    errors_by_kind = summary["errors"]
    latency = summary["latency_us"]
    assert isinstance(errors_by_kind, dict) and isinstance(latency, dict)
    requests = int(summary["requests"])  # type: ignore[call-overload]
    duration = int(summary["duration_us"]) / 1e6  # type: ignore[call-overload]
    unexpected = int(summary["unexpected"])  # type: ignore[call-overload]
    # A 4xx/5xx is counted by wrk as a status error and, with an expectation, by the script
    # too: count it once.
    errors = sum(int(v) for k, v in errors_by_kind.items() if k != "status")
    errors += max(int(errors_by_kind["status"]), unexpected)
    per_request = 1000 / max(requests, 1)
    completed = int(summary["completed"]) or max(requests - errors, 0)  # type: ignore[call-overload]
    return Measurement(
        scenario=scenario,
        connections=connections,
        duration_s=round(duration, 2),
        requests=requests,
        rps=round(requests / duration, 1),
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        errors=errors,
        exhausted=int(summary["exhausted"]),  # type: ignore[call-overload]
        completed=completed,
        app_cpu_ms=round(app_cpu * per_request, 3),
        db_cpu_ms=round(db_cpu * per_request, 3),
        loadgen_cpu_ms=round(loadgen_cpu * per_request, 3),
    )


def run_wrk(
    server: Server,
    scenario: str,
    script: str,
    args: list[str],
    *,
    connections: int,
    duration: float,
    threads: int = 2,
    database: str | None = None,
    before: Callable[[], None] | None = None,
) -> Measurement:
    """Drive ``server`` with wrk for ``duration`` seconds at ``connections`` connections."""
    wrk = require_wrk()
    threads = min(threads, connections)
    command = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{round(duration)}s"]
    command += ["--timeout", "10s", "-s", script, server.url, "--", *args]
    if before is not None:
        before()
    pids = server.pids()
    app_before = cpu_seconds(pids)
    db_before = postgres_cpu_seconds(database) if database else 0.0
    started = time.monotonic()
    with subprocess.Popen(
        command, cwd=LUA, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        output = process.stdout.read()
        # wait4 rather than wait: it also tells how much CPU wrk itself used.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = status = os.waitstatus_to_exitcode(status)
    if status != 0 or time.monotonic() - started > duration + 60:
        raise RuntimeError(f"wrk failed ({status}):\n{output[-2000:]}")
    app_cpu = cpu_seconds(pids) - app_before
    db_cpu = (postgres_cpu_seconds(database) - db_before) if database else 0.0
    return measurement(
        scenario,
        connections,
        parse_summary(output),
        app_cpu=app_cpu,
        db_cpu=db_cpu,
        loadgen_cpu=usage.ru_utime + usage.ru_stime,
    )
