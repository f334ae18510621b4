"""Request parameters by their RFC names, with the developer guide's dialect mapped once."""

from __future__ import annotations

from collections.abc import Mapping

from wtp_oauth.errors import InvalidRequest


def required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise InvalidRequest(f"The '{name}' parameter is required.")
    return value


def required_or_alias(params: Mapping[str, str], name: str, alias: str) -> str:
    """``name``, or the developer guide's ``alias`` for it; both sent and different is an error."""
    standard, guide = params.get(name) or None, params.get(alias) or None
    if standard and guide and standard != guide:
        raise InvalidRequest(f"'{name}' and '{alias}' disagree.")
    value = standard or guide
    if not value:
        raise InvalidRequest(f"The '{name}' parameter is required.")
    return value


def grant_type_of(params: Mapping[str, str]) -> str:
    """``grant_type``, or the developer guide's ``grand_type`` (SPEC §6)."""
    return required_or_alias(params, "grant_type", "grand_type")
