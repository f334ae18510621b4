"""Profiles and the applications a user has authorized (SPEC §7)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from wtp_oauth.clock import Clock
from wtp_oauth.errors import NotFound
from wtp_oauth.oauth.endpoints.bearer import user_of
from wtp_oauth.oauth.records import AccessTokenRecord, UserProfile
from wtp_oauth.repositories.consents import ConsentRepository
from wtp_oauth.repositories.users import UserRepository
from wtp_oauth.schemas import AuthorizedApplication, Profile, PublicProfile
from wtp_oauth.scopes import parse_scope
from wtp_oauth.security.text import is_identifier


def profile_for(user: UserProfile, token: AccessTokenRecord) -> Profile:
    """The caller's profile; the email only with ``user.email``."""
    return Profile(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        created_at=user.created_at,
        email=user.email if "user.email" in parse_scope(token.scope) else None,
    )


class Users:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._users = UserRepository(session)
        self._grants = ConsentRepository(session)
        self._clock = clock

    async def public_profile(self, user_id: str) -> PublicProfile:
        user = await self._users.get(user_id) if is_identifier(user_id) else None
        if user is None:
            raise NotFound("User not found.")
        return PublicProfile(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            created_at=user.created_at,
        )

    async def rename(self, token: AccessTokenRecord, display_name: str) -> Profile:
        user = await self._users.get(user_of(token).id)
        if user is None:
            raise NotFound("User not found.")
        user.display_name = display_name
        user.updated_at = self._clock()
        await self._users.add(user)
        profile = UserProfile(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )
        return profile_for(profile, token)

    async def authorizations(self, user_id: str) -> list[AuthorizedApplication]:
        return [
            AuthorizedApplication(
                client_id=application.client_id,
                name=application.name,
                scopes=sorted(parse_scope(consent.scope)),
                granted_at=consent.granted_at,
            )
            for consent, application in await self._grants.consents_of(user_id)
        ]

    async def revoke_authorization(self, user_id: str, client_id: str) -> None:
        """Forget the consent and revoke the application's tokens for this user."""
        if not is_identifier(client_id) or not await self._grants.forget_consent(
            user_id, client_id, self._clock()
        ):
            raise NotFound("This application is not authorized.")
