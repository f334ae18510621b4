"""The third-party application of the browser tests: a callback server on a loopback port.

It plays a developer's web app: it receives the browser at its redirect URI, exchanges the
code with the developer guide's Python snippet (httpx in place of requests), reads
``/api/users/@me`` with the access token, and shows the browser who signed in.
"""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx


@dataclass
class Visit:
    """One arrival of the browser at the callback, and what the app did with it."""

    query: dict[str, str]
    token_response: dict[str, Any] = field(default_factory=dict)
    me_status: int | None = None
    me: dict[str, Any] = field(default_factory=dict)


class CallbackApp:
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.client_id = ""
        self.client_secret = ""
        self.visits: list[Visit] = []
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/callback":
                    self.send_response(204)  # e.g. /favicon.ico
                    self.end_headers()
                    return
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                try:
                    body = app.arrive(query)
                except Exception as exc:  # shown in the browser, so that the test says why
                    body = _page("The callback failed", repr(exc))
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.redirect_uri = f"{self.base}/callback"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CallbackApp:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def arrive(self, query: dict[str, str]) -> bytes:
        visit = Visit(query=query)
        self.visits.append(visit)
        if "code" not in query:
            title = f"Not signed in: {query.get('error', 'no code')}"
            return _page(title, query.get("error_description", ""))
        CLIENT_ID, CLIENT_SECRET, CODE_FROM_URL = self.client_id, self.client_secret, query["code"]

        # The developer guide's snippet, with httpx in place of requests.
        headers = {"Authorization": f"Bearer {CLIENT_SECRET}"}
        response = httpx.post(
            f"{self.issuer}/api/oauth/token",
            json={
                "code": CODE_FROM_URL,
                "grand_type": "authorization_code",
                "client_id": CLIENT_ID,
            },
            headers=headers,
            timeout=30,  # requests, which the guide uses, has no timeout at all
        )
        access_token = response.json().get("access_token")

        visit.token_response = response.json()
        me = httpx.get(
            f"{self.issuer}/api/users/@me",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=30,
        )
        visit.me_status, visit.me = me.status_code, me.json()
        if me.status_code != 200:
            return _page("Sign-in failed", str(visit.me))
        return _page(f"Signed in as {visit.me['username']}", f"Email: {visit.me.get('email')}")


def _page(title: str, detail: str) -> bytes:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(detail)}</p></body></html>"
    ).encode()
