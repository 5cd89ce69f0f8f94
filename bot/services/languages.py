"""Which language each reader gets: a person's own choice (``/headless language es|en|auto``, stored), else their
Slack locale (``es-*`` → Spanish), else ``DEFAULT_LANGUAGE``; a channel's is ``CHANNEL_LANGUAGES`` or the default.

A person's choice is read from the store at most once a minute per process (``CHOICE_TTL_SECONDS``), so a
request costs no database read, and a choice made through another replica is seen within that minute.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from bot.domain.ids import USER_ID
from bot.i18n import LANGUAGES, language_of_locale
from bot.services.ports import Directory
from bot.settings import Settings

log = logging.getLogger("bot.languages")

CHOICE_TTL_SECONDS = 60.0
AUTO = "auto"


class LanguageChoices(Protocol):
    """Where people's own choices are kept (the store)."""

    async def language_choice(self, user_id: str) -> str | None: ...

    async def set_language_choice(self, user_id: str, language: str | None) -> None: ...


class Languages:
    """The language of a person (what they read: ephemeral answers, DMs, forms, their Home) or of a channel."""

    def __init__(self, settings: Settings, directory: Directory, choices: LanguageChoices | None = None) -> None:
        self.default = settings.default_language
        self._channels = settings.channel_language_map
        self._directory = directory
        self._choices = choices
        self._cached: dict[str, tuple[float, str | None]] = {}

    def for_channel(self, channel_id: str | None) -> str:
        """What the bot posts in ``channel_id`` is in this language (a DM's channel: ask ``for_person``)."""
        return self._channels.get(channel_id or "", self.default)

    def for_destination(self, destination: str) -> str:
        """The language of a post to ``destination``: a person's (a DM, by user id) or a channel's."""
        return self.cached_for_person(destination) if USER_ID.match(destination) else self.for_channel(destination)

    async def for_person(self, user_id: str) -> str:
        """The person's own choice, else their Slack locale's language, else the default."""
        choice = await self.choice(user_id)
        if choice is not None:
            return choice
        person = self._directory.cached_person(user_id) or await self._directory.person(user_id)
        return language_of_locale(person.locale, self.default)

    def cached_for_person(self, user_id: str) -> str:
        """``for_person`` from what is already known (no I/O): for rendering outside a request."""
        entry = self._cached.get(user_id)
        if entry is not None and entry[1] is not None:
            return entry[1]
        person = self._directory.cached_person(user_id)
        return language_of_locale(person.locale if person else None, self.default)

    async def choice(self, user_id: str) -> str | None:
        """The language the person chose (``None``: automatic)."""
        entry = self._cached.get(user_id)
        if entry is not None and time.monotonic() - entry[0] < CHOICE_TTL_SECONDS:
            return entry[1]
        choice: str | None = None
        if self._choices is not None:
            try:
                choice = await self._choices.language_choice(user_id)
            except Exception as exc:  # the database is down: the automatic choice, not a failed request
                log.warning("language choice unavailable (%s)", type(exc).__name__)
                return entry[1] if entry else None
        if len(self._cached) > 50_000:
            self._cached.clear()
        self._cached[user_id] = (time.monotonic(), choice if choice in LANGUAGES else None)
        return self._cached[user_id][1]

    async def choose(self, user_id: str, language: str) -> str:
        """``/headless language es|en|auto``: store the choice; the language the person now reads."""
        stored = None if language == AUTO else language
        if self._choices is not None:
            await self._choices.set_language_choice(user_id, stored)
        self._cached[user_id] = (time.monotonic(), stored)
        return await self.for_person(user_id)
