"""Device-local time, the types: what :func:`bot.when.parse_when_local` returns, and the ``if_past`` choice.

Data only (nothing of ``bot.when`` is imported), so ``bot.settings`` can name :class:`IfPast` without loading the
grammar.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class IfPast(StrEnum):
    """What a time of day with no date (``02:00 device-local``) does in a zone where it has already passed
    today (``DEVICE_LOCAL_IF_PAST``)."""

    NEXT_DAY = "next-day"  # moved to tomorrow there, flagged
    REFUSE = "refuse"  # the phrase is refused, naming the zones


class LocalFlag(StrEnum):
    """Why a zone's instant is not simply the wall time asked for that day: shown ⚠ per zone."""

    GAP_MOVED = "gap-moved"  # the clocks skip that time that night: moved to the first valid minute after
    REPEATED_FIRST = "repeated-first"  # the clocks repeat that time that night: its first pass is taken
    NEXT_DAY = "next-day"  # already past today in that zone: moved to tomorrow there


@dataclass(frozen=True)
class ZoneTime:
    """The instant a phrase means in one device zone.

    ``local`` is the wall time there (aware, in ``zone``), ``instant`` the same moment in UTC. ``notes`` has one
    sentence per flag, saying what was asked and what was taken.
    """

    zone: str
    local: datetime
    instant: datetime
    flags: frozenset[LocalFlag] = frozenset()
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("local", "instant"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"ZoneTime.{name} must be an aware datetime")
        if self.local.astimezone(UTC) != self.instant.astimezone(UTC):  # (PEP 495: never == in a fold)
            raise ValueError("ZoneTime.local and ZoneTime.instant must be the same moment")
        object.__setattr__(self, "instant", self.instant.astimezone(UTC))
        object.__setattr__(self, "flags", frozenset(LocalFlag(f) for f in self.flags))

    @property
    def flagged(self) -> bool:
        """Does this zone's instant need a ⚠ (a DST move or the next day)?"""
        return bool(self.flags)


@dataclass(frozen=True)
class LocalWhen:
    """A device-local phrase read in each device zone: one :class:`ZoneTime` per distinct zone, earliest first
    (ties by zone name). ``text`` is the phrase as read, without the device-local marker."""

    text: str
    times: tuple[ZoneTime, ...]
    _by_zone: Mapping[str, ZoneTime] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.times:
            raise ValueError("LocalWhen needs at least one zone")
        ordered = tuple(sorted(self.times, key=lambda t: (t.instant, t.zone)))
        by_zone = {t.zone: t for t in ordered}
        if len(by_zone) != len(ordered):
            raise ValueError("LocalWhen has one time per zone")
        object.__setattr__(self, "times", ordered)
        object.__setattr__(self, "_by_zone", by_zone)

    @property
    def zones(self) -> tuple[str, ...]:
        """The zones, earliest instant first."""
        return tuple(t.zone for t in self.times)

    @property
    def earliest(self) -> datetime:
        """The first of the instants (UTC): the request's ``scheduled_time``."""
        return self.times[0].instant

    @property
    def latest(self) -> datetime:
        return self.times[-1].instant

    @property
    def flagged(self) -> tuple[ZoneTime, ...]:
        """The zones whose instant carries a flag, earliest first."""
        return tuple(t for t in self.times if t.flags)

    def for_zone(self, zone: str) -> ZoneTime:
        """The time of one zone; ``KeyError`` for a zone that was not read."""
        try:
            return self._by_zone[zone]
        except KeyError:
            raise KeyError(f"{zone!r} is not one of the zones read ({', '.join(self.zones)})") from None

    def instant(self, zone: str) -> datetime:
        """The UTC instant of one zone; ``KeyError`` for a zone that was not read."""
        return self.for_zone(zone).instant

    def instants(self) -> dict[str, datetime]:
        """Zone → UTC instant, earliest first."""
        return {t.zone: t.instant for t in self.times}
