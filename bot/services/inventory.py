"""``INVENTORY_FILE``: read the device inventory (CSV or YAML), check every line, and keep it current.

``parse_inventory`` turns the file's text into an ``Inventory`` or raises ``InventoryError`` listing every problem
with its line number (up to ``MAX_PROBLEMS``). ``InventoryFile`` loads the file at start and, every
``INVENTORY_RELOAD_SECONDS``, reloads it when its modification time or size changed; a bad new file leaves the
previous inventory in force, is logged once and shown by ``problem`` (``/readyz`` details).

CSV: header required, ``serial,zone,site,tags`` (``tags`` separated by ``;``; any other column is kept as a free
label). YAML (``.yaml``/``.yml``): a list of mappings with the same fields (``tags`` a list or a ``;`` string).
Zones are IANA names, checked with zoneinfo by the settings' rule (``bot.settings.is_time_zone``).
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.domain.ids import SERIAL, serial_key
from bot.domain.inventory import Device, Inventory
from bot.settings import is_time_zone

log = logging.getLogger("bot.inventory")

REQUIRED_COLUMNS: tuple[str, ...] = ("serial", "zone", "site", "tags")
MAX_PROBLEMS = 20


class InventoryError(ValueError):
    """A file that cannot be the inventory; ``problems`` has one line per problem (``line 17: …``)."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        shown = problems[:MAX_PROBLEMS]
        more = len(problems) - len(shown)
        tail = f"; and {more} more" if more > 0 else ""
        super().__init__(f"INVENTORY_FILE {source}: " + "; ".join(shown) + tail)


def parse_inventory(text: str, *, source: str = "inventory", yaml_format: bool | None = None) -> Inventory:
    """The inventory in ``text`` (YAML when ``yaml_format`` or when ``source`` ends in ``.yaml``/``.yml``)."""
    if yaml_format is None:
        yaml_format = source.lower().endswith((".yaml", ".yml"))
    rows = _yaml_rows(text, source) if yaml_format else _csv_rows(text, source)
    return _checked(rows, source)


def _csv_rows(text: str, source: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = next(reader, None)
    if header is None:
        raise InventoryError(source, [f"line 1: the file is empty; expected the header {','.join(REQUIRED_COLUMNS)}"])
    names = [name.strip().lower() for name in header]
    missing = [column for column in REQUIRED_COLUMNS if column not in names]
    if missing:
        raise InventoryError(
            source,
            [f"line 1: the header lacks {', '.join(missing)}; expected {','.join(REQUIRED_COLUMNS)} (then any labels)"],
        )
    width = len(names)
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) > width:
            yield reader.line_num, {"__width__": f"{len(row)} fields where the header has {width}"}
            continue
        yield reader.line_num, dict(zip(names, row, strict=False))  # a short row: the missing fields are empty


def _yaml_rows(text: str, source: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    loader = yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader
    try:
        node = yaml.compose(text, Loader=loader)  # nodes know their line; values below are plain scalars
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise InventoryError(source, [f"{where}not valid YAML ({getattr(exc, 'problem', None) or exc})"]) from None
    if node is None:
        return
    if not isinstance(node, yaml.SequenceNode):
        raise InventoryError(source, [f"line {node.start_mark.line + 1}: expected a list of devices (- serial: …)"])
    for item in node.value:
        line = item.start_mark.line + 1
        if not isinstance(item, yaml.MappingNode):
            yield line, {"__width__": "expected a mapping with serial, zone, site, tags"}
            continue
        row: dict[str, Any] = {}
        for key, value in item.value:
            name = str(key.value).strip().lower()
            if isinstance(value, yaml.SequenceNode):
                row[name] = [str(v.value) for v in value.value if isinstance(v, yaml.ScalarNode)]
            elif isinstance(value, yaml.ScalarNode):
                row[name] = "" if value.tag.endswith(":null") and value.value in ("", "~", "null") else value.value
            else:
                row[name] = None
        yield line, row


def _tags(value: Any) -> tuple[str, ...] | None:
    if value is None or value == "":
        return ()
    items: Iterable[Any] = value.split(";") if isinstance(value, str) else value
    if isinstance(value, str) or isinstance(value, list):
        return tuple(dict.fromkeys(sys.intern(str(t).strip()) for t in items if str(t).strip()))
    return None


def _checked(rows: Iterable[tuple[int, Mapping[str, Any]]], source: str) -> Inventory:
    """Every row checked; all problems gathered (up to ``MAX_PROBLEMS``), or the inventory."""
    problems: list[str] = []
    devices: list[Device] = []
    seen: dict[str, int] = {}
    zones: dict[str, bool] = {}  # each distinct zone checked once
    interned: dict[str, str] = {}  # zones, sites, label names and short values: one string each
    tag_sets: dict[tuple[str, ...], tuple[str, ...]] = {}  # one tuple per distinct set of tags
    for line, row in rows:
        if len(problems) >= MAX_PROBLEMS:
            problems.append("…")
            break
        if "__width__" in row:
            problems.append(f"line {line}: {row['__width__']}")
            continue
        serial = str(row.get("serial") or "").strip()
        zone = str(row.get("zone") or "").strip()
        site = str(row.get("site") or "").strip()
        tags = _tags(row.get("tags"))
        if not SERIAL.match(serial):
            problems.append(
                f"line {line}: serial {serial!r} is not a device serial (3–64 letters, digits, . _ : -)"
                if serial
                else f"line {line}: no serial"
            )
            continue
        key = serial_key(serial)
        if key in seen:
            problems.append(f"line {line}: serial {serial!r} is already on line {seen[key]}")
            continue
        seen[key] = line
        if zone not in zones:
            zones[zone] = bool(zone) and is_time_zone(zone)
        if not zones[zone]:
            problems.append(f"line {line}: zone {zone!r} is not an IANA time zone" if zone else f"line {line}: no zone")
        if not site:
            problems.append(f"line {line}: no site")
        if tags is None:
            problems.append(f"line {line}: tags must be separated by ';' (or a YAML list)")
        if problems:
            continue  # keep checking, stop building
        labels = tuple(
            (interned.setdefault(k, k), interned.setdefault(v, v) if len(v) < 32 else v)
            for k, v in ((k, str(v)) for k, v in row.items() if k not in REQUIRED_COLUMNS and v not in (None, ""))
        )
        devices.append(
            Device(
                serial=serial,
                zone=interned.setdefault(zone, zone),
                site=interned.setdefault(site, site),
                tags=tag_sets.setdefault(tags, tags) if tags else (),
                labels=labels or None,
            )
        )
    if problems:
        raise InventoryError(source, problems)
    return Inventory(tuple(devices))


@dataclass(frozen=True)
class _Stamp:
    mtime_ns: int
    size: int


def _stamp(path: Path) -> _Stamp:
    stat = os.stat(path)
    return _Stamp(stat.st_mtime_ns, stat.st_size)


def read_inventory(path: str | Path) -> Inventory:
    """The inventory in the file at ``path``; ``InventoryError`` (one line) for a missing or bad file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(str(path), [f"cannot be read ({exc.__class__.__name__}: {exc})"]) from None
    return parse_inventory(text, source=str(path))


class InventoryFile:
    """The inventory in force, from ``INVENTORY_FILE``, reloaded when the file changes."""

    def __init__(self, path: str | Path, *, interval: float = 60.0) -> None:
        self.path = Path(path)
        self.interval = interval
        self.current: Inventory | None = None
        self.problem: str | None = None  # why the file on disk is not the one in force
        self.loaded_at_stamp: _Stamp | None = None
        self._seen: _Stamp | None = None

    def load(self) -> Inventory:
        """The first load (at start): a bad file raises ``InventoryError``."""
        stamp = _stamp(self.path) if self.path.exists() else None
        inventory = read_inventory(self.path)
        self.current, self.problem, self.loaded_at_stamp, self._seen = inventory, None, stamp, stamp
        log.info("inventory %s: %d devices", self.path, len(inventory))
        return inventory

    def check(self) -> bool:
        """Reload when the file's mtime or size changed; ``True`` when a new inventory is now in force."""
        try:
            stamp = _stamp(self.path)
        except OSError as exc:
            stamp = None
            reason = f"INVENTORY_FILE {self.path}: cannot be read ({exc.__class__.__name__})"
        if stamp is not None and stamp == self._seen:
            return False
        if stamp is None:
            if self.problem != reason:
                self.problem = reason
                log.warning("%s; the previous inventory stays in force", reason)
            self._seen = None
            return False
        self._seen = stamp
        try:
            inventory = read_inventory(self.path)
        except InventoryError as exc:
            self.problem = str(exc)
            log.warning("%s; the previous inventory stays in force", exc)  # once per change of the file
            return False
        self.current, self.problem, self.loaded_at_stamp = inventory, None, stamp
        log.info("inventory %s reloaded: %d devices", self.path, len(inventory))
        return True

    def health(self) -> dict[str, Any]:
        """For ``/readyz`` and ``/healthz``: devices in force, and the problem with the file on disk, if any."""
        return {
            "file": str(self.path),
            "devices": len(self.current) if self.current is not None else 0,
            "problem": self.problem,
        }

    async def run_forever(self) -> None:
        """``check`` every ``interval`` seconds, off the event loop; one failing check never stops the next."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                await asyncio.to_thread(self.check)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("inventory check failed")


__all__ = ["InventoryError", "InventoryFile", "parse_inventory", "read_inventory"]
