"""Every word the bot shows, in the reader's language: gettext catalogues, chosen per request.

Messages are marked in code with ``_("…")`` (``ngettext`` for plurals, named placeholders filled with
``.format(name=…)`` so a translation may move them), extracted with ``pybabel extract`` (``babel.cfg``) into
``bot/locale/messages.pot``, and translated in ``bot/locale/{es,en}/LC_MESSAGES/messages.po``. The ``.po`` files are
read once per process when a language is first used (compiled in memory: ~1,000 messages take a few milliseconds),
so there is no build step to forget.

The language is a context variable: the Slack middleware sets the reader's for each request (asyncio copies it into
the work a listener spawns), and whatever posts to a channel or to another person renders inside ``use_language``
with theirs. English is the source language: an id with no translation reads as itself.
"""

from __future__ import annotations

import gettext as _gettext
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

log = logging.getLogger("bot.i18n")

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
#: The languages the bot speaks.
LANGUAGES: tuple[str, ...] = ("en", "es")
DEFAULT_LANGUAGE = "en"

_current: ContextVar[str] = ContextVar("headless_bot_language", default=DEFAULT_LANGUAGE)


@cache
def translations(language: str) -> _gettext.NullTranslations:
    """The catalogue of ``language`` (its ``.po`` compiled in memory); English, or a missing file, reads ids as
    they are."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == DEFAULT_LANGUAGE or not path.exists():
        return _gettext.NullTranslations()
    from babel.messages.mofile import write_mo  # deliberately lazy: only a process that speaks Spanish pays
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return _gettext.GNUTranslations(compiled)


def current_language() -> str:
    return _current.get()


def set_language(language: str) -> None:
    """The language of everything rendered from here on in this context (a request, and the work it spawns)."""
    _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


@contextmanager
def use_language(language: str) -> Iterator[None]:
    """Render inside with ``language`` (a channel's, another person's), then back to the reader's."""
    token = _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    """``message`` in the current language."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form of a message for ``n``, in the current language (its own plural rule)."""
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks ``message`` for extraction where it is defined (a module constant); ``_()`` translates it where used."""
    return message


_ = gettext


def language_of_locale(locale: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """A Slack locale (``users.info`` with ``include_locale``) → the bot's language: ``es-*`` → ``es``, any other
    locale → ``default`` (``DEFAULT_LANGUAGE``)."""
    if locale and locale.replace("_", "-").lower().split("-")[0] == "es":
        return "es"
    return default if default in LANGUAGES else DEFAULT_LANGUAGE


def babel_locale(language: str, slack_locale: str | None = None) -> str:
    """The Babel locale that formats dates and numbers: ``es-LA`` (Slack's Latin America) → ``es_419``, ``es-ES`` →
    ``es_ES``; a Spanish reader with no locale → ``es_419`` (the neutral Latin-American Spanish of the catalogue);
    English → ``en_US`` unless the Slack locale says which English."""
    if slack_locale:
        parts = slack_locale.replace("-", "_").split("_")
        if parts[0].lower() == language:
            region = parts[1].upper() if len(parts) > 1 else ""
            if language == "es" and region in ("LA", "419", ""):
                return "es_419"
            return f"{language}_{region}" if region else language
    return "es_419" if language == "es" else "en_US"


__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "N_",
    "_",
    "babel_locale",
    "current_language",
    "gettext",
    "language_of_locale",
    "ngettext",
    "set_language",
    "translations",
    "use_language",
]
