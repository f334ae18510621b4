"""Request and response bodies of the JSON API (table models do not validate: PITFALLS)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints
from pydantic_core import PydanticCustomError

from wtp_oauth.grant_types import DEFAULT_GRANT_TYPES
from wtp_oauth.security.text import is_storable


def _storable(value: str) -> str:
    if not is_storable(value):
        raise ValueError("must not contain NUL characters or unpaired surrogates")
    return value


# Every string the API accepts: a NUL or a lone surrogate is a 422, not a database error.
Storable = AfterValidator(_storable)

# One rule for every password the server is given, at sign-up and at sign-in, by the JSON API
# and by the HTML forms: too long is refused with this message, never cut short.
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
PASSWORD_TOO_SHORT = f"Password must be at least {MIN_PASSWORD_LENGTH} characters."
PASSWORD_TOO_LONG = f"Password must be at most {MAX_PASSWORD_LENGTH:,} characters."


def _password_not_too_long(value: str) -> str:
    if len(value) > MAX_PASSWORD_LENGTH:
        raise PydanticCustomError("string_too_long", PASSWORD_TOO_LONG)
    return value


def _password_long_enough(value: str) -> str:
    if len(value) < MIN_PASSWORD_LENGTH:
        raise PydanticCustomError("string_too_short", PASSWORD_TOO_SHORT)
    return value


Username = Annotated[
    str, StringConstraints(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$")
]
# A new password. The lengths are checked by the validators, for their messages, and declared
# to the schema by hand.
Password = Annotated[
    str,
    AfterValidator(_password_not_too_long),
    AfterValidator(_password_long_enough),
    Storable,
    Field(json_schema_extra={"minLength": MIN_PASSWORD_LENGTH, "maxLength": MAX_PASSWORD_LENGTH}),
]
# A password offered at sign-in: any length a new one may have (so it is never cut short).
GivenPassword = Annotated[
    str,
    StringConstraints(min_length=1),
    AfterValidator(_password_not_too_long),
    Storable,
    Field(json_schema_extra={"maxLength": MAX_PASSWORD_LENGTH}),
]
DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), Storable
]
AppName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), Storable
]
RedirectURI = Annotated[str, StringConstraints(min_length=1, max_length=2000), Storable]
RedirectURIs = Annotated[list[RedirectURI], Field(max_length=20)]
Description = Annotated[str, StringConstraints(max_length=1000), Storable]
# Checked against the known grant types by the service, whose error names the value.
GrantType = Annotated[str, StringConstraints(min_length=1, max_length=100), Storable]
GrantTypes = Annotated[
    list[GrantType],
    Field(
        max_length=10,
        description="RFC 7591 grant type names: authorization_code, refresh_token, "
        "client_credentials (confidential clients only), "
        "urn:ietf:params:oauth:grant-type:device_code.",
    ),
]


class IdTokenAlg(StrEnum):
    """How an application's ID tokens are signed (SPEC §11): one named type, so that a
    generated SDK has one enum for it rather than one per model."""

    ES256 = "ES256"
    RS256 = "RS256"


def error_responses(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the JSON API's errors; the published schema gives each the
    ``ErrorDetail`` body (``openapi_schema.polish``)."""
    return {code: {"description": text} for code, text in described.items()}


# The answers every JSON body and every session may get (FastAPI's 400 for a body that is not
# UTF-8 JSON, ``deps.require_json``'s 415, ``deps.require_user``'s 401).
BAD_BODY = {400: "The body is not UTF-8 JSON", 415: "The body is not application/json"}
NOT_SIGNED_IN = {401: "No session cookie, or its session has ended"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class UserCreate(_Strict):
    username: Username
    email: EmailStr
    password: Password


class SessionCreate(_Strict):
    username: Annotated[str, StringConstraints(min_length=1, max_length=320), Storable]
    password: GivenPassword


class PublicProfile(BaseModel):
    id: str
    username: str
    display_name: str
    created_at: datetime


class Profile(PublicProfile):
    email: str | None = Field(default=None, description="Present with the user.email scope.")


class ProfileUpdate(_Strict):
    display_name: DisplayName


class ApplicationCreate(_Strict):
    name: AppName
    redirect_uris: RedirectURIs = Field(
        default_factory=list,
        description="At least one when grant_types has authorization_code.",
    )
    description: Description = ""
    client_type: Literal["confidential", "public"] = "confidential"
    grant_types: GrantTypes = Field(default_factory=lambda: list(DEFAULT_GRANT_TYPES))
    post_logout_redirect_uris: RedirectURIs = Field(default_factory=list)
    id_token_signed_response_alg: IdTokenAlg = IdTokenAlg.ES256


class ApplicationUpdate(_Strict):
    name: AppName | None = None
    redirect_uris: RedirectURIs | None = None
    description: Description | None = None
    grant_types: GrantTypes | None = None
    post_logout_redirect_uris: RedirectURIs | None = None
    id_token_signed_response_alg: IdTokenAlg | None = None


class ApplicationOut(BaseModel):
    client_id: str
    name: str
    description: str
    redirect_uris: list[str]
    client_type: Literal["confidential", "public"]
    grant_types: list[str]
    post_logout_redirect_uris: list[str]
    id_token_signed_response_alg: IdTokenAlg
    created_at: datetime


class ApplicationCreated(ApplicationOut):
    client_secret: str | None = Field(
        description="Shown only now; null for public clients. Store it safely."
    )


class ClientSecret(BaseModel):
    client_secret: str


class AuthorizedApplication(BaseModel):
    client_id: str
    name: str
    scopes: list[str]
    granted_at: datetime


class ScopeOut(BaseModel):
    name: str
    description: str
