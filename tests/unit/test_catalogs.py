"""The Spanish catalogue is complete and safe (#19): every message marked in the code has a translation (none empty,
none fuzzy), with the same named placeholders, no mrkdwn the English does not have, and the catalogue is what
``pybabel extract`` finds today (no stale ids)."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALE_DIR, translations, use_language

ROOT = Path(__file__).resolve().parents[2]
SPANISH = LOCALE_DIR / "es" / "LC_MESSAGES" / "messages.po"


def catalog() -> Catalog:
    with SPANISH.open("rb") as handle:
        return read_po(handle, locale="es")


def marked_in_code() -> set[str]:
    """The ids ``pybabel extract -F babel.cfg`` finds in ``bot/`` (singular ids; a plural's by its singular)."""
    found: set[str] = set()
    method_map = [("**.py", "python")]
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT / "bot"), method_map):
        found.add(message if isinstance(message, str) else message[0])
    return found


def entries() -> Iterator[Message]:
    yield from (m for m in catalog() if m.id)


def placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


def test_every_marked_message_is_in_the_catalogue_and_nothing_stale() -> None:
    in_catalogue = {m.id if isinstance(m.id, str) else m.id[0] for m in entries()}
    code = marked_in_code()
    assert len(code) > 300  # the bot's words really are marked
    assert not sorted(code - in_catalogue), "marked but not translated: run pybabel extract/update"
    assert not sorted(in_catalogue - code), "translated but no longer in the code: stale ids"


def test_every_translation_is_there_and_not_fuzzy() -> None:
    missing = []
    for message in entries():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(s and s.strip() for s in strings):
            missing.append(message.id)
    assert not missing


def test_named_placeholders_are_the_same_in_both_languages() -> None:
    wrong = []
    for message in entries():
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set().union(*(placeholders(i) for i in ids))
        for translated in strings:
            if placeholders(translated) - expected or (placeholders(translated) != expected and len(ids) == 1):
                wrong.append((message.id, translated))
            if any(name == "" or name.isdigit() for name in placeholders(translated)):
                wrong.append((message.id, "positional placeholder"))
    assert not wrong


@pytest.mark.parametrize("character", ["<", ">", "&"])
def test_translations_introduce_no_mrkdwn_control_characters(character: str) -> None:
    wrong = []
    for message in entries():
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        allowed = max(i.count(character) for i in ids)
        wrong += [(message.id, s) for s in strings if s.count(character) > allowed]
    assert not wrong


def test_spanish_is_spanish_and_english_reads_its_ids() -> None:
    spanish = translations("es")
    some = next(m for m in entries() if isinstance(m.id, str) and len(m.id) > 20)
    assert spanish.gettext(some.id) == some.string != some.id
    with use_language("en"):
        assert translations("en").gettext(some.id) == some.id


def test_the_catalogue_uses_the_words_of_the_glossary() -> None:
    """Consistency: a device is an "equipo" (never "dispositivo"), a failure a "falla" (never "fallo")."""
    text = "\n".join(str(m.string) for m in entries())
    assert not re.search(r"\bdispositivos?\b", text, re.IGNORECASE)
    assert not re.search(r"\bfallos?\b", text, re.IGNORECASE)
