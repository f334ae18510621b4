"""The authorization code grant (RFC 6749 §4.1) with PKCE (RFC 7636): the authorization
endpoint (``authorize.py``), the code's redemption at the token endpoint (``grant.py``), the
rules both follow (``rules.py``) and the storage they need (``storage.py``)."""
