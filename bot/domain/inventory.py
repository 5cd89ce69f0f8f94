"""The device inventory: what the bot knows of each device (zone, site, tags, free labels) and the selectors that
pick devices from it. Pure: no I/O (reading the file is ``bot.services.inventory``'s).

Serials, sites, tags and zones are compared without regard to case (``serial_key``, as everywhere in the bot).
A selector is terms separated by commas (union), each term atoms joined by ``+`` (intersection); an atom is a
serial, a glob (``SN1234*``, ``?`` for one character), ``site:NAME``, ``tag:NAME`` or ``zone:IANA``. Indexes by
site, tag and zone make a selector over 100,000 devices a few set operations.
"""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from bot.domain.ids import serial_key
from bot.i18n import N_, _, ngettext

SELECTOR_KINDS: tuple[str, ...] = ("site", "tag", "zone")
_KIND_PREFIX = re.compile(r"^([A-Za-z]+):(.*)\Z", re.DOTALL)
MAX_SELECTOR_LENGTH = 1500  # a More button's value (2000 at most) carries it
#: "``{asked}`` names no site." for each kind (a whole sentence per kind, so a translation may word each its way).
_NAMES_NO = {
    "site": N_("{asked} names no site."),
    "tag": N_("{asked} names no tag."),
    "zone": N_("{asked} names no zone."),
}


@dataclass(frozen=True, slots=True)
class Device:
    """One line of the inventory. ``labels``: the file's extra columns, as (name, value) pairs (``None`` when
    there are none)."""

    serial: str
    zone: str
    site: str
    tags: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] | None = None


class SelectorError(ValueError):
    """A selector that cannot be used (an unknown kind, an empty part) or that matches no device.

    ``template`` (already in the reader's language) has ``{asked}`` where the part that was asked goes (``asked``,
    as typed), so a front end can show it its own way (escaped); ``str()`` shows it in backticks. The rest of the
    template holds no typed text but a kind word of letters only. ``unmatched``: the parts of a selector matching
    nothing which match no device on their own (``tag:nope`` in ``site:a+tag:nope``), said after the template."""

    def __init__(self, template: str, asked: str = "", unmatched: Sequence[str] = ()) -> None:
        self.template = template
        self.asked = asked
        self.unmatched = tuple(unmatched)
        super().__init__(self.show(lambda text: f"`{text}`"))

    def show(self, quote: Callable[[str], str]) -> str:
        text = self.template.format(asked=quote(self.asked))
        if self.unmatched:
            parts = ", ".join(quote(part) for part in self.unmatched[:5])
            if len(self.unmatched) > 5:
                more = len(self.unmatched) - 5
                note = ngettext(
                    "({parts} and {count} more match no device at all.)",
                    "({parts} and {count} more match no device at all.)",
                    more,
                ).format(parts=parts, count=more)
            else:
                note = ngettext(
                    "({parts} matches no device at all.)", "({parts} match no device at all.)", len(self.unmatched)
                ).format(parts=parts)
            text += " " + note
        return text


@dataclass(frozen=True)
class Selection:
    """The devices a selector matched, in inventory order, and their counts per site, zone and tag."""

    selector: str
    devices: tuple[Device, ...]

    @property
    def by_site(self) -> list[tuple[str, int]]:
        return _most_common(d.site for d in self.devices)

    @property
    def by_zone(self) -> list[tuple[str, int]]:
        return _most_common(d.zone for d in self.devices)

    @property
    def by_tag(self) -> list[tuple[str, int]]:
        return _most_common(t for d in self.devices for t in d.tags)


def _most_common(values: Iterable[str]) -> list[tuple[str, int]]:
    """Largest count first, then by name (a stable order for people and tests)."""
    return sorted(Counter(values).items(), key=lambda item: (-item[1], item[0]))


@dataclass
class Inventory:
    """The devices, in file order, with case-insensitive indexes (positions into ``devices``)."""

    devices: tuple[Device, ...]
    _by_serial: dict[str, int] = field(default_factory=dict, repr=False)
    _by_site: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _by_tag: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _by_zone: dict[str, list[int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for position, device in enumerate(self.devices):
            self._by_serial[serial_key(device.serial)] = position
            self._by_site.setdefault(device.site.casefold(), []).append(position)
            self._by_zone.setdefault(device.zone.casefold(), []).append(position)
            for tag in device.tags:
                self._by_tag.setdefault(tag.casefold(), []).append(position)

    def __len__(self) -> int:
        return len(self.devices)

    def get(self, serial: str) -> Device | None:
        position = self._by_serial.get(serial_key(serial))
        return None if position is None else self.devices[position]

    def everything(self) -> Selection:
        return Selection("", self.devices)

    def select(self, selector: str) -> Selection:
        """The devices ``selector`` picks; ``SelectorError`` for a selector that cannot be read or matches none."""
        text = selector.strip()
        if not text:
            return self.everything()
        if len(text) > MAX_SELECTOR_LENGTH:
            raise SelectorError(_("A selector is at most {limit} characters.").format(limit=MAX_SELECTOR_LENGTH))
        chosen: set[int] = set()
        unmatched: list[str] = []
        for term in text.split(","):
            term = term.strip()
            if not term:
                continue
            atoms = [atom.strip() for atom in term.split("+")]
            if any(not atom for atom in atoms):
                raise SelectorError(_("{asked} has an empty part around `+`."), term)
            positions: set[int] | None = None
            for atom in atoms:
                matched = self.match(atom)
                if not matched:
                    unmatched.append(atom)
                positions = matched if positions is None else positions & matched
            chosen |= positions or set()
        if not chosen:
            raise SelectorError(_("No device in the inventory matches {asked}."), text, list(dict.fromkeys(unmatched)))
        return Selection(text, tuple(self.devices[p] for p in sorted(chosen)))

    def match(self, atom: str) -> set[int]:
        """Positions (into ``devices``) of the devices one atom picks: a serial, a glob, ``site:``/``tag:``/``zone:``.
        ``SelectorError`` for an unknown kind or a kind with no name."""
        prefixed = _KIND_PREFIX.match(atom)
        if prefixed and serial_key(atom) not in self._by_serial:
            kind, value = prefixed.group(1).lower(), prefixed.group(2).strip().casefold()
            if kind not in SELECTOR_KINDS:
                unknown = _(
                    "{asked}: unknown selector kind `{kind}:`; use `site:NAME`, `tag:NAME`, `zone:IANA`, a serial "
                    "or a glob such as `SN1234*`."
                )
                # the kind is letters only (``_KIND_PREFIX``): it goes in now, ``{asked}`` stays for ``show``
                raise SelectorError(unknown.format(kind=prefixed.group(1), asked="{asked}"), atom)
            if not value:
                raise SelectorError(_(_NAMES_NO[kind]), atom)
            index = {"site": self._by_site, "tag": self._by_tag, "zone": self._by_zone}[kind]
            return set(index.get(value, ()))
        if "*" in atom or "?" in atom:
            pattern = re.compile(fnmatch.translate(serial_key(atom)))
            return {p for key, p in self._by_serial.items() if pattern.match(key)}
        position = self._by_serial.get(serial_key(atom))
        return set() if position is None else {position}


def page_of(devices: Sequence[Device], offset: int, size: int) -> Sequence[Device]:
    """One page of a selection (``offset`` clamped to the list)."""
    start = max(0, min(offset, len(devices)))
    return devices[start : start + size]


__all__ = ["MAX_SELECTOR_LENGTH", "SELECTOR_KINDS", "Device", "Inventory", "Selection", "SelectorError", "page_of"]
