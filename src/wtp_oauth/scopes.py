"""The scopes a user can grant, as data (SPEC §7, §12)."""

from __future__ import annotations

from dataclasses import dataclass

from wtp_oauth.errors import InvalidScope


@dataclass(frozen=True, slots=True)
class Scope:
    name: str
    description: str
    # How the consent page says it to the user.
    consent_text: str


SCOPES: tuple[Scope, ...] = (
    Scope("user.read", "Read the user's profile.", "See your username and display name"),
    Scope("user.email", "Read the user's email address.", "See your email address"),
    Scope("user.write", "Change the user's profile.", "Change your display name"),
    # OpenID Connect Core §3.1.2.1, §5.4 (SPEC §12). A refresh token is issued with or
    # without offline_access: the developer guide relies on one.
    Scope(
        "openid",
        "Sign the user in with OpenID Connect: an ID token naming the user's account id.",
        "Sign you in with your Wants to Party account",
    ),
    Scope(
        "profile",
        "The user's name, username and when the profile last changed (ID token, UserInfo).",
        "See your display name and username",
    ),
    Scope(
        "email",
        "The user's email address (ID token, UserInfo).",
        "See your email address",
    ),
    Scope(
        "offline_access",
        "Keep access while the user is away (a refresh token).",
        "Stay connected while you are not using it",
    ),
)

SCOPES_BY_NAME: dict[str, Scope] = {scope.name: scope for scope in SCOPES}


def format_scope(names: frozenset[str] | set[str]) -> str:
    """A scope set as the space-delimited string of RFC 6749 §3.3, in a stable order."""
    return " ".join(scope.name for scope in SCOPES if scope.name in names)


def parse_scope(value: str) -> frozenset[str]:
    """A stored, space-delimited scope string back to a set."""
    return frozenset(value.split())


def requested_scopes(values: list[str]) -> frozenset[str]:
    """Scopes as a client sent them: space-, ``+``- or comma-separated, or repeated (SPEC §5).

    Unknown names are ``invalid_scope`` (RFC 6749 §4.1.2.1, §5.2).
    """
    names = {name for value in values for name in value.replace("+", " ").replace(",", " ").split()}
    unknown = sorted(names - SCOPES_BY_NAME.keys())
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise InvalidScope(f"Unknown scope {shown}; see /api/oauth/scopes.")
    return frozenset(names)
