"""security/impersonation.py: names that would speak with the service's voice (SPEC §17)."""

from __future__ import annotations

import pytest

from wtp_oauth.security.impersonation import imitates_service, words


@pytest.mark.parametrize(
    "name",
    [
        "Wants to Party",
        "WANTS TO PARTY",
        "WantsToParty",
        "wantstoparty",
        "WTP",
        "W.T.P.",
        "W-T-P",
        "W T P",
        "wants_to_party",
        "Official Wants to Party app",
        "Wants to Party!",
        "Wants to Party 2",
        "My WTP App",
        "WTPApp",
        "WantsToPartyApp",
        "Wаnts tо Pаrty",  # Cyrillic а, о
        "WΤΡ",  # Greek capital tau and rho
        "ωτρ",
        "ＷａｎｔｓＴｏＰａｒｔｙ",  # full-width (NFKC)
        "𝐖𝐓𝐏",  # mathematical bold (NFKC)
        "Wänts tö Pärty",  # accents
        "W\u200bT\u200dP",  # zero-width characters
        "W\u00adTP",  # a soft hyphen
        "W4nts t0 P4rty",
        "W@nts to P@rty",
        "Wants 2 Party",
        "Wants2Party",
        "VVants to Party",
    ],
)
def test_imitations(name: str) -> None:
    assert imitates_service(name), words(name)


@pytest.mark.parametrize(
    "name",
    [
        "Party Planner",
        "WTPlanner",
        "NewTPost",
        "SWTP",
        "Want to party",
        "Wants Party",
        "Law T. P. Smith",
        "Party!",
        "Tapas",
        "Snack Tracker",
        "",
    ],
)
def test_names_of_their_own(name: str) -> None:
    assert not imitates_service(name), words(name)


def test_words_fold_case_look_alikes_and_camel_case() -> None:
    assert words("Wаnts-To_PARTY") == ["wants", "to", "party"]
    assert words("WTPApp") == ["wtp", "app"]
    assert words("Party!", symbols_as_letters=False) == ["party"]
