"""The HTML pages beyond sign-in and consent: home, developer portal, settings, docs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from wtp_oauth.deps import SignedInDep, StateDep
from wtp_oauth.web import render

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request, state: StateDep, signed_in: SignedInDep) -> HTMLResponse:
    return render(state, request, "home.html", signed_in=signed_in)
