"""The client_id URL and its document (draft-ietf-oauth-client-id-metadata-document).

Pure functions, no I/O: ``parse_client_id_url`` decides whether a ``client_id`` may be fetched
at all (draft §3), ``parse_document`` turns a fetched body into a ``ClientMetadata`` or refuses
it (draft §4, RFC 7591 §2, SPEC §14).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from wtp_oauth.security.redirect_uris import RedirectURIError, validate_registration
from wtp_oauth.security.text import has_control, is_storable

from .addresses import LOOPBACK_V4, IPAddress, parse_ip_host, refusal_reason
from .errors import ClientMetadataError

MAX_URL_LENGTH = 2000
MAX_NAME_LENGTH = 200
MAX_REDIRECT_URIS = 20
GRANT_TYPES = frozenset({"authorization_code", "refresh_token"})
RESPONSE_TYPES = frozenset({"code"})
# Draft §4.1: a shared secret cannot be kept in a public document.
_SECRET_FIELDS = ("client_secret", "client_secret_expires_at")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", re.IGNORECASE)
_BAD_PERCENT = re.compile(r"%(?![0-9a-fA-F]{2})")


@dataclass(frozen=True)
class ClientIdURL:
    """A ``client_id`` that may be fetched: where to connect and what to ask for."""

    url: str
    scheme: str
    host: str  # as written in the URL, an IPv6 address in brackets
    port: int
    ip: IPAddress | None  # the address when the host is written as one; else resolve ``host``

    @property
    def hostname(self) -> str:
        """The host without IPv6 brackets: the name to resolve, send as SNI and verify."""
        return self.host.strip("[]")


@dataclass(frozen=True)
class ClientMetadata:
    """A validated client metadata document; the client it describes is public (SPEC §14)."""

    client_id: str
    redirect_uris: tuple[str, ...]
    client_name: str | None = None
    client_uri: str | None = None
    logo_uri: str | None = None
    grant_types: tuple[str, ...] = ("authorization_code",)
    response_types: tuple[str, ...] = ("code",)
    token_endpoint_auth_method: str = "none"

    @property
    def host(self) -> str:
        """The host that published the document, for the consent page."""
        return urlsplit(self.client_id).hostname or ""


def looks_like_client_id_url(client_id: str) -> bool:
    """Whether a ``client_id`` is meant as a metadata document URL rather than a registered id."""
    return client_id.startswith(("https://", "http://"))


def parse_client_id_url(url: str, *, allow_loopback: bool = False) -> ClientIdURL:
    """Check a ``client_id`` URL before anything is resolved or fetched (draft §3).

    ``https``, a path other than ``/``, no userinfo, no fragment, no dot segments; a host that
    is a domain name or a public address in canonical form. ``allow_loopback`` also admits
    ``http://127.x.y.z:<port>/…`` (development and tests only).
    """
    if not url or len(url) > MAX_URL_LENGTH:
        raise ClientMetadataError("The client_id URL must be at most 2000 characters long.")
    if any(not 0x21 <= ord(ch) <= 0x7E for ch in url) or "\\" in url:
        raise ClientMetadataError(
            "The client_id URL must be plain ASCII without spaces or control characters."
        )
    if "#" in url:
        raise ClientMetadataError("The client_id URL must not contain a fragment.")
    if _BAD_PERCENT.search(url):
        raise ClientMetadataError("The client_id URL has a malformed percent-encoding.")
    scheme, _, rest = url.partition("://")
    if scheme != "https" and not (scheme == "http" and allow_loopback):
        raise ClientMetadataError("The client_id URL must use https.")
    authority = re.split(r"[/?]", rest, maxsplit=1)[0]
    path = rest[len(authority) :].split("?", 1)[0]
    if "@" in authority:
        raise ClientMetadataError("The client_id URL must not contain a user name or password.")
    host, port = _split_authority(authority, default_port=443 if scheme == "https" else 80)
    ip = _check_host(host, allow_loopback=allow_loopback)
    if scheme == "http" and (ip is None or ip not in LOOPBACK_V4):
        raise ClientMetadataError(
            "The client_id URL must use https (http only for 127.0.0.1 in development)."
        )
    if not path.startswith("/") or path == "/":
        raise ClientMetadataError("The client_id URL must have a path, not just /.")
    if any(unquote(segment) in {".", ".."} for segment in path.split("/")):
        raise ClientMetadataError("The client_id URL must not contain . or .. path segments.")
    return ClientIdURL(url=url, scheme=scheme, host=host, port=port, ip=ip)


def _split_authority(authority: str, *, default_port: int) -> tuple[str, int]:
    if authority.startswith("["):
        end = authority.find("]")
        host, after = authority[: end + 1], authority[end + 1 :]
        if end < 0 or (after and not after.startswith(":")):
            raise ClientMetadataError("The client_id URL has a malformed host.")
        port_text = after[1:] if after else None
    else:
        host, colon, port_text_or_empty = authority.partition(":")
        port_text = port_text_or_empty if colon else None
    if port_text is None:
        return host, default_port
    if not port_text.isdigit() or len(port_text) > 5 or not 0 < int(port_text) <= 65535:
        raise ClientMetadataError("The client_id URL has an invalid port.")
    return host, int(port_text)


def _check_host(host: str, *, allow_loopback: bool) -> IPAddress | None:
    if not host:
        raise ClientMetadataError("The client_id URL must name a host.")
    try:
        ip = parse_ip_host(host)
    except ValueError as exc:
        raise ClientMetadataError(f"The client_id URL's host is not allowed: {exc}.") from exc
    if ip is not None:
        reason = refusal_reason(ip, allow_loopback=allow_loopback)
        if reason is not None:
            raise ClientMetadataError(f"The client_id URL's host is not allowed: {reason}.")
        return ip
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ClientMetadataError(
            "The client_id URL's host must be a domain name of letters, digits and hyphens."
        )
    if labels[-1].lower() == "localhost":  # RFC 6761 §6.3
        raise ClientMetadataError("The client_id URL's host must not be localhost.")
    return None


def parse_document(body: bytes, client_id: str) -> ClientMetadata:
    """Decode a fetched document and validate it for ``client_id`` (draft §4)."""
    try:
        data = json.loads(
            body.decode("utf-8"),
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_no_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ClientMetadataError("The client metadata document is not valid JSON.") from exc
    return validate_document(data, client_id)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def validate_document(data: object, client_id: str) -> ClientMetadata:
    """Check a decoded document against SPEC §14 and RFC 7591 §2; unknown fields are ignored."""
    if not isinstance(data, dict):
        raise ClientMetadataError("The client metadata document must be a JSON object.")
    if data.get("client_id") != client_id:
        raise ClientMetadataError(
            "The client metadata document's client_id must be exactly the URL it was fetched from."
        )
    if any(field in data for field in _SECRET_FIELDS):
        raise ClientMetadataError("The client metadata document must not contain a client_secret.")
    method = data.get("token_endpoint_auth_method", "none")
    if method != "none":
        raise ClientMetadataError(
            'The client metadata document\'s token_endpoint_auth_method must be "none": '
            "a client described by a public document cannot keep a secret."
        )
    return ClientMetadata(
        client_id=client_id,
        redirect_uris=_redirect_uris(data.get("redirect_uris")),
        client_name=_text(data, "client_name", MAX_NAME_LENGTH),
        client_uri=_https_url(data, "client_uri"),
        logo_uri=_https_url(data, "logo_uri"),
        grant_types=_string_set(data, "grant_types", GRANT_TYPES, ("authorization_code",)),
        response_types=_string_set(data, "response_types", RESPONSE_TYPES, ("code",)),
    )


def _redirect_uris(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or len(value) > MAX_REDIRECT_URIS:
        raise ClientMetadataError(
            "The client metadata document must list between 1 and 20 redirect_uris."
        )
    uris: list[str] = []
    for uri in value:
        if not isinstance(uri, str):
            raise ClientMetadataError("Every redirect_uri in the document must be a string.")
        try:
            uris.append(validate_registration(uri, public_client=True))
        except RedirectURIError as exc:
            raise ClientMetadataError(f"A redirect_uri in the document {exc}.") from exc
    return tuple(uris)


def _text(data: dict[str, Any], field: str, max_length: int) -> str | None:
    value = data.get(field)
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > max_length
        or has_control(value)
        or not is_storable(value)
    ):
        raise ClientMetadataError(
            f"The document's {field} must be text of at most {max_length} characters."
        )
    return value


def _https_url(data: dict[str, Any], field: str) -> str | None:
    value = _text(data, field, MAX_URL_LENGTH)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme != "https"
        or not parts.hostname
        or "@" in parts.netloc
        or any(ch.isspace() for ch in value)
    ):
        raise ClientMetadataError(f"The document's {field} must be an https URL.")
    return value


def _string_set(
    data: dict[str, Any], field: str, allowed: frozenset[str], default: tuple[str, ...]
) -> tuple[str, ...]:
    value = data.get(field)
    if value is None:
        return default
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(item, str) and item in allowed for item in value)
    ):
        names = ", ".join(sorted(allowed))
        raise ClientMetadataError(f"The document's {field} may only contain {names}.")
    return tuple(dict.fromkeys(value))
