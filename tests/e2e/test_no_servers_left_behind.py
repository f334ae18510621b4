"""A test run that is killed leaves no ``wtp-oauth serve`` behind (tests/conftest.py ``spawn``).

Each case runs a tiny pytest session in a subprocess: its one test starts a ``LiveServer`` and
waits; then the session is killed as a person, a CI runner or the kernel would kill it
(SIGTERM, SIGINT, SIGKILL). Afterwards no process of the server's process group may be
alive and its port must refuse connections.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import spawn, stop_process

ROOT = Path(__file__).resolve().parents[2]
INNER_TEST = """
import os
import signal

from tests.conftest import LiveServer


def test_serve_until_killed(tmp_path):
    workers = int(os.environ["INNER_WORKERS"])
    server = LiveServer(f"sqlite+aiosqlite:///{tmp_path / 'inner.db'}", workers=workers)
    server.start(tmp_path)
    print(f"SERVING {server.pid} {server.port}", flush=True)
    while True:
        signal.pause()
"""


def _group(pgid: int) -> set[int]:
    """The live (not zombie) processes of the process group ``pgid``."""
    members = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp …; comm may hold spaces, so split after its ")".
        state, _ppid, pgrp = stat.rpartition(")")[2].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            members.add(int(entry.name))
    return members


def _ended(pids: set[int], timeout: float) -> set[int]:
    """Wait for the processes to end; those still running after ``timeout``."""
    deadline = time.monotonic() + timeout
    left = set()
    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                left.add(pid)
        finally:
            os.close(fd)
    return left


def _serving_line(process: subprocess.Popen[bytes], timeout: float) -> tuple[int, int]:
    """Read the inner session's output up to its ``SERVING pid port`` line."""
    assert process.stdout is not None
    output = b""
    deadline = time.monotonic() + timeout
    while b"SERVING" not in output or not output.split(b"SERVING", 1)[1].count(b"\n"):
        remaining = deadline - time.monotonic()
        assert remaining > 0 and select.select([process.stdout], [], [], remaining)[0], output
        chunk = os.read(process.stdout.fileno(), 65536)
        assert chunk, output.decode(errors="replace")
        output += chunk
    pid, port = output.split(b"SERVING", 1)[1].split(b"\n", 1)[0].split()
    return int(pid), int(port)


def _refuses(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


# Two workers where the server's own shutdown must take them along (SIGTERM: the session's
# handler; SIGKILL: the kernel's parent-death signal); one for SIGINT (atexit), to spare the
# machine's two cores the start of two more.
WAYS_TO_DIE = [(signal.SIGTERM, 2), (signal.SIGINT, 1), (signal.SIGKILL, 2)]


@pytest.mark.parametrize(("how", "workers"), WAYS_TO_DIE, ids=lambda v: getattr(v, "name", v))
def test_a_killed_test_run_leaves_no_server(
    tmp_path: Path, how: signal.Signals, workers: int
) -> None:
    (tmp_path / "test_inner.py").write_text(INNER_TEST)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "WTP_"))}
    env["INNER_WORKERS"] = str(workers)
    command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"]
    command += ["-p", "no:asyncio", str(tmp_path / "test_inner.py")]
    # cwd: ``python -m`` puts the repository on sys.path, so ``tests.conftest`` imports.
    inner = spawn(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        server, port = _serving_line(inner, timeout=120)
        members = _group(server)
        assert server in members
        assert not _refuses(port)

        os.kill(inner.pid, how)
        inner.wait(timeout=60)
        left = _ended(members, timeout=30)
        assert not left, f"still running: {left}"
        assert not _group(server)
        assert _refuses(port)
    finally:
        stop_process(inner)
        assert inner.stdout is not None
        inner.stdout.close()
