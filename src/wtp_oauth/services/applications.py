"""Applications: registration, ownership, secret rotation (SPEC §4, §11, §17).

The JSON API, the developer portal and ``create-client`` all call this; the rules live here
once: redirect URIs (RFC 6749 §3.1.2, RFC 8252 §7), the grant types an application may use
(RFC 7591 §2), and names that would speak with the service's voice (SPEC §17).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from wtp_oauth.clock import Clock
from wtp_oauth.errors import DomainError, InvalidInput, NotFound
from wtp_oauth.grant_types import (
    AUTHORIZATION_CODE,
    CONFIDENTIAL_ONLY,
    ISSUE_REFRESH_TOKENS,
    KNOWN_GRANT_TYPES,
    REFRESH_TOKEN,
    USE_REDIRECT_URIS,
)
from wtp_oauth.models import Application, ClientType, User
from wtp_oauth.repositories.applications import ApplicationRepository
from wtp_oauth.schemas import ApplicationCreate, ApplicationUpdate
from wtp_oauth.security.impersonation import SERVICE_NAME, imitates_service
from wtp_oauth.security.redirect_uris import RedirectURIError, validate_registration
from wtp_oauth.security.text import is_identifier
from wtp_oauth.security.tokens import CLIENT_SECRET_PREFIX, digest, new_client_id, new_secret


@dataclass(frozen=True, slots=True)
class Registered:
    application: Application
    # Shown once; None for public clients.
    client_secret: str | None


IMITATES_SERVICE = f"This name imitates {SERVICE_NAME}: choose a name of your own."


def _checked_name(name: str) -> str:
    """SPEC §17: the consent page shows the name; it must not pass for the service."""
    if imitates_service(name):
        raise InvalidInput(["body", "name"], IMITATES_SERVICE)
    return name


def _checked_uris(
    uris: list[str], *, public_client: bool, field: str = "redirect_uris"
) -> list[str]:
    """Redirect URIs, or post-logout redirect URIs: the same rules for both (SPEC §4, §11)."""
    label = "Redirect URI" if field == "redirect_uris" else "Post-logout redirect URI"
    checked: list[str] = []
    for index, uri in enumerate(uris):
        try:
            checked.append(validate_registration(uri, public_client=public_client))
        except RedirectURIError as exc:
            raise InvalidInput(["body", field, index], f"{label} {exc}.") from exc
    # Keep the order, drop repeats.
    return list(dict.fromkeys(checked))


def _checked_grant_types(grant_types: list[str], *, public_client: bool) -> list[str]:
    """RFC 7591 §2 names from the known set, each once, at least one, and a refresh token
    only beside a grant that issues one (RFC 6749 §1.5)."""
    loc: list[str | int] = ["body", "grant_types"]
    if not grant_types:
        raise InvalidInput(loc, "Choose at least one grant type.")
    for index, grant_type in enumerate(grant_types):
        if grant_type not in KNOWN_GRANT_TYPES:
            known = ", ".join(KNOWN_GRANT_TYPES)
            raise InvalidInput(
                [*loc, index], f"Unknown grant type '{grant_type}'; known grant types: {known}."
            )
        if grant_type in grant_types[:index]:
            raise InvalidInput([*loc, index], f"Grant type '{grant_type}' is listed twice.")
        if public_client and grant_type in CONFIDENTIAL_ONLY:
            raise InvalidInput(
                [*loc, index],
                f"Public clients cannot use {grant_type}: it needs a client secret "
                "(RFC 6749 §4.4).",
            )
    if REFRESH_TOKEN in grant_types and not ISSUE_REFRESH_TOKENS.intersection(grant_types):
        issuers = " or ".join(sorted(ISSUE_REFRESH_TOKENS))
        raise InvalidInput(
            loc,
            f"{REFRESH_TOKEN} needs a grant that issues refresh tokens ({issuers}); "
            "on its own the application could never get one.",
        )
    return list(grant_types)


def _needs_redirect_uris(grant_types: list[str], redirect_uris: list[str], field: str) -> None:
    """The authorization code grant sends the browser back to a registered redirect URI."""
    if USE_REDIRECT_URIS.intersection(grant_types) and not redirect_uris:
        raise InvalidInput(
            ["body", field],
            f"Register at least one redirect URI: the {AUTHORIZATION_CODE} grant sends people "
            "back to one.",
        )


class Applications:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._apps = ApplicationRepository(session)
        self._clock = clock

    async def register(self, owner: User, data: ApplicationCreate) -> Registered:
        """RFC 7591 §2's metadata, checked; a confidential client gets its secret, once."""
        public = data.client_type == ClientType.public
        name = _checked_name(data.name)
        grant_types = _checked_grant_types(data.grant_types, public_client=public)
        redirect_uris = _checked_uris(data.redirect_uris, public_client=public)
        _needs_redirect_uris(grant_types, redirect_uris, "redirect_uris")
        post_logout_redirect_uris = _checked_uris(
            data.post_logout_redirect_uris,
            public_client=public,
            field="post_logout_redirect_uris",
        )
        secret = None if public else new_secret(CLIENT_SECRET_PREFIX)
        now = self._clock()
        application = Application(
            client_id=new_client_id(),
            owner_id=owner.id,
            name=name,
            description=data.description,
            client_type=data.client_type,
            secret_digest=None if secret is None else digest(secret),
            redirect_uris=redirect_uris,
            grant_types=grant_types,
            post_logout_redirect_uris=post_logout_redirect_uris,
            id_token_signed_response_alg=data.id_token_signed_response_alg,
            created_at=now,
            updated_at=now,
        )
        await self._apps.add(application)
        return Registered(application=application, client_secret=secret)

    async def owned_by(self, owner: User) -> list[Application]:
        return await self._apps.owned_by(owner.id)

    async def get(self, owner: User, client_id: str) -> Application:
        """The owner's application; anyone else's is simply not found."""
        application = await self._apps.get(client_id) if is_identifier(client_id) else None
        if application is None or application.owner_id != owner.id:
            raise NotFound("Application not found.")
        return application

    async def update(self, owner: User, client_id: str, data: ApplicationUpdate) -> Application:
        """Change what was sent; the rules of :meth:`register` hold for the result."""
        application = await self.get(owner, client_id)
        public = application.is_public
        # Check everything before changing anything: a refused edit changes nothing.
        name = None if data.name is None else _checked_name(data.name)
        grant_types = application.grant_types
        if data.grant_types is not None:
            grant_types = _checked_grant_types(data.grant_types, public_client=public)
        redirect_uris = application.redirect_uris
        if data.redirect_uris is not None:
            redirect_uris = _checked_uris(data.redirect_uris, public_client=public)
        _needs_redirect_uris(
            grant_types,
            redirect_uris,
            "redirect_uris" if data.redirect_uris is not None else "grant_types",
        )
        post_logout_redirect_uris = application.post_logout_redirect_uris
        if data.post_logout_redirect_uris is not None:
            post_logout_redirect_uris = _checked_uris(
                data.post_logout_redirect_uris,
                public_client=public,
                field="post_logout_redirect_uris",
            )
        if name is not None:
            application.name = name
        if data.description is not None:
            application.description = data.description
        if data.id_token_signed_response_alg is not None:
            application.id_token_signed_response_alg = data.id_token_signed_response_alg
        # New lists, so that the ORM sees the JSON columns change.
        application.grant_types = list(grant_types)
        application.redirect_uris = list(redirect_uris)
        application.post_logout_redirect_uris = list(post_logout_redirect_uris)
        application.updated_at = self._clock()
        return await self._apps.save(application)

    async def rotate_secret(self, owner: User, client_id: str) -> str:
        """A new secret; the old one stops working at once."""
        application = await self.get(owner, client_id)
        if application.is_public:
            raise DomainError("Public clients have no secret.")
        secret = new_secret(CLIENT_SECRET_PREFIX)
        application.secret_digest = digest(secret)
        application.updated_at = self._clock()
        await self._apps.save(application)
        return secret

    async def delete(self, owner: User, client_id: str) -> None:
        """Delete the application; all its codes, tokens and consents go with it."""
        await self.get(owner, client_id)
        await self._apps.remove(client_id)
