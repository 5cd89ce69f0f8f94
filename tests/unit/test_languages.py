"""Which language a reader gets (``bot.i18n``, ``bot.services.languages``): locale mapping, choices, channels."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain.people import Person
from bot.i18n import babel_locale, current_language, language_of_locale, set_language, use_language
from bot.services.languages import Languages
from bot.settings import Settings


@pytest.mark.parametrize(
    ("locale", "default", "language"),
    [
        ("es-LA", "en", "es"),
        ("es-ES", "en", "es"),
        ("es_419", "en", "es"),
        ("en-US", "en", "en"),
        ("en-US", "es", "es"),  # anything not Spanish → DEFAULT_LANGUAGE
        ("pt-BR", "en", "en"),
        (None, "es", "es"),
        ("", "en", "en"),
    ],
)
def test_slack_locale_to_language(locale: str | None, default: str, language: str) -> None:
    assert language_of_locale(locale, default) == language


@pytest.mark.parametrize(
    ("language", "locale", "babel"),
    [("es", "es-LA", "es_419"), ("es", "es-ES", "es_ES"), ("es", None, "es_419"), ("en", "en-GB", "en_GB"),
     ("en", None, "en_US"), ("en", "es-LA", "en_US")],
)  # fmt: skip
def test_babel_locale(language: str, locale: str | None, babel: str) -> None:
    assert babel_locale(language, locale) == babel


def test_the_language_is_per_context_and_use_language_restores_it() -> None:
    async def reader(language: str) -> list[str]:
        set_language(language)
        await asyncio.sleep(0)
        seen = [current_language()]
        with use_language("en" if language == "es" else "es"):
            seen.append(current_language())
        seen.append(current_language())
        return seen

    async def both() -> list[list[str]]:
        return list(await asyncio.gather(reader("es"), reader("en")))

    assert asyncio.run(both()) == [["es", "en", "es"], ["en", "es", "en"]]
    set_language("fr")  # unknown → the default
    assert current_language() == "en"


class People:
    def __init__(self, locales: dict[str, str | None]) -> None:
        self.locales = locales
        self.lookups = 0

    def cached_person(self, user_id: str) -> Person | None:
        return None

    async def person(self, user_id: str) -> Person:
        self.lookups += 1
        return Person(user_id=user_id, tz="UTC", locale=self.locales.get(user_id))


class Choices:
    def __init__(self) -> None:
        self.stored: dict[str, str | None] = {}
        self.reads = 0

    async def language_choice(self, user_id: str) -> str | None:
        self.reads += 1
        return self.stored.get(user_id)

    async def set_language_choice(self, user_id: str, language: str | None) -> None:
        self.stored[user_id] = language


def test_choice_over_locale_over_default_and_channels() -> None:
    settings = Settings(_env_file=None, default_language="en", channel_languages="C0ES:es, C0EN:en")  # type: ignore[call-arg]
    people, choices = People({"U0ANA": "es-LA", "U0BOB": "en-US"}), Choices()
    languages = Languages(settings, people, choices)  # type: ignore[arg-type]

    async def scenario() -> list[str]:
        seen = [await languages.for_person("U0ANA"), await languages.for_person("U0BOB")]
        seen.append(await languages.choose("U0BOB", "es"))
        seen.append(await languages.for_person("U0BOB"))
        seen.append(await languages.choose("U0ANA", "en"))
        seen.append(await languages.choose("U0ANA", "auto"))
        return seen

    assert asyncio.run(scenario()) == ["es", "en", "es", "es", "en", "es"]
    assert choices.stored == {"U0BOB": "es", "U0ANA": None}
    assert choices.reads == 2  # one read per person, then the cache (CHOICE_TTL_SECONDS)
    assert languages.for_channel("C0ES") == "es"
    assert languages.for_channel("C0OTHER") == "en"


def test_channel_languages_are_checked_at_start() -> None:
    with pytest.raises(ValueError, match="CHANNEL:LANGUAGE"):
        Settings(_env_file=None, channel_languages="C0ES:fr")  # type: ignore[call-arg]
