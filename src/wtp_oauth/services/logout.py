"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2–§3, SPEC §12).

A relying party sends the browser to ``end_session_endpoint`` with the ID token it holds
(``id_token_hint``), its ``client_id``, where to come back (``post_logout_redirect_uri``) and
``state``. Only a hint this server signed, for the user who is signed in, together with a
``post_logout_redirect_uri`` registered for that client (exactly), signs the user out without
asking; anything else asks first. The browser is never sent to an unregistered URI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlmodel.ext.asyncio.session import AsyncSession

from wtp_oauth.clock import Clock
from wtp_oauth.config import Settings
from wtp_oauth.models import BrowserSession, User
from wtp_oauth.oauth.keys import KeyRing
from wtp_oauth.repositories.applications import ApplicationRepository
from wtp_oauth.security.text import has_control, is_identifier

PARAMETERS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state")


@dataclass(frozen=True, slots=True)
class LogoutPlan:
    """What to do with a logout request: sign out without asking (``at_once``), and where to
    send the browser afterwards (``redirect``: None for our own page)."""

    at_once: bool
    redirect: str | None
    # The application that asked, to name on the page (None: unknown).
    application_name: str | None
    # The request's own parameters, carried through the confirmation form.
    params: dict[str, str]


class Logout:
    def __init__(
        self, session: AsyncSession, keys: KeyRing, settings: Settings, clock: Clock
    ) -> None:
        self._apps = ApplicationRepository(session)
        self._keys = keys
        self._settings = settings
        self._clock = clock

    async def plan(
        self, params: Mapping[str, str], signed_in: tuple[BrowserSession, User] | None
    ) -> LogoutPlan:
        """Decide on a logout request (RP-Initiated Logout §2, §3)."""
        kept = {
            name: params[name][:8192]
            for name in PARAMETERS
            if params.get(name) and not has_control(params[name])
        }
        subject, audience = self._hint(kept.get("id_token_hint"))
        client_id = kept.get("client_id")
        if client_id is not None and audience is not None and client_id not in audience:
            # The hint was issued to another client than the one named: trust neither.
            subject, audience, client_id = None, None, None
        if client_id is None and audience is not None and len(audience) == 1:
            client_id = audience[0]
        application = None
        if client_id is not None and is_identifier(client_id):
            application = await self._apps.get(client_id)
        target = kept.get("post_logout_redirect_uri")
        redirect = None
        if application is not None and target in application.post_logout_redirect_uris:
            redirect = _with_state(target, kept.get("state"))
        user_matches = subject is not None and (signed_in is None or signed_in[1].id == subject)
        return LogoutPlan(
            at_once=user_matches and redirect is not None,
            redirect=redirect,
            application_name=application.name if application is not None else None,
            params=kept,
        )

    def _hint(self, hint: str | None) -> tuple[str | None, list[str] | None]:
        """The ``sub`` and ``aud`` of an ID token this server signed (expired or not)."""
        if hint is None:
            return None, None
        claims = self._keys.verified_claims(hint, self._clock())
        if claims is None or claims.get("iss") != self._settings.issuer:
            return None, None
        subject, audience = claims.get("sub"), claims.get("aud")
        if isinstance(audience, str):
            audience = [audience]
        if not isinstance(subject, str) or not isinstance(audience, list):
            return None, None
        return subject, [str(entry) for entry in audience]


def _with_state(uri: str, state: str | None) -> str:
    if state is None:
        return uri
    return uri + ("&" if "?" in uri else "?") + urlencode({"state": state})
