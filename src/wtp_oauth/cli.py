"""``wtp-oauth``: serve, migrate, openapi, create-user, create-client, purge, rotate-keys (SPEC §2,
§12)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib.util
import json
import os
import sys
from collections.abc import Sequence

from wtp_oauth.config import Settings

_ALL_INTERFACES = {"0.0.0.0", "::", "[::]", ""}  # noqa: S104 (recognised, not bound)


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from wtp_oauth import migrations

    if "WTP_ISSUER" not in os.environ:
        host = "127.0.0.1" if args.host in _ALL_INTERFACES else args.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        os.environ["WTP_ISSUER"] = f"http://{host}:{args.port}"
    # Each worker sizes its token store pools for its share of the host (Settings.token_pools).
    os.environ["WTP_WORKERS"] = str(args.workers)
    settings = Settings()
    if not args.no_migrate:
        migrations.upgrade(settings.database_url)
    uvicorn.run(
        "wtp_oauth.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # uvloop and httptools (uvicorn[standard]); no access log unless asked for.
        loop="uvloop" if _installed("uvloop") else "asyncio",
        # One write per answer (wtp_oauth.http_protocol) where httptools is installed.
        http=(
            "wtp_oauth.http_protocol:OneWriteHttpToolsProtocol"
            if _installed("httptools")
            else "h11"
        ),
        access_log=args.access_log,
        proxy_headers=True,
        server_header=False,
        log_level="info",
    )
    return 0


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
            redirect_uris=args.redirect_uri,
            client_type="public" if args.public else "confidential",
        )
    )
    print(json.dumps(created))
    return 0


def _purge(_args: argparse.Namespace) -> int:
    from wtp_oauth.admin import purge

    removed = asyncio.run(purge(Settings()))
    print(json.dumps(removed))
    return 0


def _rotate_keys(_args: argparse.Namespace) -> int:
    from wtp_oauth.admin import rotate_keys

    print(json.dumps(asyncio.run(rotate_keys(Settings()))))
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
    client.add_argument("--redirect-uri", action="append", required=True)
    client.add_argument("--public", action="store_true", help="a public client (PKCE, no secret)")
    client.set_defaults(run=_create_client)

    commands.add_parser(
        "purge", help="delete expired codes, tokens, sessions and throttle records"
    ).set_defaults(run=_purge)
    commands.add_parser(
        "rotate-keys", help="sign ID tokens with new keys (the old ones stay published)"
    ).set_defaults(run=_rotate_keys)
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
