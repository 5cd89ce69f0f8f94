"""Which devices a request names: serials, globs and selectors, read against the inventory (``INVENTORY_FILE``).

Without an inventory, the serials field is read as it always was (``parse_serials``). With one, each word (words
are separated by spaces, new lines or ``;``) is a selector: terms separated by commas (union), each term atoms
joined by ``+`` (intersection); an atom is a serial, a glob (``SN1234*``), ``site:NAME``, ``tag:NAME`` or
``zone:IANA``. A pasted list of serials is the simplest selector of all.

A serial the inventory lacks is refused before approval, listed ("3 serials are not in the inventory: …"), unless
``INVENTORY_STRICT=false``: then it is kept (sent as typed) and the preview warns. A selector part that matches
nothing is always refused: a typo in ``site:san-jsoe`` must not silently shrink a fleet request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.domain.ids import SERIAL, serial_key
from bot.domain.inventory import Inventory, SelectorError
from bot.i18n import _, ngettext
from bot.services.inputs import InputError, parse_serials, too_many

_WORDS = re.compile(r"[\s;]+")
_GLOB = re.compile(r"[*?]")
_KIND = re.compile(r"^[A-Za-z]+:")
SHOWN = 10  # serials or selector parts named in one message


@dataclass(frozen=True)
class Targets:
    """The devices of a request, once each, in the order asked (a selector's matches in inventory order).

    ``unknown``: serials asked for that the inventory lacks (in ``serials`` only when ``INVENTORY_STRICT=false``).
    ``selected``: some devices came from a selector or a glob, so the preview says how many matched.
    ``zones``: serial → IANA zone of each device the inventory knows (for device-local times)."""

    serials: tuple[str, ...]
    unknown: tuple[str, ...] = ()
    selected: bool = False
    zones: Mapping[str, str] = field(default_factory=dict)


def _named(items: list[str]) -> str:
    shown = ", ".join(item[:64] for item in items[:SHOWN])
    if len(items) > SHOWN:
        return _("{items} and {count} more").format(items=shown, count=len(items) - SHOWN)
    return shown


def _quoted(text: str) -> str:
    return f"'{text[:60]}'"


class _Reader:
    """One pass over the words: what each picks, and every problem found (all reported at once)."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.chosen: dict[str, str] = {}  # serial_key → serial (the inventory's spelling, or as typed)
        self.unknown: dict[str, str] = {}
        self.bad: list[str] = []
        self.empty: list[str] = []  # selector parts matching no device
        self.selected = False

    def word(self, word: str) -> None:
        for term in word.split(","):
            if term:
                self.term(term)

    def term(self, term: str) -> None:
        atoms = term.split("+")
        if any(not atom for atom in atoms):
            raise InputError(
                _("{term} has an empty part around '+': write site:NAME+tag:NAME.").format(term=_quoted(term))
            )
        if len(atoms) == 1 and self._plain_serial(atoms[0]):
            return
        positions: set[int] | None = None
        for atom in atoms:
            matched = self._match(atom)
            positions = matched if positions is None else positions & matched
        self.selected = True
        if not positions:
            self.empty.append(term)
            return
        devices = self.inventory.devices
        for position in sorted(positions):
            serial = devices[position].serial
            self.chosen.setdefault(serial_key(serial), serial)

    def _plain_serial(self, atom: str) -> bool:
        """A lone serial (not a glob, not a known ``kind:``): picked, or noted as unknown; ``False`` otherwise."""
        if _GLOB.search(atom):
            return False
        device = self.inventory.get(atom)
        if device is not None:
            self.chosen.setdefault(serial_key(device.serial), device.serial)
            return True
        if _KIND.match(atom):
            return False  # ``kind:NAME`` (``match`` names the kinds there are when this one is not one)
        if not SERIAL.match(atom):
            self.bad.append(atom)
            return True
        self.unknown.setdefault(serial_key(atom), atom)
        return True

    def _match(self, atom: str) -> set[int]:
        try:
            return self.inventory.match(atom)
        except SelectorError as exc:
            raise InputError(exc.show(_quoted)) from None


def parse_targets(text: str, inventory: Inventory | None, *, limit: int, strict: bool = True) -> Targets:
    """The devices ``text`` names; ``InputError`` saying every problem (bad words, selectors matching nothing,
    serials not in the inventory when ``strict``, more than ``limit`` devices)."""
    if inventory is None:
        return Targets(serials=tuple(parse_serials(text, limit=limit)))
    words = [w for w in _WORDS.split(text or "") if w]
    if not words:
        raise InputError(_("Give at least one device serial or a selector, like SN123456789 or site:san-jose+tag:gw."))
    reader = _Reader(inventory)
    for word in words:
        reader.word(word)
    problems: list[str] = []
    if reader.bad:
        bad = ngettext(
            "{items} is not a device serial or selectors: use serials like SN123456789, globs like SN1234*, or "
            "site:NAME, tag:NAME, zone:IANA.",
            "{items} are not device serials or selectors: use serials like SN123456789, globs like SN1234*, or "
            "site:NAME, tag:NAME, zone:IANA.",
            len(reader.bad),
        )
        problems.append(bad.format(items=_named(reader.bad)))
    if reader.empty:
        empty = _("No device in the inventory matches {items}; see /headless devices.")
        problems.append(empty.format(items=_named(reader.empty)))
    unknown = list(reader.unknown.values())
    if unknown and strict:
        check = _("{unknown} Check them with /headless devices, or correct the list.")
        problems.append(check.format(unknown=not_in_inventory(unknown)))
    if problems:
        raise InputError(" ".join(problems))
    serials = list(reader.chosen.values())
    if not strict:
        serials += [serial for key, serial in reader.unknown.items() if key not in reader.chosen]
    if len(serials) > limit:
        raise too_many(len(serials), limit)
    zones = {d.serial: d.zone for s in serials if (d := inventory.get(s)) is not None}
    return Targets(serials=tuple(serials), unknown=tuple(unknown), selected=reader.selected, zones=zones)


def not_in_inventory(serials: list[str]) -> str:
    """``3 serials are not in the inventory: A, B, C.``"""
    count = len(serials)
    return ngettext(
        "{count} serial is not in the inventory: {serials}.",
        "{count} serials are not in the inventory: {serials}.",
        count,
    ).format(count=f"{count:,}", serials=_named(serials))


__all__ = ["Targets", "not_in_inventory", "parse_targets"]
