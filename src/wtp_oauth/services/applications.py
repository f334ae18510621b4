"""Applications: registration, ownership, secret rotation (SPEC §4).

The JSON API and the developer portal both call this; the rules live here once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from wtp_oauth.clock import Clock
from wtp_oauth.errors import DomainError, InvalidInput, NotFound
from wtp_oauth.models import Application, ClientType, User
from wtp_oauth.repositories.applications import ApplicationRepository
from wtp_oauth.schemas import ApplicationCreate, ApplicationUpdate
from wtp_oauth.security.redirect_uris import RedirectURIError, validate_registration
from wtp_oauth.security.text import is_identifier
from wtp_oauth.security.tokens import CLIENT_SECRET_PREFIX, digest, new_client_id, new_secret


@dataclass(frozen=True, slots=True)
class Registered:
    application: Application
    # Shown once; None for public clients.
    client_secret: str | None


def _checked_redirect_uris(uris: list[str], *, public_client: bool) -> list[str]:
    checked: list[str] = []
    for index, uri in enumerate(uris):
        try:
            checked.append(validate_registration(uri, public_client=public_client))
        except RedirectURIError as exc:
            raise InvalidInput(["body", "redirect_uris", index], f"Redirect URI {exc}.") from exc
    # Keep the order, drop repeats.
    return list(dict.fromkeys(checked))


class Applications:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._apps = ApplicationRepository(session)
        self._clock = clock

    async def register(self, owner: User, data: ApplicationCreate) -> Registered:
        public = data.client_type == ClientType.public
        redirect_uris = _checked_redirect_uris(data.redirect_uris, public_client=public)
        secret = None if public else new_secret(CLIENT_SECRET_PREFIX)
        now = self._clock()
        application = Application(
            client_id=new_client_id(),
            owner_id=owner.id,
            name=data.name,
            description=data.description,
            client_type=data.client_type,
            secret_digest=None if secret is None else digest(secret),
            redirect_uris=redirect_uris,
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
        application = await self.get(owner, client_id)
        # Check everything before changing anything: a refused edit changes nothing.
        redirect_uris = None
        if data.redirect_uris is not None:
            redirect_uris = _checked_redirect_uris(
                data.redirect_uris, public_client=application.is_public
            )
        if data.name is not None:
            application.name = data.name
        if data.description is not None:
            application.description = data.description
        if redirect_uris is not None:
            application.redirect_uris = redirect_uris
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
