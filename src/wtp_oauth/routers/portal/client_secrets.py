"""The developer portal's client secrets: rotating one, and the page that shows a new one once
(SPEC §4, §17).

The POST that makes a secret (registering, in ``developers.py``, or rotating, here) answers 303
See Other to ``…/secret``, which shows the secret kept for it (``services/secret_reveals.py``)
and forgets it: a reload, or the page found in the history, says the secret was already shown.
Every page here is sent with ``Cache-Control: no-store``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from wtp_oauth.deps import ApplicationsDep, SignedInDep, StateDep
from wtp_oauth.errors import DomainError
from wtp_oauth.models import Application
from wtp_oauth.pages import error_page
from wtp_oauth.routers.portal._applications import (
    REVEAL_COOKIE,
    SecretRevealsDep,
    app_path,
    forget_reveal,
    mine,
    to_secret_page,
)
from wtp_oauth.routers.portal._pages import FormStr, page
from wtp_oauth.state import AppState

router = APIRouter(include_in_schema=False)

ALREADY_SHOWN = "This secret was already shown; rotate it to get a new one."


def example_link(state: AppState, application: Application) -> str | None:
    """An authorization link for the application's first redirect URI (the docs explain it)."""
    if not application.redirect_uris:
        return None
    params = {
        "client_id": application.client_id,
        "scopes": "user.read",
        "redirect_uri": application.redirect_uris[0],
        "response_type": "code",
        "state": "RANDOM_STATE",
    }
    if application.is_public:
        params |= {"code_challenge": "CODE_CHALLENGE", "code_challenge_method": "S256"}
    return f"{state.settings.issuer}/oauth/authorize?{urlencode(params, safe='')}"


@router.get("/developers/applications/{client_id}/rotate-secret")
async def confirm_rotate_secret(
    client_id: str,
    request: Request,
    state: StateDep,
    signed_in: SignedInDep,
    apps: ApplicationsDep,
) -> Response:
    found = await mine(request, state, signed_in, apps, client_id, action="rotate-secret")
    if isinstance(found, Response):
        return found
    owner, application = found
    return page(
        state, request, owner, "developers/rotate-secret.html", {"application": application}
    )


@router.post("/developers/applications/{client_id}/rotate-secret")
async def rotate_secret(
    client_id: str,
    request: Request,
    state: StateDep,
    signed_in: SignedInDep,
    apps: ApplicationsDep,
    reveals: SecretRevealsDep,
    csrf_token: FormStr = "",
) -> Response:
    found = await mine(request, state, signed_in, apps, client_id, csrf_token=csrf_token)
    if isinstance(found, Response):
        return found
    owner, application = found
    try:
        secret = await apps.rotate_secret(owner[1], client_id)
    except DomainError as exc:
        return error_page(state, request, str(exc.detail), signed_in=owner)
    key = await reveals.keep(owner[0].token_digest, application, secret, created=False)
    return to_secret_page(state, application.client_id, key)


@router.get("/developers/applications/{client_id}/secret")
async def show_secret(
    client_id: str,
    request: Request,
    state: StateDep,
    signed_in: SignedInDep,
    apps: ApplicationsDep,
    reveals: SecretRevealsDep,
) -> Response:
    """The new secret, once; afterwards, that it was already shown."""
    found = await mine(request, state, signed_in, apps, client_id, action="secret")
    if isinstance(found, Response):
        return found
    owner, application = found
    key = request.cookies.get(REVEAL_COOKIE, "")
    reveal = await reveals.take(key, owner[0].token_digest, application)
    response: Response
    if reveal is not None:
        context = {
            "application": application,
            "client_secret": reveal.client_secret,
            "created": reveal.created,
            "example_link": example_link(state, application) if reveal.created else None,
        }
        response = page(state, request, owner, "developers/secret.html", context)
    elif application.is_public:
        # A public client has no secret to miss: its page says all there is.
        response = RedirectResponse(app_path(application.client_id), status_code=303)
    else:
        context = {"application": application, "message": ALREADY_SHOWN}
        response = page(
            state, request, owner, "developers/secret-shown.html", context, status_code=410
        )
    if key:
        forget_reveal(response, state, application.client_id)
    return response
