"""What the developer portal's pages share: the owner's application from the path, and the
redirect to the page that shows a new client secret once."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from wtp_oauth.deps import ApplicationsDep, DbDep, StateDep
from wtp_oauth.errors import NotFound
from wtp_oauth.models import Application
from wtp_oauth.pages import NO_CACHE
from wtp_oauth.routers.portal._pages import SignedIn, form_user, not_found, sign_in_first
from wtp_oauth.services.secret_reveals import REVEAL_TTL, SecretReveals
from wtp_oauth.state import AppState

# Holds the key of a secret waiting to be shown, only on the page that shows it.
REVEAL_COOKIE = "wtp_reveal"


async def _secret_reveals(db: DbDep, state: StateDep) -> SecretReveals:
    return SecretReveals(db, state.clock)


SecretRevealsDep = Annotated[SecretReveals, Depends(_secret_reveals)]


def app_path(client_id: str, action: str = "") -> str:
    path = f"/developers/applications/{quote(client_id, safe='')}"
    return f"{path}/{action}" if action else path


async def mine(
    request: Request,
    state: AppState,
    signed_in: SignedIn | None,
    apps: ApplicationsDep,
    client_id: str,
    *,
    csrf_token: str | None = None,
    action: str = "",
) -> tuple[SignedIn, Application] | Response:
    """The signed-in owner and their application named in the path, or the answer instead:
    sign in first, the form expired (a POST's ``csrf_token``), or a 404 page (not theirs)."""
    if csrf_token is not None:
        checked = form_user(state, request, signed_in, csrf_token, app_path(client_id))
        if isinstance(checked, Response):
            return checked
        signed_in = checked
    if signed_in is None:
        return sign_in_first(app_path(client_id, action))
    try:
        return signed_in, await apps.get(signed_in[1], client_id)
    except NotFound as exc:
        return not_found(state, request, signed_in, exc)


def to_secret_page(state: AppState, client_id: str, key: str) -> RedirectResponse:
    """303 See Other to the page that shows the secret kept under ``key`` (post/redirect/get:
    reloading that page repeats nothing). The key goes in a cookie for that page alone."""
    path = app_path(client_id, "secret")
    response = RedirectResponse(path, status_code=303, headers=NO_CACHE)
    response.set_cookie(
        REVEAL_COOKIE,
        key,
        max_age=int(REVEAL_TTL.total_seconds()),
        path=path,
        httponly=True,
        samesite="lax",
        secure=state.settings.secure_cookies,
    )
    return response


def forget_reveal(response: Response, state: AppState, client_id: str) -> None:
    response.delete_cookie(
        REVEAL_COOKIE,
        path=app_path(client_id, "secret"),
        httponly=True,
        samesite="lax",
        secure=state.settings.secure_cookies,
    )
