"""security/csrf.py: tokens bound to a session (or pre-session cookie) and the server key."""

from __future__ import annotations

from wtp_oauth.security.csrf import csrf_token, verify_csrf_token

KEY = "server-key"


def test_token_is_stable_for_one_binding() -> None:
    assert csrf_token(KEY, "session-a") == csrf_token(KEY, "session-a")


def test_token_depends_on_binding_and_key() -> None:
    token = csrf_token(KEY, "session-a")
    assert token != csrf_token(KEY, "session-b")
    assert token != csrf_token("another-key", "session-a")
    assert "session-a" not in token


def test_verify_accepts_only_the_bound_token() -> None:
    token = csrf_token(KEY, "session-a")
    assert verify_csrf_token(KEY, "session-a", token)
    assert not verify_csrf_token(KEY, "session-b", token)
    assert not verify_csrf_token("another-key", "session-a", token)
    assert not verify_csrf_token(KEY, "session-a", token[:-1])


def test_verify_refuses_missing_parts() -> None:
    token = csrf_token(KEY, "session-a")
    assert not verify_csrf_token(KEY, None, token)
    assert not verify_csrf_token(KEY, "", token)
    assert not verify_csrf_token(KEY, "session-a", None)
    assert not verify_csrf_token(KEY, "session-a", "")
    # An empty binding must not make a guessable token valid.
    assert not verify_csrf_token(KEY, "", csrf_token(KEY, ""))
