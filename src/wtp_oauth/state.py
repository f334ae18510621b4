"""What one running application holds: built in the lifespan, torn down with it."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncEngine

from wtp_oauth.clock import Clock
from wtp_oauth.config import Settings
from wtp_oauth.db import SessionFactory
from wtp_oauth.oauth.context import OAuthContext


@dataclass(slots=True)
class AppState:
    settings: Settings
    engine: AsyncEngine
    session_factory: SessionFactory
    oauth: OAuthContext
    secret_key: str
    templates: Jinja2Templates
    clock: Clock
