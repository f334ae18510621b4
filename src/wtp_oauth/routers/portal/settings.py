"""The user's settings: the applications they have authorized, and taking access back (SPEC §7)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from wtp_oauth.deps import SignedInDep, StateDep, UsersDep
from wtp_oauth.errors import NotFound
from wtp_oauth.routers.portal._pages import FormStr, form_user, not_found, page, sign_in_first
from wtp_oauth.scopes import SCOPES

router = APIRouter(include_in_schema=False)


@router.get("/settings")
async def settings_home() -> RedirectResponse:
    return RedirectResponse("/settings/authorizations", status_code=303)


@router.get("/settings/authorizations")
async def authorizations(
    request: Request, state: StateDep, signed_in: SignedInDep, users: UsersDep
) -> Response:
    if signed_in is None:
        return sign_in_first("/settings/authorizations")
    context = {
        "authorizations": await users.authorizations(signed_in[1].id),
        "scopes": SCOPES,
        "revoked": request.query_params.get("revoked") == "1",
    }
    return page(state, request, signed_in, "settings/authorizations.html", context)


@router.post("/settings/authorizations/{client_id}/revoke")
async def revoke_authorization(
    client_id: str,
    request: Request,
    state: StateDep,
    signed_in: SignedInDep,
    users: UsersDep,
    csrf_token: FormStr = "",
) -> Response:
    checked = form_user(state, request, signed_in, csrf_token, "/settings/authorizations")
    if isinstance(checked, Response):
        return checked
    signed_in = checked
    try:
        await users.revoke_authorization(signed_in[1].id, client_id)
    except NotFound as exc:
        return not_found(state, request, signed_in, exc)
    return RedirectResponse("/settings/authorizations?revoked=1", status_code=303)
