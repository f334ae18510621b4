"""The developer portal: register, inspect, edit, rotate and delete applications (SPEC §4, §8).

Every form posts with a CSRF token bound to the browser session and is answered with 303 See
Other, or with the same page showing what is wrong. The handlers call ``Applications``, the
service behind the JSON API, so every rule exists once. A client secret is shown only in the
answer to the POST that made it: never in a URL or a cookie.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from wtp_oauth.deps import ApplicationsDep, SignedInDep, StateDep
from wtp_oauth.errors import DomainError, NotFound
from wtp_oauth.models import Application
from wtp_oauth.routers.portal._pages import (
    FormStr,
    SignedIn,
    form_user,
    not_found,
    page,
    sign_in_first,
)
from wtp_oauth.schemas import ApplicationCreate, ApplicationUpdate
from wtp_oauth.state import AppState
from wtp_oauth.web import error_page, problems

router = APIRouter(include_in_schema=False)

_HINTS = {
    "name": "Name: 1 to 100 characters.",
    "description": "Description: at most 1,000 characters.",
    "redirect_uris": "Redirect URIs: 1 to 20, one per line, each at most 2,000 characters.",
    "client_type": "Client type: choose confidential or public.",
}


def _app_path(client_id: str, action: str = "") -> str:
    path = f"/developers/applications/{quote(client_id, safe='')}"
    return f"{path}/{action}" if action else path


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _example_link(state: AppState, application: Application) -> str:
    """An authorization link for the application's first redirect URI (the docs explain it)."""
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


@router.get("/developers")
async def developers(
    request: Request, state: StateDep, signed_in: SignedInDep, apps: ApplicationsDep
) -> Response:
    if signed_in is None:
        return sign_in_first("/developers")
    context = {
        "applications": await apps.owned_by(signed_in[1]),
        "deleted": request.query_params.get("deleted") == "1",
    }
    return page(state, request, signed_in, "developers/index.html", context)


@router.get("/developers/applications/new")
async def new_application(request: Request, state: StateDep, signed_in: SignedInDep) -> Response:
    if signed_in is None:
        return sign_in_first("/developers/applications/new")
    form = {"client_type": "confidential"}
    return page(state, request, signed_in, "developers/new.html", {"form": form})


@router.post("/developers/applications")
async def create_application(
    request: Request,
    state: StateDep,
    signed_in: SignedInDep,
    apps: ApplicationsDep,
    name: FormStr = "",
    description: FormStr = "",
    redirect_uris: FormStr = "",
    client_type: FormStr = "confidential",
    csrf_token: FormStr = "",
) -> Response:
    checked = form_user(state, request, signed_in, csrf_token, "/developers/applications/new")
    if isinstance(checked, Response):
        return checked
    signed_in = checked
    uris = _lines(redirect_uris)
    try:
        data = ApplicationCreate(
            name=name,
            description=description,
            redirect_uris=uris,
            client_type=client_type,
        )
        registered = await apps.register(signed_in[1], data)
    except (ValidationError, DomainError) as exc:
        form = {
            "name": name,
            "description": description,
            "redirect_uris": redirect_uris,
            "client_type": client_type,
        }
        errors = problems(exc, _HINTS, {"redirect_uris": uris})
        context: dict[str, Any] = {"form": form, "errors": errors}
        return page(state, request, signed_in, "developers/new.html", context, status_code=422)
    context = {
        "application": registered.application,
        "client_secret": registered.client_secret,
        "created": True,
        "example_link": _example_link(state, registered.application),
    }
    return page(state, request, signed_in, "developers/secret.html", context)


async def _mine(
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
        checked = form_user(state, request, signed_in, csrf_token, _app_path(client_id))
        if isinstance(checked, Response):
            return checked
        signed_in = checked
    if signed_in is None:
        return sign_in_first(_app_path(client_id, action))
    try:
        return signed_in, await apps.get(signed_in[1], client_id)
    except NotFound as exc:
        return not_found(state, request, signed_in, exc)


def _form_of(application: Application) -> dict[str, str]:
    """The settings forms' fields as the application has them now."""
    return {
        "name": application.name,
        "description": application.description,
        "redirect_uris": "\n".join(application.redirect_uris),
    }


async def _application_page(
    state: AppState,
    request: Request,
    signed_in: SignedIn,
    application: Application,
    *,
    errors: dict[str, list[str]] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "application": application,
        "example_link": _example_link(state, application),
        "saved": request.query_params.get("saved") == "1",
        "errors": errors or {},
        "form": form or _form_of(application),
    }
    return page(
        state, request, signed_in, "developers/application.html", context, status_code=status_code
    )


@router.get("/developers/applications/{client_id}")
async def application(
    client_id: str,
    request: Request,
    state: StateDep,
    signed_in: SignedInDep,
    apps: ApplicationsDep,
) -> Response:
    mine = await _mine(request, state, signed_in, apps, client_id)
    if isinstance(mine, Response):
        return mine
    return await _application_page(state, request, *mine)


async def _update(
    request: Request,
    state: AppState,
    signed_in: SignedIn | None,
    apps: ApplicationsDep,
    client_id: str,
    csrf_token: str,
    changes: dict[str, Any],
    section: str,
) -> Response:
    """Apply a settings form; on a bad value show the page again with the problems."""
    mine = await _mine(request, state, signed_in, apps, client_id, csrf_token=csrf_token)
    if isinstance(mine, Response):
        return mine
    owner, current = mine
    try:
        await apps.update(owner[1], client_id, ApplicationUpdate(**changes))
    except (ValidationError, DomainError) as exc:
        submitted = _form_of(current) | {
            key: "\n".join(value) if isinstance(value, list) else value
            for key, value in changes.items()
        }
        found = problems(exc, _HINTS, {"redirect_uris": changes.get("redirect_uris", [])})
        return await _application_page(
            state,
            request,
            owner,
            current,
            errors={section: found},
            form=submitted,
            status_code=422,
        )
    return RedirectResponse(_app_path(client_id) + "?saved=1", status_code=303)


@router.post("/developers/applications/{client_id}/redirect-uris")
async def update_redirect_uris(
    client_id: str,
    request: Request,
    state: StateDep,
    signed_in: SignedInDep,
    apps: ApplicationsDep,
    redirect_uris: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    changes = {"redirect_uris": _lines(redirect_uris)}
    return await _update(
        request, state, signed_in, apps, client_id, csrf_token, changes, "redirect_uris"
    )


@router.post("/developers/applications/{client_id}/details")
async def update_details(
    client_id: str,
    request: Request,
    state: StateDep,
    signed_in: SignedInDep,
    apps: ApplicationsDep,
    name: FormStr = "",
    description: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    changes = {"name": name, "description": description}
    return await _update(request, state, signed_in, apps, client_id, csrf_token, changes, "details")


async def _confirmation(
    request: Request,
    state: AppState,
    signed_in: SignedIn | None,
    apps: ApplicationsDep,
    client_id: str,
    action: str,
) -> Response:
    """The page that asks before rotating the secret or deleting the application."""
    mine = await _mine(request, state, signed_in, apps, client_id, action=action)
    if isinstance(mine, Response):
        return mine
    owner, found = mine
    return page(state, request, owner, f"developers/{action}.html", {"application": found})


@router.get("/developers/applications/{client_id}/rotate-secret")
async def confirm_rotate_secret(
    client_id: str,
    request: Request,
    state: StateDep,
    signed_in: SignedInDep,
    apps: ApplicationsDep,
) -> Response:
    return await _confirmation(request, state, signed_in, apps, client_id, "rotate-secret")


@router.get("/developers/applications/{client_id}/delete")
async def confirm_delete(
    client_id: str,
    request: Request,
    state: StateDep,
    signed_in: SignedInDep,
    apps: ApplicationsDep,
) -> Response:
    return await _confirmation(request, state, signed_in, apps, client_id, "delete")


@router.post("/developers/applications/{client_id}/rotate-secret")
async def rotate_secret(
    client_id: str,
    request: Request,
    state: StateDep,
    signed_in: SignedInDep,
    apps: ApplicationsDep,
    csrf_token: FormStr = "",
) -> Response:
    mine = await _mine(request, state, signed_in, apps, client_id, csrf_token=csrf_token)
    if isinstance(mine, Response):
        return mine
    owner, found = mine
    try:
        secret = await apps.rotate_secret(owner[1], client_id)
    except DomainError as exc:
        return error_page(state, request, str(exc.detail), signed_in=owner)
    context = {"application": found, "client_secret": secret, "created": False}
    return page(state, request, owner, "developers/secret.html", context)


@router.post("/developers/applications/{client_id}/delete")
async def delete_application(
    client_id: str,
    request: Request,
    state: StateDep,
    signed_in: SignedInDep,
    apps: ApplicationsDep,
    confirm: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    mine = await _mine(request, state, signed_in, apps, client_id, csrf_token=csrf_token)
    if isinstance(mine, Response):
        return mine
    owner, found = mine
    if confirm != "yes":
        error = "Tick the box to confirm that you want to delete this application."
        context = {"application": found, "error": error}
        return page(state, request, owner, "developers/delete.html", context, status_code=422)
    await apps.delete(owner[1], client_id)
    return RedirectResponse("/developers?deleted=1", status_code=303)
