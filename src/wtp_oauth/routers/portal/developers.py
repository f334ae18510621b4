"""The developer portal: register, inspect, edit and delete applications (SPEC §4, §8, §11).

Every form posts with a CSRF token bound to the browser session and is answered with 303 See
Other, or with the same page showing what is wrong. The handlers call ``Applications``, the
service behind the JSON API, so every rule exists once. A new client secret is never in the
answer to the POST that made it, nor in a URL: the answer redirects to the page that shows it
once (``client_secrets.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from wtp_oauth.deps import ApplicationsDep, SignedInDep, StateDep
from wtp_oauth.errors import DomainError
from wtp_oauth.grant_types import (
    DEFAULT_GRANT_TYPES,
    DEFAULT_ID_TOKEN_ALG,
    ID_TOKEN_SIGNING_ALGS,
    KNOWN_GRANT_TYPES,
)
from wtp_oauth.models import Application
from wtp_oauth.pages import problems
from wtp_oauth.routers.portal._applications import (
    SecretRevealsDep,
    app_path,
    mine,
    to_secret_page,
)
from wtp_oauth.routers.portal._pages import FormStr, SignedIn, form_user, page, sign_in_first
from wtp_oauth.routers.portal.client_secrets import example_link
from wtp_oauth.schemas import ApplicationCreate, ApplicationUpdate
from wtp_oauth.state import AppState

router = APIRouter(include_in_schema=False)

# Checkboxes: a form always sends one empty ``grant_types`` (a hidden input), so that ticking
# none is told apart from a form that has no such boxes (which keeps the defaults).
FormList = Annotated[list[str] | None, Form()]

_HINTS = {
    "name": "Name: 1 to 100 characters.",
    "description": "Description: at most 1,000 characters.",
    "redirect_uris": "Redirect URIs: at most 20, one per line, each at most 2,000 characters.",
    "client_type": "Client type: choose confidential or public.",
    "grant_types": "Grant types: tick the ones your application uses.",
    "post_logout_redirect_uris": (
        "Sign-out redirect URIs: at most 20, one per line, each at most 2,000 characters."
    ),
    "id_token_signed_response_alg": "ID token signature: choose ES256 or RS256.",
}
# Where the application page shows a problem with each field.
_SECTIONS = {
    "redirect_uris": "redirect_uris",
    "name": "details",
    "description": "details",
    "grant_types": "grants",
    "post_logout_redirect_uris": "grants",
    "id_token_signed_response_alg": "grants",
}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _ticked(values: list[str] | None) -> list[str] | None:
    return None if values is None else [value for value in values if value]


def _choices(context: dict[str, Any]) -> dict[str, Any]:
    return {
        **context,
        "known_grant_types": KNOWN_GRANT_TYPES,
        "id_token_algs": ID_TOKEN_SIGNING_ALGS,
    }


def _problems(exc: ValidationError | DomainError, changes: dict[str, Any]) -> list[str]:
    items = {
        field: changes.get(field) or [] for field in ("redirect_uris", "post_logout_redirect_uris")
    }
    return problems(exc, _HINTS, items)


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
    form = {
        "client_type": "confidential",
        "grant_types": list(DEFAULT_GRANT_TYPES),
        "id_token_signed_response_alg": DEFAULT_ID_TOKEN_ALG,
    }
    return page(state, request, signed_in, "developers/new.html", _choices({"form": form}))


@router.post("/developers/applications")
async def create_application(
    request: Request,
    state: StateDep,
    signed_in: SignedInDep,
    apps: ApplicationsDep,
    reveals: SecretRevealsDep,
    name: FormStr = "",
    description: FormStr = "",
    redirect_uris: FormStr = "",
    client_type: FormStr = "confidential",
    grant_types: FormList = None,
    post_logout_redirect_uris: FormStr = "",
    id_token_signed_response_alg: FormStr = DEFAULT_ID_TOKEN_ALG,
    csrf_token: FormStr = "",
) -> Response:
    checked = form_user(state, request, signed_in, csrf_token, "/developers/applications/new")
    if isinstance(checked, Response):
        return checked
    signed_in = checked
    fields: dict[str, Any] = {
        "name": name,
        "description": description,
        "redirect_uris": _lines(redirect_uris),
        "client_type": client_type,
        "post_logout_redirect_uris": _lines(post_logout_redirect_uris),
        "id_token_signed_response_alg": id_token_signed_response_alg,
    }
    ticked = _ticked(grant_types)
    if ticked is not None:
        fields["grant_types"] = ticked
    try:
        registered = await apps.register(signed_in[1], ApplicationCreate(**fields))
    except (ValidationError, DomainError) as exc:
        form = {
            **fields,
            "redirect_uris": redirect_uris,
            "post_logout_redirect_uris": post_logout_redirect_uris,
            "grant_types": ticked if ticked is not None else list(DEFAULT_GRANT_TYPES),
        }
        context = _choices({"form": form, "errors": _problems(exc, fields)})
        return page(state, request, signed_in, "developers/new.html", context, status_code=422)
    application = registered.application
    key = await reveals.keep(
        signed_in[0].token_digest, application, registered.client_secret, created=True
    )
    return to_secret_page(state, application.client_id, key)


def _form_of(application: Application) -> dict[str, Any]:
    """The settings forms' fields as the application has them now."""
    return {
        "name": application.name,
        "description": application.description,
        "redirect_uris": "\n".join(application.redirect_uris),
        "grant_types": list(application.grant_types),
        "post_logout_redirect_uris": "\n".join(application.post_logout_redirect_uris),
        "id_token_signed_response_alg": application.id_token_signed_response_alg,
    }


async def _application_page(
    state: AppState,
    request: Request,
    signed_in: SignedIn,
    application: Application,
    *,
    errors: dict[str, list[str]] | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "application": application,
        "example_link": example_link(state, application),
        "saved": request.query_params.get("saved") == "1",
        "errors": errors or {},
        "form": form or _form_of(application),
    }
    return page(
        state,
        request,
        signed_in,
        "developers/application.html",
        _choices(context),
        status_code=status_code,
    )


@router.get("/developers/applications/{client_id}")
async def application(
    client_id: str,
    request: Request,
    state: StateDep,
    signed_in: SignedInDep,
    apps: ApplicationsDep,
) -> Response:
    found = await mine(request, state, signed_in, apps, client_id)
    if isinstance(found, Response):
        return found
    return await _application_page(state, request, *found)


async def _update(
    request: Request,
    state: AppState,
    signed_in: SignedIn | None,
    apps: ApplicationsDep,
    client_id: str,
    csrf_token: str,
    changes: dict[str, Any],
) -> Response:
    """Apply a settings form; on a bad value show the page again with the problems."""
    found = await mine(request, state, signed_in, apps, client_id, csrf_token=csrf_token)
    if isinstance(found, Response):
        return found
    owner, current = found
    try:
        await apps.update(owner[1], client_id, ApplicationUpdate(**changes))
    except (ValidationError, DomainError) as exc:
        submitted = _form_of(current) | {
            key: value if key == "grant_types" or not isinstance(value, list) else "\n".join(value)
            for key, value in changes.items()
        }
        # The problem is shown in the section of the form that was sent.
        section = _SECTIONS[next(iter(changes))]
        return await _application_page(
            state,
            request,
            owner,
            current,
            errors={section: _problems(exc, changes)},
            form=submitted,
            status_code=422,
        )
    return RedirectResponse(app_path(client_id) + "?saved=1", status_code=303)


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
    return await _update(request, state, signed_in, apps, client_id, csrf_token, changes)


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
    return await _update(request, state, signed_in, apps, client_id, csrf_token, changes)


@router.post("/developers/applications/{client_id}/grants")
async def update_grants(
    client_id: str,
    request: Request,
    state: StateDep,
    signed_in: SignedInDep,
    apps: ApplicationsDep,
    grant_types: FormList = None,
    post_logout_redirect_uris: FormStr = "",
    id_token_signed_response_alg: FormStr = DEFAULT_ID_TOKEN_ALG,
    csrf_token: FormStr = "",
) -> Response:
    """Grant types, sign-out redirect URIs and the ID token's signature (SPEC §11)."""
    changes = {
        "grant_types": _ticked(grant_types) or [],
        "post_logout_redirect_uris": _lines(post_logout_redirect_uris),
        "id_token_signed_response_alg": id_token_signed_response_alg,
    }
    return await _update(request, state, signed_in, apps, client_id, csrf_token, changes)


@router.get("/developers/applications/{client_id}/delete")
async def confirm_delete(
    client_id: str,
    request: Request,
    state: StateDep,
    signed_in: SignedInDep,
    apps: ApplicationsDep,
) -> Response:
    found = await mine(request, state, signed_in, apps, client_id, action="delete")
    if isinstance(found, Response):
        return found
    owner, application = found
    return page(state, request, owner, "developers/delete.html", {"application": application})


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
    found = await mine(request, state, signed_in, apps, client_id, csrf_token=csrf_token)
    if isinstance(found, Response):
        return found
    owner, application = found
    if confirm != "yes":
        error = "Tick the box to confirm that you want to delete this application."
        context = {"application": application, "error": error}
        return page(state, request, owner, "developers/delete.html", context, status_code=422)
    await apps.delete(owner[1], client_id)
    return RedirectResponse("/developers?deleted=1", status_code=303)
