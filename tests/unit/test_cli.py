"""cli.py without I/O: what ``serve`` hands to uvicorn, and the issuer it derives (SPEC §2)."""

from __future__ import annotations

import os
from typing import Any

import pytest
import uvicorn

from wtp_oauth import cli, migrations


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run ``serve`` up to uvicorn, and capture what uvicorn would have been given."""
    captured: dict[str, Any] = {}
    # Record the variable so that monkeypatch removes what serve sets.
    monkeypatch.setenv("WTP_ISSUER", "placeholder")
    monkeypatch.delenv("WTP_ISSUER")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: captured.update(app=app, **kwargs))
    return captured


@pytest.mark.parametrize(
    ("host", "issuer"),
    [
        ("127.0.0.1", "http://127.0.0.1:9123"),
        ("0.0.0.0", "http://127.0.0.1:9123"),
        ("::", "http://127.0.0.1:9123"),
        ("localhost", "http://localhost:9123"),
        ("::1", "http://[::1]:9123"),
    ],
)
def test_issuer_defaults_to_where_serve_listens(
    served: dict[str, Any], host: str, issuer: str
) -> None:
    assert cli.main(["serve", "--host", host, "--port", "9123", "--no-migrate"]) == 0
    assert os.environ["WTP_ISSUER"] == issuer
    assert served["host"] == host
    assert served["port"] == 9123
    assert served["factory"] is True


def test_an_explicit_issuer_wins(served: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WTP_ISSUER", "https://wants-to.party")
    assert cli.main(["serve", "--host", "0.0.0.0", "--no-migrate"]) == 0
    assert os.environ["WTP_ISSUER"] == "https://wants-to.party"


def test_serve_defaults(served: dict[str, Any]) -> None:
    assert cli.main(["serve", "--no-migrate"]) == 0
    assert (served["host"], served["port"], served["workers"]) == ("127.0.0.1", 8000, 1)
    assert os.environ["WTP_ISSUER"] == "http://127.0.0.1:8000"


def test_serve_answers_in_one_write(served: dict[str, Any]) -> None:
    assert cli.main(["serve", "--no-migrate"]) == 0
    assert served["http"] == "wtp_oauth.http_protocol:OneWriteHttpToolsProtocol"
    assert served["loop"] == "uvloop"


def test_serve_migrates_first_unless_told_not_to(
    served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    migrated: list[str] = []
    monkeypatch.setattr(migrations, "upgrade", migrated.append)
    monkeypatch.setenv("WTP_DATABASE_URL", "sqlite+aiosqlite:///./somewhere.db")
    assert cli.main(["serve", "--workers", "3"]) == 0
    assert migrated == ["sqlite+aiosqlite:///./somewhere.db"]
    assert served["workers"] == 3
    assert cli.main(["serve", "--no-migrate"]) == 0
    assert len(migrated) == 1


def test_unknown_command_exits_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["frobnicate"])
    assert caught.value.code == 2
    assert "usage" in capsys.readouterr().err
