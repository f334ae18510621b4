"""Fixtures of the OpenID Connect tests: the API tests' shared application and clock."""

from __future__ import annotations

from tests.api import conftest as api_fixtures

cheap_password_hashing = api_fixtures.cheap_password_hashing
shared_clock = api_fixtures.shared_clock
clock = api_fixtures.clock
shared_app = api_fixtures.shared_app
running_app = api_fixtures.running_app
