"""The one error of this package: a client metadata document that will not be used."""

from __future__ import annotations


class ClientMetadataError(Exception):
    """A ``client_id`` URL or its document was refused; ``str()`` is a user-facing sentence.

    The sentence may be shown on the error page of the authorization endpoint: it names the rule
    that was broken and never carries the body of the document or a traceback.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
