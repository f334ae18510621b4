"""wtp-oauth: the authorization server behind "Sign in with Wants to Party"."""

__version__ = "0.1.0"
