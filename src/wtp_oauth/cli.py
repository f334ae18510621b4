"""``wtp-oauth``: serve, migrate, openapi, create-user, create-client, purge (SPEC §2)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence

from wtp_oauth.config import Settings

_ALL_INTERFACES = {"0.0.0.0", "::", "[::]", ""}  # noqa: S104 (recognised, not bound)


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _serve(args: argparse.Namespace) -> int:
    from wtp_oauth import http_protocol, migrations

    if "WTP_ISSUER" not in os.environ:
        host = "127.0.0.1" if args.host in _ALL_INTERFACES else args.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        os.environ["WTP_ISSUER"] = f"http://{host}:{args.port}"
    # Each worker sizes its token store pools for its share of the host (Settings.token_pools).
    os.environ["WTP_WORKERS"] = str(args.workers)
    settings = Settings()
    http_protocol.head_timeout()  # a bad WTP_HEAD_TIMEOUT is reported here, not per connection
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


def _run_uvicorn(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from wtp_oauth.logs import log_config

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

    migrations.upgrade(Settings().database_url)
    print("database is at head")
    return 0


def _openapi(_args: argparse.Namespace) -> int:
    from wtp_oauth.app import create_app

    print(json.dumps(create_app(Settings()).openapi(), indent=2, sort_keys=False))
    return 0


def _create_user(args: argparse.Namespace) -> int:
    from wtp_oauth.admin import create_user

    password = args.password or getpass.getpass("Password: ")
    user_id = asyncio.run(create_user(Settings(), args.username, args.email, password))
    print(json.dumps({"id": user_id, "username": args.username}))
    return 0


def _create_client(args: argparse.Namespace) -> int:
    from wtp_oauth.admin import create_client

    created = asyncio.run(
        create_client(
            Settings(),
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
    from wtp_oauth.admin import purge

    removed = asyncio.run(purge(Settings()))
    print(json.dumps(removed))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wtp-oauth", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate the database and serve")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--no-migrate", action="store_true", help="do not migrate first")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(run=_serve)

    commands.add_parser("migrate", help="migrate the database to head").set_defaults(run=_migrate)
    commands.add_parser("openapi", help="print the OpenAPI schema").set_defaults(run=_openapi)

    user = commands.add_parser("create-user", help="create an account")
    user.add_argument("--username", required=True)
    user.add_argument("--email", required=True)
    user.add_argument("--password", help="prompted for when omitted")
    user.set_defaults(run=_create_user)

    client = commands.add_parser("create-client", help="register an application")
    client.add_argument("--owner", required=True, help="the owner's username")
    client.add_argument("--name", required=True)
    client.add_argument(
        "--redirect-uri",
        action="append",
        help="repeatable; at least one for the authorization_code grant",
    )
    client.add_argument("--public", action="store_true", help="a public client (PKCE, no secret)")
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
    client.set_defaults(run=_create_client)

    commands.add_parser(
        "purge", help="delete expired codes, tokens, sessions and throttle records"
    ).set_defaults(run=_purge)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except ValueError as exc:
        print(f"wtp-oauth: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
