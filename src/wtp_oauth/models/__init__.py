"""SQLModel tables. Importing this package registers every table on ``SQLModel.metadata``."""

from wtp_oauth.models.accounts import BrowserSession, User
from wtp_oauth.models.applications import DEFAULT_GRANT_TYPES, Application, ClientType
from wtp_oauth.models.device_codes import DeviceCode
from wtp_oauth.models.grants import (
    AccessToken,
    AuthorizationCode,
    AuthorizationRequest,
    Consent,
    RefreshToken,
    SubjectType,
)
from wtp_oauth.models.keys import SigningKey
from wtp_oauth.models.server import AuthFailure, ServerSecret

__all__ = [
    "DEFAULT_GRANT_TYPES",
    "AccessToken",
    "Application",
    "AuthFailure",
    "AuthorizationCode",
    "AuthorizationRequest",
    "BrowserSession",
    "ClientType",
    "Consent",
    "DeviceCode",
    "RefreshToken",
    "ServerSecret",
    "SigningKey",
    "SubjectType",
    "User",
]
