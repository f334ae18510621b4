"""Sign-up, sign-in with throttling, and server-side browser sessions (SPEC §3)."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from wtp_oauth.clock import Clock
from wtp_oauth.config import Settings
from wtp_oauth.db import SessionFactory
from wtp_oauth.errors import Conflict, InvalidCredentials, TooManyAttempts
from wtp_oauth.models import BrowserSession, User
from wtp_oauth.repositories.throttle import ThrottleRepository
from wtp_oauth.repositories.users import SessionRepository, UserRepository
from wtp_oauth.schemas import UserCreate
from wtp_oauth.security.passwords import hash_password, verify_password
from wtp_oauth.security.text import is_storable
from wtp_oauth.security.tokens import SESSION_PREFIX, digest, new_id, new_secret, session_digest

THROTTLE_WINDOW = timedelta(minutes=15)
# One address may fail this many times more often than one username (SPEC §2).
IP_FACTOR = 10


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new browser session: ``token`` goes into the cookie, only its digest is stored."""

    token: str
    session: BrowserSession
    user: User


class Accounts:
    def __init__(
        self,
        session: AsyncSession,
        session_factory: SessionFactory,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self._users = UserRepository(session)
        self._sessions = SessionRepository(session)
        self._throttle = ThrottleRepository(session_factory)
        self._session_factory = session_factory
        self._settings = settings
        self._clock = clock

    async def register(self, data: UserCreate) -> User:
        """Create an account; username and email are unique case-insensitively (409)."""
        username_taken, email_taken = await self._users.taken(data.username, data.email)
        if username_taken:
            raise Conflict("That username is already taken.")
        if email_taken:
            raise Conflict("An account with that email address already exists.")
        password_hash = await asyncio.to_thread(hash_password, data.password)
        user = User(
            id=new_id(),
            username=data.username,
            username_key=data.username.lower(),
            email=data.email,
            email_key=data.email.lower(),
            password_hash=password_hash,
            display_name=data.username,
            created_at=self._clock(),
        )
        return await self._users.add(user)

    async def sign_in(self, username: str, password: str, ip: str) -> SignedIn:
        """Check the password and open a session.

        An unknown username and a wrong password get the same answer at the same cost (a
        dummy hash is verified). Past ``WTP_LOGIN_FAILURE_LIMIT`` failures for one username in
        15 minutes, or ten times that from one address, the answer is 429 (RFC 6749 §10.10).

        The attempt is counted as a failure *before* the password is checked and taken back
        if it succeeds or is refused, so that guesses sent in parallel see one another: of any
        number at once, at most the limit reach the password check.
        """
        if not is_storable(username) or not is_storable(password):
            # No account has such a name, and the database could not even look it up.
            raise InvalidCredentials("Incorrect username or password.")
        now = self._clock()
        user_subject = f"user:{username.lower()}"
        limits = {
            user_subject: self._settings.login_failure_limit,
            f"ip:{ip}": self._settings.login_failure_limit * IP_FACTOR,
        }
        attempt = await self._throttle.record(list(limits), now)
        for subject, limit in limits.items():
            count, oldest = await self._throttle.failures(subject, now - THROTTLE_WINDOW)
            if count > limit:
                await self._throttle.forget(attempt)
                wait = (oldest or now) + THROTTLE_WINDOW - now
                raise TooManyAttempts(max(1, math.ceil(wait.total_seconds())))
        # Looked up in a short session of its own: the request's session takes a connection
        # only in open_session, after the throttle's own writes, so one sign-in never holds
        # two pooled connections at once (which, under load, could wait on each other).
        async with self._session_factory() as lookup:
            user = await UserRepository(lookup).by_username(username)
        ok = await asyncio.to_thread(
            verify_password, password, None if user is None else user.password_hash
        )
        if user is None or not ok:
            raise InvalidCredentials("Incorrect username or password.")
        await self._throttle.forget(attempt)
        await self._throttle.clear(user_subject)
        return await self.open_session(user)

    async def open_session(self, user: User) -> SignedIn:
        """A new browser session for ``user``, who has just proved who they are (a password
        checked, or an account made): that moment is its ``auth_time`` (OpenID Connect Core
        §2), and ``sid`` its opaque id for ID tokens, unrelated to the cookie."""
        now = self._clock()
        token = new_secret(SESSION_PREFIX)
        browser_session = BrowserSession(
            token_digest=digest(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(seconds=self._settings.session_ttl),
            auth_time=now,
            sid=new_id(),
        )
        await self._sessions.add(browser_session)
        return SignedIn(token=token, session=browser_session, user=user)

    async def current(self, token: str | None) -> tuple[BrowserSession, User] | None:
        """The live session behind a cookie value, with its user."""
        token_digest = session_digest(token)
        if token_digest is None:
            return None
        return await self._sessions.active(token_digest, self._clock())

    async def sign_out(self, token: str | None) -> None:
        if token and len(token) <= 200:
            await self._sessions.remove(digest(token))
