"""The commands area in Spanish (issue #19): its fragment (``bot/locale/fragments/commands.po``) translates every msgid
its files mark, each translation fills exactly the placeholders of its msgid and adds no mrkdwn markup, and the
messages people read come out in Spanish for a Spanish reader and unchanged in English for everyone else."""

from __future__ import annotations

import gettext
import io
import string
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import bot.i18n
from bot.control.errors import OperationNotFound
from bot.domain.changes import Failure, OperationChange
from bot.domain.requests import Decision, Refusal
from bot.i18n import use_language
from bot.slack.blocks.inventory import counts_line
from bot.slack.blocks.notifications import change_message, digest_message, outage_message
from bot.slack.blocks.operations import help_message, list_message
from bot.slack.commands import InvalidRequest, parse_command
from bot.slack.wording import explain, refusal_text

ROOT = Path(bot.i18n.__file__).parent
FRAGMENT = ROOT / "locale" / "es" / "LC_MESSAGES" / "messages.po"  # the merged catalogue
#: The files of the commands area: everything they mark must be in its fragment.
AREA = [
    "slack/wording.py",
    "slack/respond.py",
    "slack/listeners/commands.py",
    "slack/listeners/actions.py",
    "slack/listeners/views.py",
    "slack/listeners/shortcuts.py",
    "slack/listeners/followup.py",
    "slack/commands.py",
    "slack/blocks/operations.py",
    "slack/blocks/inventory.py",
    "slack/blocks/notifications.py",
    "slack/messenger.py",
    "slack/delivery.py",
    "domain/changes.py",
    *(f"services/notifier/{p.name}" for p in sorted((ROOT / "services" / "notifier").glob("*.py"))),
    "services/operations.py",
    "services/watches.py",
    "control/errors.py",
]


def _fragment() -> Catalog:
    with FRAGMENT.open("rb") as handle:
        return read_po(handle, locale="es")


def _placeholders(text: str) -> set[str]:
    return {name for _literal, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


def test_the_fragment_translates_every_msgid_the_area_marks() -> None:
    catalog = _fragment()
    marked = {
        message
        for path in AREA
        for _line, message, _comments, _context in extract_from_file("python", str(ROOT / path))
    }
    assert len(marked) > 200, "the extraction found the area's messages"
    missing = [m for m in marked if m not in catalog]
    assert not missing, f"marked in code, not in {FRAGMENT.name}: {missing}"
    assert catalog.num_plurals == 2 and catalog.plural_expr == "(n != 1)"
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings) and len(strings) == (2 if message.pluralizable else 1), message.id


def test_each_translation_fills_the_placeholders_of_its_msgid_and_adds_no_markup() -> None:
    for message in _fragment():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = _placeholders(ids[0])
        for text in (*ids, *strings):
            assert _placeholders(text) == expected, (message.id, text)
            text.format(**dict.fromkeys(expected, "x"))  # braces balanced: rendering cannot raise
        for text in strings:
            for reserved in "<>&":
                assert text.count(reserved) <= ids[0].count(reserved), (message.id, text)


def test_the_area_s_buttons_fit_slack_s_limit_in_spanish() -> None:
    catalog = _fragment()
    for label in ("More", "Refresh"):
        translated = catalog[label].string
        assert translated and len(translated) <= 75 and translated != label, label


@pytest.fixture
def spanish(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The fragment as the Spanish catalogue (the merged ``es`` catalogue is another area's step)."""
    compiled = io.BytesIO()
    write_mo(compiled, _fragment(), use_fuzzy=False)
    compiled.seek(0)
    spanish_catalogue = gettext.GNUTranslations(compiled)
    english = gettext.NullTranslations()
    monkeypatch.setattr(bot.i18n, "translations", lambda language: spanish_catalogue if language == "es" else english)
    with use_language("es"):
        yield


def _change(**overrides: object) -> OperationChange:
    fields: dict[str, object] = {
        "operation_id": "txn_1",
        "device_serial": "SN123456789",
        "operation_type": "reboot",
        "scheduled_time": datetime(2026, 3, 7, 2, 0, tzinfo=UTC),
        "status": "failed",
        "old_status": "in_progress",
        "device_online": True,
        "last_seen": None,
        "firmware_version": None,
        "version": 2,
        "failure": Failure.STATUS,
    }
    fields.update(overrides)
    return OperationChange(**fields)  # type: ignore[arg-type]


@pytest.mark.usefixtures("spanish")
def test_what_a_spanish_reader_reads() -> None:
    helped = help_message()["blocks"][0]["text"]["text"]
    assert "*Cómo usar /headless*" in helped and "— esta ayuda" in helped
    assert "`/headless list [SERIAL] [status=STATUS]`" in helped, "command syntax stays English"
    assert explain(OperationNotFound("txn_9")).startswith(":mag: No hay ninguna operación `txn_9` en la Control API.")
    assert refusal_text(Decision(won=False, record=None, action="confirm", refusal=Refusal.NOT_REQUESTER)) == (
        "Solo la persona que la pidió puede confirmar esta solicitud."
    )
    assert list_message([], serial="SN1", status="failed")["text"] == (
        "No hay operaciones del número de serie `SN1` con estado `failed`."
    )
    failed = change_message(_change())
    assert failed["text"] == "Operación txn_1: fallida (SN123456789)"
    assert failed["blocks"][1]["elements"][0]["text"]["text"] == "Actualizar"
    digest = digest_message([_change(), _change(operation_id="txn_2", failure=None, status="completed")])
    assert digest["text"] == "2 cambios de operaciones desde la última revisión, 1 falla"
    assert "sin respuesta" in outage_message(datetime(2026, 3, 7, tzinfo=UTC), "no answer")["blocks"][0]["text"]["text"]
    assert counts_line("Sitios", []) == "*Sitios*: ninguno"
    problem = parse_command("status")
    assert isinstance(problem, InvalidRequest)
    assert problem.problem == "Indica un id de operación, por ejemplo `/headless status txn_12345`."


def test_english_stays_the_source_text() -> None:
    assert refusal_text(Decision(won=False, record=None, action="confirm", refusal=Refusal.NOT_REQUESTER)) == (
        "Only the person who asked can confirm this request."
    )
    assert change_message(_change())["text"] == "Operation txn_1 failed (SN123456789)"
    digest = digest_message([_change(), _change(operation_id="txn_2", failure=None, status="completed")])
    assert digest["text"] == "2 operation changes since the last check, 1 failure"
