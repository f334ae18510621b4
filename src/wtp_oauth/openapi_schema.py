"""The published OpenAPI schema's error answers, so that generated SDKs can read them (SPEC §9).

The routes declare their own successes and the OAuth endpoints their RFC 6749 §5.2 errors.
Every other error of the JSON API is ``{"detail": "…"}`` (``http_errors``), which this module
declares once, as the named model ``ErrorDetail``:

- a declared 4xx answer without a body schema gets ``ErrorDetail``;
- an operation behind the session cookie can answer 401 (no or expired session);
- an operation with a path parameter can answer 404 (every path parameter names a resource).

A 422 is FastAPI's ``HTTPValidationError``: that is the body ``http_errors`` sends.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    """An error of the JSON API (outside the OAuth endpoints)."""

    detail: str = Field(description="What went wrong, for a person to read.")


_IMPLIED = {
    401: "Not signed in: no session cookie, or an expired one",
    404: "Not found",
}


def _content(model: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}}


def _polish_operation(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    security = operation.get("security") or []
    if any("sessionCookie" in requirement for requirement in security):
        responses.setdefault("401", {"description": _IMPLIED[401]})
    if "{" in path:
        responses.setdefault("404", {"description": _IMPLIED[404]})
    for status, response in responses.items():
        if status.startswith("4") and "content" not in response:
            model = "HTTPValidationError" if status == "422" else "ErrorDetail"
            response["content"] = _content(model)
    operation["responses"] = dict(sorted(responses.items()))


def polish(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare the error answers of ``schema`` (in place) and return it."""
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            _polish_operation(path, operation)
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorDetail"] = ErrorDetail.model_json_schema()
    schema["components"]["schemas"] = dict(sorted(schemas.items()))
    return schema
