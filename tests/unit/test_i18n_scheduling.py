"""Spanish for the scheduling area (#19): every message marked in its files has a translation with the same named
placeholders, and the Spanish really reaches what people read (errors, the modal, the buttons) while English stays
the source text."""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import bot.i18n as i18n
from bot.domain.inventory import Device, Inventory, SelectorError
from bot.domain.operation_types import OperationType, check_parameters
from bot.domain.serial_csv import SerialCsvError, serials_from_csv
from bot.i18n import use_language
from bot.services.inputs import InputError, parse_parameters, parse_serials
from bot.services.targets import not_in_inventory
from bot.slack.blocks import schedule_modal as smb
from bot.slack.blocks import scheduling as sb

ROOT = Path(__file__).resolve().parents[2]
FILES = [
    "bot/slack/blocks/scheduling.py",
    "bot/slack/modal.py",
    "bot/slack/uploads.py",
    "bot/slack/operation_fields.py",
    "bot/slack/blocks/operation_types.py",
    "bot/services/inputs.py",
    "bot/services/scheduling.py",
    "bot/services/schedule_form.py",
    "bot/services/schedule_times.py",
    "bot/services/device_time.py",
    "bot/services/lead.py",
    "bot/services/targets.py",
    "bot/services/operation_types.py",
    "bot/domain/operation_types.py",
    "bot/domain/serial_csv.py",
    "bot/domain/inventory.py",
    "bot/services/creation.py",
    "bot/services/approvals.py",
    "bot/domain/requests.py",
]
FRAGMENT = ROOT / "bot/locale/fragments/scheduling.po"
MERGED = ROOT / "bot/locale/es/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"(?<!\{)\{([a-z_]+)\}(?!\})")


def _catalogue() -> Catalog:
    path = FRAGMENT if FRAGMENT.exists() else MERGED
    with path.open("rb") as handle:
        return read_po(handle, locale="es")


def _marked() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for name in FILES:
        for _line, message, _comments, _context in extract_from_file(
            "python", str(ROOT / name), keywords=DEFAULT_KEYWORDS
        ):
            found.add(message[:2] if isinstance(message, tuple) else message)
    return found


@pytest.fixture
def spanish(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The area's Spanish catalogue in force for ``es`` (the merged catalogue may not hold it yet)."""
    compiled = io.BytesIO()
    write_mo(compiled, _catalogue(), use_fuzzy=False)
    compiled.seek(0)
    translations = gettext.GNUTranslations(compiled)
    original = i18n.translations
    monkeypatch.setattr(i18n, "translations", lambda language: translations if language == "es" else original(language))
    with use_language("es"):
        yield


def test_every_marked_message_is_translated_with_its_placeholders() -> None:
    catalogue = _catalogue()
    marked = _marked()
    assert len(marked) > 200  # the area's messages are marked, not a handful
    for message in marked:
        entry = catalogue.get(message[0] if isinstance(message, tuple) else message)
        assert entry is not None, f"no translation for {message!r}"
        assert not entry.fuzzy, message
        ids = message if isinstance(message, tuple) else (message,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        assert all(strings), f"empty translation for {message!r}"
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == set(PLACEHOLDER.findall(ids[0])), (message, string)
            for markup in "<>&":
                assert string.count(markup) <= ids[0].count(markup), (message, string)


def test_errors_people_fix_read_in_spanish(spanish: None) -> None:
    with pytest.raises(InputError, match=r"^a, b no son números de serie de equipo: usa letras"):
        parse_serials("a,b", limit=5)
    with pytest.raises(InputError, match=r"x:=\{\"cpu\": 2\}"):  # doubled braces come out single
        parse_parameters('x:={"cpu"')
    with pytest.raises(SerialCsvError, match=r"^línea 2: 'bad one' no es un número de serie de equipo\. "):
        serials_from_csv("serial\nbad one\n")
    inventory = Inventory((Device("SN1", "UTC", "sj", ("gw",)),))
    with pytest.raises(SelectorError) as caught:
        inventory.select("site:nope+tag:x,SN9")
    assert str(caught.value) == (
        "Ningún equipo del inventario coincide con `site:nope+tag:x,SN9`. "
        "(`site:nope`, `tag:x`, `SN9` no coinciden con ningún equipo.)"
    )
    assert not_in_inventory(["SN9"]) == "1 número de serie no está en el inventario: SN9."


def test_parameter_rules_read_in_spanish(spanish: None) -> None:
    operation = OperationType(
        "fw",
        schema={
            "type": "object",
            "additionalProperties": False,
            "properties": {"n": {"type": ["integer", "null"], "minimum": 1}},
        },
    )
    problems = [p.message for p in check_parameters(operation, {"n": "a", "z": 1}).problems]
    assert problems == [
        "Parámetro n: debe ser un número entero o null (se recibió a).",
        "z no es un parámetro de fw; sus parámetros son n.",
    ]


def test_the_form_and_buttons_fit_slack_in_spanish(spanish: None) -> None:
    modal = smb.schedule_modal(["reboot"], preview="", private_metadata="", max_serials=1000, zone_note="")
    reject = smb.reject_modal("r1", None, None)
    for view in (modal, reject):
        for key in ("title", "submit", "close"):
            assert len(view[key]["text"]) <= 24, view[key]
    assert (modal["title"]["text"], reject["submit"]["text"]) == ("Programar operación", "Rechazar")
    buttons = [element["text"]["text"] for element in sb._confirm_actions("r1")["elements"]]
    assert buttons == ["Confirmar", "Cancelar"]


def test_english_is_the_source_text() -> None:
    with use_language("en"):
        assert not_in_inventory(["A", "B"]) == "2 serials are not in the inventory: A, B."
        buttons = [element["text"]["text"] for element in sb._confirm_actions("r1")["elements"]]
    assert buttons == ["Confirm", "Cancel"]
