"""Application names that imitate the service itself (SPEC §17).

The consent page shows an application's name to people deciding whether to trust it, so a name
such as "Wants to Party" or "WTP Official" would speak with the service's voice. A name is
compared after folding away what a reader does not see: compatibility forms (NFKC: full-width
and mathematical letters), accents, invisible characters, case, spacing and punctuation, and
the common look-alikes (Cyrillic and Greek homoglyphs, digits and symbols standing for
letters: UTS #39's confusables, the part of them that matters for these few phrases).

A name imitates the service when a run of its words, joined, spells one of the service's
names: "Wants to Party", "W.T.P.", "WantsToPartyApp" (camel case splits into words) and
"Wаnts tо Pаrty" (Cyrillic а and о) all do; "WTPlanner" or "Party Planner" do not.
"""

from __future__ import annotations

import unicodedata

SERVICE_NAME = "Wants to Party"
# The service's names, folded: what a run of words must not spell.
_SERVICE_NAMES = frozenset({"wantstoparty", "wtp"})

# Look-alikes, after case folding, to the Latin letters they pass for.
_HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "һ": "h",
        "н": "h",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "к": "k",
        "м": "m",
        "о": "o",
        "п": "n",
        "р": "p",
        "г": "r",
        "ѕ": "s",
        "т": "t",
        "у": "y",
        "х": "x",
        "с": "c",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "ш": "w",
        "ѡ": "w",
        # Greek
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ω": "w",
        "ϲ": "c",
        "ς": "s",
        "σ": "o",
    }
)
# Digits and symbols that stand for letters ("P4rty", "W@nts"), or are only punctuation
# ("Party!"): a name is read both ways.
_AS_LETTERS = str.maketrans(
    {
        "0": "o",
        "1": "l",
        "2": "to",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "@": "a",
        "$": "s",
        "|": "l",
        "!": "i",
        "+": "t",
    }
)


def _letters(name: str) -> str:
    """NFKC, without invisible characters (Unicode category Cf) or accents (combining marks)."""
    text = unicodedata.normalize("NFKC", name)
    decomposed = unicodedata.normalize("NFKD", text)
    kept = (ch for ch in decomposed if unicodedata.category(ch) not in {"Cf", "Mn", "Me"})
    return unicodedata.normalize("NFC", "".join(kept))


def _starts_word(previous: str, current: str, following: str) -> bool:
    """Camel case: "wantsToParty" and "WTPApp" start a word at "T" and at "A"."""
    if not current.isupper():
        return False
    return previous.islower() or (previous.isupper() and following.islower())


def words(name: str, *, symbols_as_letters: bool = True) -> list[str]:
    """The name's words, folded: lower case, look-alikes replaced, punctuation dropped.

    With ``symbols_as_letters``, digits and symbols that pass for letters are read as those
    letters; without, every character that is not a letter separates words.
    """
    text = _letters(name)
    found: list[str] = []
    current = ""
    for index, ch in enumerate(text):
        folded = ch.casefold().translate(_HOMOGLYPHS)
        if symbols_as_letters:
            folded = folded.translate(_AS_LETTERS)
        if not folded.isalpha():
            if current:
                found.append(current)
            current = ""
            continue
        previous = text[index - 1] if index else ""
        following = text[index + 1] if index + 1 < len(text) else ""
        if current and _starts_word(previous, ch, following):
            found.append(current)
            current = ""
        current += folded
    if current:
        found.append(current)
    return found


def _spells_service_name(folded: list[str]) -> bool:
    longest = max(map(len, _SERVICE_NAMES))
    for start in range(len(folded)):
        joined = ""
        for word in folded[start:]:
            # "vv" passes for "w", even across a camel-case split ("VVants").
            joined = (joined + word).replace("vv", "w")
            if joined in _SERVICE_NAMES:
                return True
            if len(joined) >= longest:
                break
    return False


def imitates_service(name: str) -> bool:
    """Whether a run of the name's words spells one of the service's names (SPEC §17)."""
    return any(
        _spells_service_name(words(name, symbols_as_letters=as_letters))
        for as_letters in (True, False)
    )
