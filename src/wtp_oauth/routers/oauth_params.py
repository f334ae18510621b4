"""Parameters of the OAuth endpoints, from a form-encoded or JSON body (SPEC §6)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from wtp_oauth.errors import InvalidRequest
from wtp_oauth.security.text import is_storable

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MAX_VALUE = 4096


def body_schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """The OpenAPI description of an OAuth endpoint's body: the form encoding only.

    RFC 6749 §4.1.3 clients send a form, and one content type keeps generated SDKs sound (two
    make openapi-python-client 0.29 emit modules that fail to import). The endpoints accept the
    same parameters as a JSON object too (:func:`oauth_params`), as the developer guide sends
    them; the description says so.
    """
    schema = {"type": "object", "properties": properties, "required": required}
    return {
        "requestBody": {
            "required": True,
            "description": f"Also accepted as {JSON}: an object of the same string members "
            "(the developer guide's way).",
            "content": {FORM: {"schema": schema}},
        }
    }


class _Members(list[tuple[str, Any]]):
    """A JSON object's members in order, repeats included."""


def _checked(pairs: list[tuple[str, Any]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in pairs:
        if not is_storable(name):
            raise InvalidRequest("A parameter name is malformed.")
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidRequest(f"The '{name[:40]}' parameter must be a string.")
        if name in params:
            raise InvalidRequest(f"The '{name[:40]}' parameter was sent more than once.")
        if len(value) > MAX_VALUE or not is_storable(value):
            raise InvalidRequest(f"The '{name[:40]}' parameter is malformed.")
        params[name] = value
    return params


async def oauth_params(request: Request) -> dict[str, str]:
    """The request's parameters: RFC 6749's form encoding, or JSON as the developer guide sends.

    Repeated parameters are refused (RFC 6749 §3.2), and so is anything that is not a string.
    """
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    body = await request.body()
    if content_type == JSON:
        try:
            # Members as pairs, so that a repeated member is seen, not silently overwritten.
            data = json.loads(body, object_pairs_hook=_Members)
        except (ValueError, RecursionError) as exc:
            raise InvalidRequest("The body is not valid JSON.") from exc
        if not isinstance(data, _Members):
            raise InvalidRequest("The JSON body must be an object.")
        return _checked(data)
    if content_type == FORM or (not content_type and not body):
        try:
            text = body.decode("utf-8")
            pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidRequest("The form body is not valid UTF-8.") from exc
        return _checked(list(pairs))
    raise InvalidRequest(f"Send the body as {FORM} or {JSON}.")
