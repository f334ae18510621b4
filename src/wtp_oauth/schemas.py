"""Request and response bodies of the JSON API (table models do not validate: PITFALLS)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from wtp_oauth.security.text import is_storable


def _storable(value: str) -> str:
    if not is_storable(value):
        raise ValueError("must not contain NUL characters or unpaired surrogates")
    return value


# Every string the API accepts: a NUL or a lone surrogate is a 422, not a database error.
Storable = AfterValidator(_storable)

Username = Annotated[
    str, StringConstraints(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$")
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=1024), Storable]
DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), Storable
]
AppName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), Storable
]
RedirectURI = Annotated[str, StringConstraints(min_length=1, max_length=2000), Storable]
Description = Annotated[str, StringConstraints(max_length=1000), Storable]


class ErrorOut(BaseModel):
    """An error of the JSON API, in FastAPI's shape: what is wrong, in words."""

    detail: str


def error_responses(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the JSON API's errors, each with the ``ErrorOut`` body."""
    return {code: {"model": ErrorOut, "description": text} for code, text in described.items()}


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
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024), Storable]


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
    redirect_uris: Annotated[list[RedirectURI], Field(min_length=1, max_length=20)]
    description: Description = ""
    client_type: Literal["confidential", "public"] = "confidential"


class ApplicationUpdate(_Strict):
    name: AppName | None = None
    redirect_uris: Annotated[list[RedirectURI], Field(min_length=1, max_length=20)] | None = None
    description: Description | None = None


class ApplicationOut(BaseModel):
    client_id: str
    name: str
    description: str
    redirect_uris: list[str]
    client_type: Literal["confidential", "public"]
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
