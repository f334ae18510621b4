"""The applications service called directly (the portal catches its errors in-process)."""

from __future__ import annotations

import pytest

from tests.services.conftest import Party
from wtp_oauth.errors import InvalidInput
from wtp_oauth.schemas import ApplicationUpdate
from wtp_oauth.services.applications import Applications


async def test_a_refused_update_changes_nothing_even_if_the_caller_commits(party: Party) -> None:
    """SPEC §4: refused redirect URIs leave the name and description as they were."""
    async with party.state.session_factory.begin() as db:
        apps = Applications(db, party.state.clock)
        with pytest.raises(InvalidInput):
            await apps.update(
                party.user,
                party.confidential,
                ApplicationUpdate(name="Renamed", redirect_uris=["http://evil.example/cb"]),
            )
        # The caller swallows the error and its transaction commits.
    async with party.state.session_factory() as db:
        application = await Applications(db, party.state.clock).get(party.user, party.confidential)
        assert application.name == "Planner"
