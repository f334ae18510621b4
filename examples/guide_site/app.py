"""A third-party site that offers "Sign in with Wants to Party", exactly as the developer
guide describes: a link to the authorize page with ``state``, a callback that checks ``state``,
exchanges the code with the guide's ``requests`` snippet, and shows the profile.

Run it against a server (README.md beside this file)::

    python examples/guide_site/app.py --server http://127.0.0.1:8000 \\
        --client-id CLIENT_ID --client-secret CLIENT_SECRET --port 9000

Register ``http://127.0.0.1:9000/callback`` as the application's redirect URI first.
"""

from __future__ import annotations

import argparse
import html
import os
import secrets
import sys
from dataclasses import dataclass
from urllib.parse import urlencode

import requests
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

STATE_COOKIE = "guide_site_state"


@dataclass(frozen=True)
class Config:
    server: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scopes: str = "user.read"


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title></head>"
        f"<body style='font-family: sans-serif; max-width: 32rem; margin: 2rem auto; "
        f"padding: 0 1rem'><h1>{html.escape(title)}</h1>{body}</body></html>",
        status_code=status_code,
    )


def create_app(config: Config) -> Starlette:
    """The site: ``/`` offers the sign-in link, ``/callback`` finishes it."""

    async def home(request: Request) -> Response:
        # The guide's link, with a fresh state kept in a cookie of this site (RFC 6749 §10.12).
        state = secrets.token_urlsafe(16)
        link = f"{config.server}/oauth/authorize?" + urlencode(
            {
                "client_id": config.client_id,
                "scopes": config.scopes,
                "redirect_uri": config.redirect_uri,
                "response_type": "code",
                "state": state,
            }
        )
        response = _page(
            "Party Planner",
            f"<p>Plan parties with your friends.</p>"
            f"<p><a id='sign-in' href='{html.escape(link)}'>Sign in with Wants to Party</a></p>",
        )
        response.set_cookie(STATE_COOKIE, state, httponly=True, samesite="lax", max_age=600)
        return response

    def callback(request: Request) -> Response:
        # A plain function: Starlette runs it in a thread, where the guide's blocking
        # requests calls are at home.
        expected = request.cookies.get(STATE_COOKIE)
        state = request.query_params.get("state")
        if not expected or not state or not secrets.compare_digest(expected, state):
            return _page("Sign-in failed", "<p>The state does not match: try again.</p>", 400)
        if "error" in request.query_params:
            reason = html.escape(request.query_params["error"])
            return _page("Sign-in cancelled", f"<p id='error'>{reason}</p>", 400)
        code = request.query_params.get("code", "")

        # The developer guide's snippet, pointed at this server.
        headers = {"Authorization": f"Bearer {config.client_secret}"}
        response = requests.post(
            f"{config.server}/api/oauth/token",
            json={
                "code": code,
                "grand_type": "authorization_code",
                "client_id": config.client_id,
            },
            headers=headers,
            timeout=10,
        )
        access_token = response.json().get("access_token")
        if not access_token:
            return _page("Sign-in failed", "<p>The code could not be exchanged.</p>", 400)

        profile = requests.get(
            f"{config.server}/api/users/@me",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=10,
        ).json()
        answer = _page(
            "Signed in",
            f"<p>Welcome, <strong id='display-name'>{html.escape(profile['display_name'])}"
            f"</strong> (<span id='username'>@{html.escape(profile['username'])}</span>).</p>"
            f"<p><a href='/'>Back</a></p>",
        )
        answer.delete_cookie(STATE_COOKIE)
        return answer

    return Starlette(routes=[Route("/", home), Route("/callback", callback)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="An example site with Sign in with Wants to Party")
    parser.add_argument("--server", default=os.environ.get("WTP_SERVER", "http://127.0.0.1:8000"))
    parser.add_argument("--client-id", default=os.environ.get("WTP_CLIENT_ID"), required=False)
    parser.add_argument("--client-secret", default=os.environ.get("WTP_CLIENT_SECRET"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args(argv)
    if not args.client_id or not args.client_secret:
        print("guide_site: --client-id and --client-secret are required", file=sys.stderr)
        return 2
    config = Config(
        server=args.server.rstrip("/"),
        client_id=args.client_id,
        client_secret=args.client_secret,
        redirect_uri=f"http://{args.host}:{args.port}/callback",
    )
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
