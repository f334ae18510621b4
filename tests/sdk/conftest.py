"""Fixtures of the SDK tests: a client generated from the published ``openapi.json``."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "openapi.json"
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else name


def import_all(package: ModuleType) -> list[str]:
    """Import every module of ``package``; the names imported."""
    names = [package.__name__]
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
        importlib.import_module(info.name)
        names.append(info.name)
    return names


@pytest.fixture(scope="session")
def python_sdk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """``openapi-python-client`` run on ``openapi.json``; the generated package, imported by
    path (as ``wtp_sdk``), removed from ``sys.modules`` afterwards."""
    out = tmp_path_factory.mktemp("sdk")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [
            _tool("openapi-python-client"),
            "generate",
            "--path",
            str(SCHEMA),
            "--output-path",
            str(out / "wtp_sdk"),
            "--meta",
            "none",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Any warning means a piece of the schema was skipped.
    assert "Warning" not in result.stdout, result.stdout
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("wtp_sdk")
    finally:
        sys.path.remove(str(out))
        for name in [name for name in sys.modules if name.split(".")[0] == "wtp_sdk"]:
            del sys.modules[name]
