"""``wtp-oauth``: serve, migrate, openapi, create-user, create-client, purge, rotate-keys.

Whatever goes wrong in a way the user can fix (a setting, the database, an option) ends in one
line on standard error, ``wtp-oauth: WHAT: what is wrong``, and exit status 2; never a
traceback. Each command checks what it needs first (``wtp_oauth.preflight``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import importlib.util
import json
import os
import shutil
import signal
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn

from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

from wtp_oauth import __version__, preflight
from wtp_oauth.config import Settings
from wtp_oauth.preflight import Refused

_ALL_INTERFACES = {"0.0.0.0", "::", "[::]", ""}  # noqa: S104 (recognised, not bound)
_ALL_SETTINGS = tuple(Settings.model_fields)
_DATABASE = ("database_url",)
# Defaults that are not a field's own default value.
_DEFAULT_LABELS = {
    "issuer": "http://HOST:PORT of serve; 127.0.0.1 when serving on all interfaces",
    "secret_key": "generated on first start and kept in the database",
    "workers": "serve --workers",
    "refresh_token_ttl": "2592000, 30 days",
    "session_ttl": "1209600, 14 days",
}

DESCRIPTION = """\
The Wants to Party authorization server (OAuth 2.0): sign-in, consent, codes and tokens.

With no settings, `wtp-oauth serve` serves http://127.0.0.1:8000 on the SQLite file
./wtp_oauth.db, created and migrated on the spot. Settings are WTP_* environment variables
(`wtp-oauth serve --help` lists them all); every command checks them and names any that is
wrong."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not the usage: the usage is one ``--help`` away."""
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=100)


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _port(text: str) -> int:
    value = _whole(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (1 to 65535)")
    return value


def _positive(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _serve(args: argparse.Namespace) -> int:
    from wtp_oauth import http_protocol, migrations

    preflight.check_listen(args.host, args.port)
    if "WTP_ISSUER" not in os.environ:
        host = "127.0.0.1" if args.host in _ALL_INTERFACES else args.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        os.environ["WTP_ISSUER"] = f"http://{host}:{args.port}"
    # Each worker sizes its token store pools for its share of the host (Settings.token_pools).
    os.environ["WTP_WORKERS"] = str(args.workers)
    settings = preflight.load_settings()
    http_protocol.head_timeout()  # a bad WTP_HEAD_TIMEOUT is reported here, not per connection
    preflight.check_database(settings.database_url, migrated=args.no_migrate)
    if not args.no_migrate:
        migrations.upgrade(settings.database_url)
    with _metrics_dir(args.workers):
        _run_uvicorn(args, settings)
    return 0


@contextlib.contextmanager
def _metrics_dir(workers: int) -> Iterator[None]:
    """With several workers, a fresh folder where each writes its Prometheus figures (one
    scrape adds them up: wtp_oauth.metrics), removed at exit; one worker keeps them in memory.
    A ``PROMETHEUS_MULTIPROC_DIR`` set by the operator is used as it is, and kept."""
    if workers == 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    path = tempfile.mkdtemp(prefix="wtp-oauth-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    try:
        yield
    finally:
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
        shutil.rmtree(path, ignore_errors=True)


def _stopped(signum: int, _frame: object) -> NoReturn:
    """SIGTERM or SIGINT once uvicorn has shut down gracefully: a clean exit, status 0."""
    raise SystemExit(0)


def _run_uvicorn(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from wtp_oauth.logs import log_config

    # A single uvicorn server finishes the requests in flight on SIGTERM, then raises the
    # signal again for the handler it found installed: ours makes that a clean exit rather
    # than death by the signal (status 143). With several workers uvicorn's supervisor
    # handles the signals and exits 0 itself.
    signal.signal(signal.SIGTERM, _stopped)
    uvicorn.run(
        "wtp_oauth.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # uvloop and httptools (uvicorn[standard]); no access log unless asked for.
        loop="uvloop" if _installed("uvloop") else "asyncio",
        # httptools (a dependency of uvicorn[standard]) with one write per answer and bounded
        # request heads; never h11, which bounds less (wtp_oauth.http_protocol).
        http="wtp_oauth.http_protocol:OneWriteHttpToolsProtocol",
        access_log=args.access_log,
        proxy_headers=True,
        server_header=False,
        log_level="info",
        # WTP_LOG_FORMAT: uvicorn's text lines, or JSON; query secrets hidden either way.
        log_config=log_config(settings.log_format),
    )


def _migrate(_args: argparse.Namespace) -> int:
    from wtp_oauth import migrations

    settings = preflight.load_settings()
    preflight.check_database(settings.database_url, migrated=False)
    migrations.upgrade(settings.database_url)
    print("database is at head")
    return 0


def _openapi(_args: argparse.Namespace) -> int:
    from wtp_oauth.app import create_app

    print(json.dumps(create_app(preflight.load_settings()).openapi(), indent=2, sort_keys=False))
    return 0


def _password(given: str | None) -> str:
    """``--password``, else typed twice on a terminal, else the first line of standard input."""
    if given is not None:
        return given
    if sys.stdin is not None and sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != password:
            raise Refused("--password: the two passwords typed differ")
        return password
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line:
        raise Refused(
            "--password is required when there is no terminal (or pipe the password, one "
            "line, to standard input)"
        )
    return line.removesuffix("\n").removesuffix("\r")


def _create_user(args: argparse.Namespace) -> int:
    from wtp_oauth.operations import create_user

    settings = preflight.load_settings()
    preflight.check_database(settings.database_url, migrated=True)
    password = _password(args.password)
    user_id = asyncio.run(create_user(settings, args.username, args.email, password))
    print(json.dumps({"id": user_id, "username": args.username}))
    return 0


def _create_client(args: argparse.Namespace) -> int:
    from wtp_oauth.operations import create_client

    settings = preflight.load_settings()
    preflight.check_database(settings.database_url, migrated=True)
    created = asyncio.run(
        create_client(
            settings,
            owner=args.owner,
            name=args.name,
            redirect_uris=args.redirect_uri or [],
            client_type="public" if args.public else "confidential",
            grant_types=args.grant_type,
            post_logout_redirect_uris=args.post_logout_redirect_uri,
            id_token_signed_response_alg=args.id_token_signed_response_alg,
        )
    )
    print(json.dumps(created))
    return 0


def _purge(_args: argparse.Namespace) -> int:
    from wtp_oauth.operations import purge

    settings = preflight.load_settings()
    preflight.check_database(settings.database_url, migrated=True)
    print(json.dumps(asyncio.run(purge(settings))))
    return 0


def _settings_help(names: Sequence[str], note: str = "") -> str:
    """The ``WTP_*`` variables a command reads, with their meaning and default."""
    lines = ["settings (environment variables):"]
    for name in names:
        field = Settings.model_fields[name]
        default = _DEFAULT_LABELS.get(name, str(field.default))
        text = f"{field.description} (default: {default})"
        lines += textwrap.wrap(
            text,
            width=96,
            initial_indent=f"  {'WTP_' + name.upper():<26}",
            subsequent_indent=" " * 28,
        )
    if note:
        lines += ["", *textwrap.wrap(note, width=96)]
    return "\n".join(lines)


def _command(
    commands: Any,
    name: str,
    run: Callable[[argparse.Namespace], int],
    summary: str,
    description: str,
    settings: Sequence[str],
    note: str = "",
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=textwrap.fill(description, width=96),
        epilog=_settings_help(settings, note) if settings else note,
        formatter_class=_Formatter,
    )
    parser.set_defaults(run=run)
    return parser


def _add_create_client(commands: Any) -> None:
    client = _command(
        commands,
        "create-client",
        _create_client,
        "register an application; print its client_id and client_secret",
        "Register an application (OAuth client) owned by an existing user, as the developer "
        "portal does, and print its client_id and client_secret as JSON. The secret is shown "
        "only now; public clients have none.",
        _DATABASE,
    )
    client.add_argument("--owner", required=True, help="the owner's username (see create-user)")
    client.add_argument("--name", required=True, help="the name users see on the consent page")
    client.add_argument(
        "--redirect-uri",
        action="append",
        metavar="URI",
        help="where codes are sent: https, or http on a loopback host; repeat for several "
        "(at least one for the authorization_code grant)",
    )
    client.add_argument(
        "--public",
        action="store_true",
        help="a public client (an app that cannot keep a secret): no secret, PKCE required "
        "(default: confidential, with a secret)",
    )
    client.add_argument(
        "--grant-type",
        action="append",
        metavar="GRANT_TYPE",
        help="repeatable; RFC 7591 names (default: authorization_code and refresh_token)",
    )
    client.add_argument(
        "--post-logout-redirect-uri",
        action="append",
        metavar="URI",
        help="repeatable; where people may be sent after signing out",
    )
    client.add_argument(
        "--id-token-signed-response-alg",
        metavar="ALG",
        help="how its ID tokens are signed: ES256 (the default) or RS256",
    )


def _rotate_keys(_args: argparse.Namespace) -> int:
    from wtp_oauth.operations import rotate_keys

    settings = preflight.load_settings()
    preflight.check_database(settings.database_url, migrated=True)
    print(json.dumps(asyncio.run(rotate_keys(settings))))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="wtp-oauth", description=DESCRIPTION, formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"wtp-oauth {__version__}")
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")

    serve = _command(
        commands,
        "serve",
        _serve,
        "migrate the database, then serve HTTP",
        "Migrate the database to the latest schema (unless --no-migrate), then serve the "
        "authorization server over HTTP with uvicorn.",
        _ALL_SETTINGS,
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; 0.0.0.0 for all interfaces (default: 127.0.0.1)",
    )
    serve.add_argument("--port", type=_port, default=8000, help="port (default: 8000)")
    serve.add_argument("--workers", type=_positive, default=1, help="worker processes (default: 1)")
    serve.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not migrate first; refuse to start if the database is not migrated",
    )
    serve.add_argument("--access-log", action="store_true", help="log every request")

    _command(
        commands,
        "migrate",
        _migrate,
        "migrate the database to the latest schema",
        "Create the tables, or bring them to the latest schema (Alembic migrations). Safe to "
        "run again: a database at the latest schema is left as it is.",
        _DATABASE,
    )
    _command(
        commands,
        "openapi",
        _openapi,
        "print the OpenAPI schema",
        "Print the OpenAPI schema of the HTTP API as JSON (openapi.json is its output). Opens "
        "no database.",
        (),
        note="No setting changes the output; WTP_* variables that are set are still checked.",
    )
    user = _command(
        commands,
        "create-user",
        _create_user,
        "create an account",
        "Create an account, as the sign-up page does, and print its id as JSON. The password "
        "is asked for on a terminal; without one it is read from the first line of standard "
        "input (printf '%s\\n' \"$PASSWORD\" | wtp-oauth create-user ...).",
        _DATABASE,
    )
    user.add_argument("--username", required=True, help="3 to 32 letters, digits, '.', '_' or '-'")
    user.add_argument("--email", required=True, help="the account's email address")
    user.add_argument(
        "--password",
        help="at least 8 characters; visible to other users of this machine in the process "
        "list, so prefer the prompt or standard input",
    )
    _add_create_client(commands)
    _command(
        commands,
        "purge",
        _purge,
        "delete expired codes, tokens, sessions and throttle records",
        "Delete what can never be used again: authorization codes a day after they expire, "
        "expired access and refresh tokens (revoked ones a day after their revocation), "
        "expired consent requests and sign-in sessions, and failed sign-ins and client "
        "authentications older than 15 minutes. Rows go in batches of "
        "5,000, each in a short transaction of its own, so purging is safe while the server "
        "runs. Prints the rows deleted per table as JSON; run it from cron, e.g. daily.",
        _DATABASE,
    )
    _command(
        commands,
        "rotate-keys",
        _rotate_keys,
        "sign ID tokens with new keys (the old ones stay published)",
        "Create new ID token signing keys (ES256 and RS256). Every node publishes them in its "
        "JWKS within seconds and signs with them a few seconds later; the keys they replace "
        "stay published until every ID token they signed has expired, then purge drops them. "
        "Prints the new keys' ids as JSON.",
        _DATABASE,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = args.run(args)
    except (Refused, ValueError) as exc:
        # ValueError: bad input to create-user / create-client (wtp_oauth.operations).
        print(f"wtp-oauth: {exc}", file=sys.stderr)
        return 2
    except (SQLAlchemyError, CommandError) as exc:
        # The database refused what the command asked for (after it answered the checks).
        cause = getattr(exc, "orig", None) or exc
        first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else repr(cause)
        print(f"wtp-oauth: WTP_DATABASE_URL: {first_line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (wtp-oauth openapi | head): nothing left to say to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
