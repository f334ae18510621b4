"""Grant, consent and account logic. Nothing here knows about HTTP."""
