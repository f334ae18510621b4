"""Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document, SPEC §14).

A ``client_id`` that is an ``https`` URL names a JSON document describing a public client.
``ClientMetadataResolver.resolve(url)`` returns it validated, from a bounded cache or fetched
safely (SSRF-proof: public addresses only, the checked address dialled, no redirects, 5 s,
5 KB), or raises ``ClientMetadataError`` with a sentence fit for the error page.
docs/client-metadata-documents.md explains the guarantees.
"""

from __future__ import annotations

from .document import ClientMetadata, looks_like_client_id_url, parse_client_id_url
from .errors import ClientMetadataError
from .fetcher import DocumentFetcher
from .resolver import ClientMetadataResolver

__all__ = [
    "ClientMetadata",
    "ClientMetadataError",
    "ClientMetadataResolver",
    "DocumentFetcher",
    "looks_like_client_id_url",
    "parse_client_id_url",
]
