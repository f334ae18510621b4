"""Security primitives with no I/O: secrets, digests, passwords, PKCE, redirect URIs, CSRF."""
