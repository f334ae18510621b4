"""The grant types an application may enable, by their RFC 7591 §2 names (SPEC §11).

The one list the JSON API, the portal and ``create-client`` accept; the token endpoint's grant
registry is the authority on what each one does.
"""

from __future__ import annotations

AUTHORIZATION_CODE = "authorization_code"  # RFC 6749 §4.1
REFRESH_TOKEN = "refresh_token"  # RFC 6749 §6
CLIENT_CREDENTIALS = "client_credentials"  # RFC 6749 §4.4
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 §3.4

# In the order the portal lists them.
KNOWN_GRANT_TYPES: tuple[str, ...] = (
    AUTHORIZATION_CODE,
    REFRESH_TOKEN,
    CLIENT_CREDENTIALS,
    DEVICE_CODE,
)

# What an application may use when it does not say.
DEFAULT_GRANT_TYPES: tuple[str, ...] = (AUTHORIZATION_CODE, REFRESH_TOKEN)

# A client that cannot keep a secret cannot authenticate as itself (RFC 6749 §4.4).
CONFIDENTIAL_ONLY = frozenset({CLIENT_CREDENTIALS})

# The grants whose answers carry a refresh token (RFC 6749 §4.1.4, RFC 8628 §3.5);
# client_credentials does not (RFC 6749 §4.4.3).
ISSUE_REFRESH_TOKENS = frozenset({AUTHORIZATION_CODE, DEVICE_CODE})

# The grants that send the user's browser to a redirect URI (RFC 6749 §3.1.2).
USE_REDIRECT_URIS = frozenset({AUTHORIZATION_CODE})

# ID tokens are signed with one of these (OpenID Connect Registration 1.0 §2); ES256 unless
# the application asks for RS256.
DEFAULT_ID_TOKEN_ALG = "ES256"
ID_TOKEN_SIGNING_ALGS: tuple[str, ...] = (DEFAULT_ID_TOKEN_ALG, "RS256")
