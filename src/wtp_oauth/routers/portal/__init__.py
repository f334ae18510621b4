"""The HTML pages beyond sign-in and consent (SPEC §8): home, developer portal, settings, docs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from wtp_oauth.deps import SignedInDep, StateDep
from wtp_oauth.pages import render
from wtp_oauth.routers.portal import client_secrets, developers, docs, settings

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request, state: StateDep, signed_in: SignedInDep) -> HTMLResponse:
    return render(state, request, "home.html", signed_in=signed_in)


for _module in (developers, client_secrets, settings, docs):
    router.include_router(_module.router)
