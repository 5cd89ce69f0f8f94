"""The time area in Spanish (#19): every message of bot.when, the time blocks and the console's chrome is in the
fragment ``bot/locale/fragments/time.po``, translated with the same placeholders, and reads as Spanish when the
language is Spanish; English stays exactly as it was.

The Spanish catalogue is compiled here from the fragment (the merged ``messages.po`` is assembled elsewhere), so
these tests hold the fragment itself.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from gettext import GNUTranslations, NullTranslations
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from rich.console import Console

import bot.i18n
from bot.console.render import Renderer
from bot.console.workspace import YOU, console_stand_in
from bot.i18n import _, use_language
from bot.slack.blocks.common import device_text, slack_date, status_badge
from bot.when import (
    EXAMPLES,
    WhenError,
    check_window,
    format_preview,
    format_relative,
    parse_when,
    parse_when_local,
    parse_windows,
)
from tests.support.paths import ROOT

FRAGMENT = ROOT / "bot" / "locale" / "es" / "LC_MESSAGES" / "messages.po"  # the merged catalogue
AREA_FILES = [
    *sorted((ROOT / "bot" / "when").glob("*.py")),
    ROOT / "bot" / "slack" / "blocks" / "local_time.py",
    ROOT / "bot" / "slack" / "blocks" / "common.py",
    *sorted((ROOT / "bot" / "console").glob("*.py")),
]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
FIELD = re.compile(r"\{(\w*)\}")
CHICAGO = "America/Chicago"
NOW = datetime(2026, 3, 6, 15, 20, tzinfo=UTC)  # Friday 09:20 in Chicago


def _fragment():
    with FRAGMENT.open("rb") as handle:
        return read_po(handle, locale="es")


@pytest.fixture
def spanish(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Spanish from the fragment, for the duration of a test."""
    compiled = io.BytesIO()
    write_mo(compiled, _fragment(), use_fuzzy=False)
    compiled.seek(0)
    catalogue = GNUTranslations(compiled)
    monkeypatch.setattr(
        bot.i18n, "translations", lambda language: catalogue if language == "es" else NullTranslations()
    )
    with use_language("es"):
        yield


def _extracted() -> set[str | tuple[str, str]]:
    ids: set[str | tuple[str, str]] = set()
    for path in AREA_FILES:
        for _line, message, _comments, _context in extract_from_file("python", str(path), keywords=KEYWORDS):
            ids.add(message if isinstance(message, str) else tuple(message))
    return ids


def test_the_fragment_has_every_message_of_the_area_translated_with_the_same_placeholders() -> None:
    catalog = _fragment()
    assert catalog.num_plurals == 2
    translated = {m.id: m.string for m in catalog if m.id}
    extracted = _extracted()
    assert extracted, "nothing extracted: the keywords or the paths are wrong"
    assert sorted(map(str, extracted - set(translated))) == [], "marked in code but not in the fragment"
    # Stale ids are the whole catalogue's concern (tests/unit/test_catalogs.py): it holds every area's.
    for msgid, msgstr in translated.items():
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        strings = msgstr if isinstance(msgstr, tuple) else (msgstr,)
        for string in strings:
            assert string, msgid
            assert sorted(set(FIELD.findall(string))) == sorted(set(FIELD.findall(ids[-1]))), msgid
            for reserved in "<>&":
                assert string.count(reserved) <= ids[0].count(reserved), (msgid, reserved)


def test_the_spanish_examples_are_phrases_the_spanish_vocabulary_reads(spanish: None) -> None:
    examples = re.findall(r"“([^”]+)”", _(EXAMPLES))
    assert len(examples) == 4 and "mañana 2am" in examples
    for example in examples:
        assert parse_when(example, tz=CHICAGO, now=NOW, languages=("es",)) > NOW


def test_english_is_unchanged() -> None:
    with pytest.raises(WhenError) as refused:
        parse_when("", tz=CHICAGO, now=NOW)
    assert str(refused.value) == f"Please type when, e.g. {EXAMPLES}."
    assert format_preview(NOW + timedelta(hours=16, minutes=40), tz=CHICAGO, now=NOW) == (
        "Sat 7 Mar 02:00 CST · 08:00 UTC · in 16 h 40 min"
    )
    assert format_relative(timedelta(minutes=-5)) == "5 min ago"
    assert slack_date(datetime(2026, 3, 7, 2, 0, tzinfo=UTC)) == (
        "<!date^1772848800^{date_short_pretty} {time}|2026-03-07 02:00 UTC> (Sat 7 Mar 02:00 UTC)"
    )


def test_refusals_previews_and_distances_read_in_spanish(spanish: None) -> None:
    with pytest.raises(WhenError) as refused:
        parse_when("", tz=CHICAGO, now=NOW)
    assert str(refused.value) == "Escribe cuándo, p. ej., “mañana 2am”, “sáb 02:00”, “en 3 horas” o “2026-03-07 02:00”."
    with pytest.raises(WhenError) as past:
        parse_when("ayer 10:00", tz=CHICAGO, now=NOW)
    assert past.value.reason == "past"
    assert str(past.value).startswith("jue 5 mar 10:00 CST está en el pasado (hace 23 h 20 min).")
    assert "“mañana 10:00”" in str(past.value)
    preview = format_preview(NOW + timedelta(hours=16, minutes=40), tz=CHICAGO, now=NOW)
    assert preview == "sáb 7 mar 02:00 CST · 08:00 UTC · en 16 h 40 min"
    assert format_relative(timedelta(0)) == "ahora"


def test_a_dst_gap_and_a_date_that_does_not_exist_in_spanish(spanish: None) -> None:
    with pytest.raises(WhenError) as gap:
        parse_when("2026-03-08 02:30", tz=CHICAGO, now=NOW)
    assert gap.value.reason == "dst_gap"
    assert str(gap.value).startswith("02:30 no existe el dom 8 mar 2026 en America/Chicago: los relojes se adelantan")
    with pytest.raises(WhenError) as invalid:
        parse_when("30 feb 14:00", tz=CHICAGO, now=NOW)
    assert str(invalid.value).startswith("En febrero de 2027 no hay día 30 (ese mes tiene 28 días).")


def test_device_local_notes_and_window_checks_in_spanish(spanish: None) -> None:
    local = parse_when_local("09:00 hora local del equipo", ["Europe/Madrid"], tz=CHICAGO, now=NOW)
    (madrid,) = local.times
    assert madrid.notes == ("09:00 ya pasó hoy en Europe/Madrid: se movió a mañana allí, sáb 7 mar.",)
    windows = parse_windows("Sat,Sun 02:00-06:00 America/Chicago")
    inside = check_window(datetime(2026, 3, 7, 9, 0, tzinfo=UTC), windows, "block", tz=CHICAGO)
    assert inside.message == "Dentro de la ventana de mantenimiento sáb,dom 02:00-06:00 America/Chicago."
    outside = check_window(NOW, windows, "block", tz=CHICAGO)
    assert outside.message == (
        "Fuera de toda ventana de mantenimiento; la próxima empieza el sáb 7 mar 02:00 CST. "
        "No se permite programar fuera de una ventana."
    )


def test_slack_dates_and_device_words_in_spanish(spanish: None) -> None:
    assert slack_date(datetime(2026, 3, 7, 2, 0, tzinfo=UTC)) == (
        "<!date^1772848800^{date_short_pretty} {time}|7 mar 2026, 02:00 UTC> (sáb 7 mar 02:00 UTC)"
    )
    assert status_badge("in_progress") == ":arrows_counterclockwise: En curso"
    assert status_badge("rebooting") == ":grey_question: Rebooting"  # a status the bot does not know: as sent
    assert device_text(None) == "estado del equipo desconocido"


def _console_transcript(locale: str) -> str:
    out = io.StringIO()
    workspace = console_stand_in("UTC", locale=locale)
    renderer = Renderer(Console(file=out, width=200, color_system=None), workspace, lambda: workspace.users[YOU])
    renderer.message("#console", {"text": "At <!date^1772848800^{date_short_pretty} {time}|x>"}, ephemeral=True)
    return out.getvalue()


def test_the_console_speaks_the_viewers_language(spanish: None) -> None:
    """The console renders as its viewer reads: a Spanish locale gets Spanish chrome and dates, whatever the
    language of the moment (the stand-in's calls arrive outside any request)."""
    with use_language("en"):
        spanish_view = _console_transcript("es-LA")
        english_view = _console_transcript("en-US")
    assert "headless-ops (solo tú puedes ver esto)" in spanish_view
    assert "At sáb 07 mar 02:00 UTC" in spanish_view
    assert "headless-ops (only you can see this)" in english_view
    assert "At Sat 07 Mar 02:00 UTC" in english_view


def test_the_paths_of_the_area_exist() -> None:
    assert all(Path(path).exists() for path in AREA_FILES)
