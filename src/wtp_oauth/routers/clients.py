"""Applications, managed by their owner's session (SPEC §4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from wtp_oauth.deps import ApplicationsDep, CurrentUserDep, JsonBody
from wtp_oauth.models import Application
from wtp_oauth.schemas import (
    BAD_BODY,
    NOT_SIGNED_IN,
    ApplicationCreate,
    ApplicationCreated,
    ApplicationOut,
    ApplicationUpdate,
    ClientSecret,
    error_responses,
)

router = APIRouter(tags=["applications"], prefix="/api/applications")

_SESSION: dict[str, Any] = {"security": [{"sessionCookie": []}]}
# SPEC §17 (RFC 9111 §5.2.2.5): an answer that carries a client secret is never stored.
_NO_STORE = {"Cache-Control": "no-store"}
_NOT_FOUND = {404: "No application of yours has this client_id"}


def _out(application: Application) -> ApplicationOut:
    return ApplicationOut.model_validate(application, from_attributes=True)


@router.post(
    "",
    operation_id="createApplication",
    status_code=201,
    dependencies=[JsonBody],
    responses=error_responses({**BAD_BODY, **NOT_SIGNED_IN}),
    openapi_extra=_SESSION,
    summary="Register an application; the secret is shown only in this answer",
)
async def create(
    body: ApplicationCreate, owner: CurrentUserDep, apps: ApplicationsDep, response: Response
) -> ApplicationCreated:
    registered = await apps.register(owner, body)
    response.headers.update(_NO_STORE)
    return ApplicationCreated(
        **_out(registered.application).model_dump(), client_secret=registered.client_secret
    )


@router.get(
    "",
    operation_id="listApplications",
    responses=error_responses(NOT_SIGNED_IN),
    openapi_extra=_SESSION,
    summary="My applications",
)
async def list_mine(owner: CurrentUserDep, apps: ApplicationsDep) -> list[ApplicationOut]:
    return [_out(application) for application in await apps.owned_by(owner)]


@router.get(
    "/{client_id}",
    operation_id="getApplication",
    responses=error_responses({**NOT_SIGNED_IN, **_NOT_FOUND}),
    openapi_extra=_SESSION,
    summary="One application",
)
async def get_one(client_id: str, owner: CurrentUserDep, apps: ApplicationsDep) -> ApplicationOut:
    return _out(await apps.get(owner, client_id))


@router.patch(
    "/{client_id}",
    operation_id="updateApplication",
    dependencies=[JsonBody],
    responses=error_responses({**BAD_BODY, **NOT_SIGNED_IN, **_NOT_FOUND}),
    openapi_extra=_SESSION,
    summary="Change an application's settings; what is not sent stays as it is",
)
async def update(
    client_id: str, body: ApplicationUpdate, owner: CurrentUserDep, apps: ApplicationsDep
) -> ApplicationOut:
    return _out(await apps.update(owner, client_id, body))


@router.delete(
    "/{client_id}",
    operation_id="deleteApplication",
    status_code=204,
    responses=error_responses({**NOT_SIGNED_IN, **_NOT_FOUND}),
    openapi_extra=_SESSION,
    summary="Delete an application and revoke all its tokens",
)
async def delete(client_id: str, owner: CurrentUserDep, apps: ApplicationsDep) -> Response:
    await apps.delete(owner, client_id)
    return Response(status_code=204)


@router.post(
    "/{client_id}/secret",
    operation_id="rotateApplicationSecret",
    responses=error_responses(
        {400: "A public client has no secret", **NOT_SIGNED_IN, **_NOT_FOUND}
    ),
    openapi_extra=_SESSION,
    summary="Issue a new client secret; the old one stops working at once",
)
async def rotate_secret(
    client_id: str, owner: CurrentUserDep, apps: ApplicationsDep, response: Response
) -> ClientSecret:
    secret = await apps.rotate_secret(owner, client_id)
    response.headers.update(_NO_STORE)
    return ClientSecret(client_secret=secret)
