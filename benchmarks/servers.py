"""Databases and server processes for the benchmark, and what they cost in CPU and memory."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from wtp_oauth import migrations

REPO = Path(__file__).resolve().parents[1]
POSTGRES_SERVER = os.environ.get("WTP_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- databases ---------------------------------------------------------------------------


@dataclass
class Database:
    """A fresh database for one benchmark run, migrated to head."""

    url: str  # SQLAlchemy URL, as WTP_DATABASE_URL takes it
    kind: str  # postgres | sqlite
    name: str = ""
    path: Path | None = None

    @property
    def dsn(self) -> str:
        """A plain DSN for asyncpg (PostgreSQL only)."""
        return self.url.replace("postgresql+asyncpg://", "postgresql://")

    def drop(self) -> None:
        if self.kind == "postgres":
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        elif self.path is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(f"{POSTGRES_SERVER}/postgres", timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def checkpoint(database: Database) -> None:
    """Write out what the preparation left dirty (tens of thousands of new codes), so that the
    run that follows does not pay for it; skipped where the role may not checkpoint."""

    async def run() -> None:
        conn = await asyncpg.connect(database.dsn, timeout=5)
        try:
            await conn.execute("CHECKPOINT")
        except asyncpg.PostgresError:
            pass
        finally:
            await conn.close()

    if database.kind == "postgres":
        asyncio.run(run())


def create_postgres() -> Database:
    name = f"wtp_bench_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_SERVER.replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    migrations.upgrade(url)
    return Database(url=url, kind="postgres", name=name)


def create_sqlite(directory: Path) -> Database:
    path = directory / f"wtp_bench_{secrets.token_hex(3)}.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrations.upgrade(url)
    return Database(url=url, kind="sqlite", path=path)


# --- processes ---------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces: split after its closing parenthesis.
    head, _, rest = raw.rpartition(")")
    return [head.split(" (", 1)[-1], *rest.split()]


def _all_stats() -> dict[int, list[str]]:
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None:
                stats[int(entry)] = stat
    return stats


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for child, stat in _all_stats().items():
        children.setdefault(int(stat[2]), []).append(child)
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far."""
    total = 0
    for pid in pids:
        stat = _stat(pid)
        if stat is not None:
            total += int(stat[12]) + int(stat[13])  # utime, stime
    return total / _TICKS


def postgres_cpu_seconds(database: str) -> float:
    """CPU time of the PostgreSQL processes working for ``database``.

    That is its backends, and the cluster's shared processes (WAL writer, checkpointer…);
    backends of other databases on the same cluster (a test run, say) are left out.
    """
    total = 0.0
    for pid, stat in _all_stats().items():
        if stat[0] != "postgres":
            continue
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        is_backend = "(" in title or "[local]" in title
        if database in title or not is_backend:
            total += (int(stat[12]) + int(stat[13])) / _TICKS
    return total


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _clean_environ() -> dict[str, str]:
    """This process's environment without ``WTP_`` settings: the benchmark sets its own."""
    return {k: v for k, v in os.environ.items() if not k.startswith("WTP_")}


@dataclass
class Server:
    """An HTTP server process on a loopback port: ``wtp-oauth serve`` or the baseline."""

    command: list[str]
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    workers: int = 1
    ready_path: str = "/healthz"
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Server:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.command, "--port", str(self.port)],
                env={**_clean_environ(), **self.env},
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                ready = httpx.get(self.url + self.ready_path, timeout=1).status_code == 200
                # With several workers, wait until each one has started.
                if ready and len(self.worker_pids()) >= self.workers:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-2000:]}")

    def pids(self) -> list[int]:
        return [] if self.process is None else descendants(self.process.pid)

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the workers, or the one process with one worker."""
        if self.process is None:
            return []
        if self.workers == 1:
            return [self.process.pid]
        return [
            pid
            for pid in self.pids()[1:]
            if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wtp_server(database: Database, workers: int, log_dir: Path) -> Server:
    script = Path(sys.executable).with_name("wtp-oauth")
    command = [str(script) if script.exists() else "wtp-oauth", "serve", "--no-migrate"]
    command += ["--workers", str(workers)]
    env = {"WTP_DATABASE_URL": database.url}
    return Server(
        command=command,
        env=env,
        log_path=log_dir / f"wtp-{database.kind}-{workers}w.log",
        workers=workers,
        ready_path="/readyz",
    )


def baseline_server(
    database: Database, workers: int, pools: tuple[int, int], log_dir: Path
) -> Server:
    command = [sys.executable, "-m", "uvicorn", "benchmarks.baseline_app:create_app", "--factory"]
    command += ["--workers", str(workers), "--loop", "uvloop", "--http", "httptools"]
    command += ["--no-access-log", "--log-level", "warning", "--host", "127.0.0.1"]
    env = {"BENCH_BASELINE_DSN": database.dsn, "BENCH_BASELINE_POOLS": f"{pools[0]},{pools[1]}"}
    return Server(
        command=command,
        env=env,
        log_path=log_dir / f"baseline-{workers}w.log",
        workers=workers,
        ready_path="/select",
    )
