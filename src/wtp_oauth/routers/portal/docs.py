"""Documentation for third-party developers, with examples against this server's issuer."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from wtp_oauth.config import Settings
from wtp_oauth.deps import SignedInDep, StateDep
from wtp_oauth.pages import error_page, render
from wtp_oauth.scopes import SCOPES

router = APIRouter(include_in_schema=False)

_PAGES = {
    "oauth": "docs/oauth.html",
    "oauth/scopes": "docs/scopes.html",
    "openid-connect": "docs/openid-connect.html",
    "user": "docs/user.html",
}


def duration(seconds: int) -> str:
    """A lifetime in words: ``300`` → ``"5 minutes"``, ``2592000`` → ``"30 days"``."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"


def _facts(settings: Settings) -> dict[str, object]:
    """What the examples say about this server, from its settings."""
    return {
        "issuer_query": quote(settings.issuer, safe=""),
        "code_ttl": duration(settings.code_ttl),
        "access_token_ttl": duration(settings.access_token_ttl),
        "access_token_ttl_seconds": settings.access_token_ttl,
        "refresh_token_ttl": duration(settings.refresh_token_ttl),
        "device_code_ttl": duration(settings.device_code_ttl),
        "device_poll_interval": duration(settings.device_poll_interval),
        "id_token_ttl": duration(settings.id_token_ttl),
    }


@router.get("/developers/docs")
async def docs_home() -> RedirectResponse:
    return RedirectResponse("/developers/docs/oauth", status_code=303)


@router.get("/developers/docs/{page:path}")
async def docs(
    page: str, request: Request, state: StateDep, signed_in: SignedInDep
) -> HTMLResponse:
    name = page.rstrip("/")
    template = _PAGES.get(name)
    if template is None:
        return error_page(
            state,
            request,
            "There is no documentation page at this address.",
            status_code=404,
            title="Not found",
            hint="Start from the OAuth guide at /developers/docs/oauth.",
            signed_in=signed_in,
        )
    context = {"scopes": SCOPES, "docs_page": name, **_facts(state.settings)}
    return render(state, request, template, context, signed_in=signed_in)
