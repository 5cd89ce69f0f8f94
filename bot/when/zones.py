"""Time zones: IANA names (any case), the names people type (``EST``, ``ET``, ``UTC+3``), the numeric date order a
zone or a Slack locale implies, and what the wall clock of a zone shows across DST changes.

The DST rules of the whole package rest on three functions here: :func:`wall_readings` (the instants at which a
zone's clock shows a wall time: one, two in a repeated hour, none in a skipped one), :func:`wall_reached` (the
first instant the clock shows that time or later) and :func:`still_ahead` (instants are compared, not wall dates).
For a device's zone, :func:`device_instant` never refuses a wall time and writes down what it moved in
:class:`LocalNotes`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, available_timezones

from bot.when.errors import WhenError


def resolve_zone(name: str) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name; ``ValueError`` with a clear message for a bad one (config error)."""
    zone = zoneinfo_or_none(name) if isinstance(name, str) else None
    if zone is None:
        raise ValueError(
            f"Unknown IANA time zone {name!r}; expected a name such as 'America/Costa_Rica', 'Europe/Madrid' or 'UTC'."
        )
    return zone


@functools.lru_cache(maxsize=1024)
def zoneinfo_or_none(name: str) -> ZoneInfo | None:
    """The zone of an exact IANA name, or ``None`` (never an exception: names come from people and config)."""
    if not name or len(name) > 64 or not re.fullmatch(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*", name):
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return None


@functools.cache
def iana_lower_map() -> dict[str, str]:
    """``america/costa_rica`` → ``America/Costa_Rica`` (built once; ~60 ms, so ``warm_up`` builds it)."""
    return {name.lower(): name for name in available_timezones()}


def lookup_iana(lower_name: str) -> ZoneInfo | None:
    """Case-insensitive IANA lookup: try the usual capitalisation first, then the full list."""
    guess = "/".join("_".join(w[:1].upper() + w[1:] for w in part.split("_")) for part in lower_name.split("/"))
    zone = zoneinfo_or_none(guess)
    if zone is not None:
        return zone
    canonical = iana_lower_map().get(lower_name)
    return zoneinfo_or_none(canonical) if canonical else None


_US_ZONES: Final[frozenset[str]] = frozenset(
    {
        "America/New_York", "America/Detroit", "America/Chicago", "America/Menominee", "America/Denver",
        "America/Boise", "America/Phoenix", "America/Los_Angeles", "America/Anchorage", "America/Juneau",
        "America/Sitka", "America/Metlakatla", "America/Yakutat", "America/Nome", "America/Adak",
        "Pacific/Honolulu", "America/Indianapolis", "America/Louisville", "America/Fort_Wayne",
        "America/Knox_IN", "America/Shiprock", "Navajo", "EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT",
    }
)  # fmt: skip


def default_date_order(tz: str) -> str:
    """``MDY`` for US zones, ``DMY`` everywhere else (used when the caller passes no ``date_order``)."""
    if tz in _US_ZONES or tz.startswith(("US/", "America/Indiana/", "America/Kentucky/", "America/North_Dakota/")):
        return "MDY"
    return "DMY"


def date_order_for_locale(locale: str | None) -> str | None:
    """Numeric date order for a Slack locale (``en-US`` → ``MDY``, ``ja-JP`` → ``YMD``, ``es-ES`` → ``DMY``).

    ``None`` for an unknown/empty locale, so ``parse_when`` falls back to :func:`default_date_order`.
    """
    if not locale:
        return None
    norm = locale.replace("_", "-").lower()
    if norm in {"en-us", "es-us", "en-ph", "fil-ph"}:
        return "MDY"
    if norm.split("-")[0] in {"ja", "zh", "ko", "hu", "lt", "mn"}:
        return "YMD"
    if re.fullmatch(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*", norm):
        return "DMY"
    return None


def _fixed(hours: float, name: str) -> timezone:
    return timezone(timedelta(minutes=round(hours * 60)), name)


# Fixed-offset abbreviations. They mean the offset they name all year ("EST" in July is still UTC-5).
ABBREVIATIONS: Final[dict[str, timezone]] = {
    "est": _fixed(-5, "EST"), "edt": _fixed(-4, "EDT"), "cst": _fixed(-6, "CST"), "cdt": _fixed(-5, "CDT"),
    "mst": _fixed(-7, "MST"), "mdt": _fixed(-6, "MDT"), "pst": _fixed(-8, "PST"), "pdt": _fixed(-7, "PDT"),
    "akst": _fixed(-9, "AKST"), "akdt": _fixed(-8, "AKDT"), "hst": _fixed(-10, "HST"),
    "wet": _fixed(0, "WET"), "west": _fixed(1, "WEST"), "bst": _fixed(1, "BST"),
    "cet": _fixed(1, "CET"), "cest": _fixed(2, "CEST"), "eet": _fixed(2, "EET"), "eest": _fixed(3, "EEST"),
    "msk": _fixed(3, "MSK"), "ist": _fixed(5.5, "IST"), "sgt": _fixed(8, "SGT"), "hkt": _fixed(8, "HKT"),
    "awst": _fixed(8, "AWST"), "jst": _fixed(9, "JST"), "kst": _fixed(9, "KST"), "acst": _fixed(9.5, "ACST"),
    "acdt": _fixed(10.5, "ACDT"), "aest": _fixed(10, "AEST"), "aedt": _fixed(11, "AEDT"),
    "nzst": _fixed(12, "NZST"), "nzdt": _fixed(13, "NZDT"),
    "brt": _fixed(-3, "BRT"), "art": _fixed(-3, "ART"),
    "clt": _fixed(-4, "CLT"), "clst": _fixed(-3, "CLST"), "cot": _fixed(-5, "COT"), "pet": _fixed(-5, "PET"),
    "vet": _fixed(-4, "VET"),
}  # fmt: skip

# Generic names follow the region's DST, so they map to an IANA zone.
GENERIC_ZONES: Final[dict[str, str]] = {
    "et": "America/New_York", "eastern": "America/New_York",
    "ct": "America/Chicago", "central": "America/Chicago",
    "mt": "America/Denver", "mountain": "America/Denver",
    "pt": "America/Los_Angeles", "pacific": "America/Los_Angeles",
}  # fmt: skip


def offset_zone(sign: str, hh: str, mm: str | None, text: str) -> timezone:
    """The fixed zone of a typed offset (``+02:00``, ``UTC-5``), named ``UTC+02:00``; refused beyond ±14 h."""
    hours, minutes = int(hh), int(mm or 0)
    if hours > 14 or minutes > 59 or (hours == 14 and minutes):
        raise WhenError(
            f"“{text}” is not a valid UTC offset; offsets go from UTC-12:00 to UTC+14:00, e.g. “14:00 UTC+3”.",
            reason="unknown_zone",
        )
    delta = timedelta(hours=hours, minutes=minutes) * (-1 if sign == "-" else 1)
    total = int(delta.total_seconds() // 60)
    name = "UTC" if total == 0 else f"UTC{sign}{hours:02d}:{minutes:02d}"
    return timezone(delta, name)


def wall_readings(wall: datetime, zone: tzinfo) -> tuple[datetime, ...]:
    """The UTC instants at which the clock in ``zone`` shows ``wall``, earliest first: usually one; two in an
    hour the clocks repeat (DST fall-back); none in an hour they skip (DST spring-forward)."""
    if not isinstance(zone, ZoneInfo):
        return (wall.replace(tzinfo=zone).astimezone(UTC),)
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return (first.astimezone(UTC),)
    u1, u2 = first.astimezone(UTC), second.astimezone(UTC)
    if u1.astimezone(zone).replace(tzinfo=None) != wall:
        return ()
    return (min(u1, u2), max(u1, u2))


def wall_reached(wall: datetime, zone: tzinfo) -> datetime:
    """The first instant at which the clock in ``zone`` shows ``wall`` or later: its only reading, the first
    pass of a repeated time, or, for a time the clocks skip, the instant they jump over it."""
    readings = wall_readings(wall, zone)
    if readings:
        return readings[0]
    # skipped: the jump lies between the reading with the offset after it and the one with the offset before
    lo, hi = sorted(wall.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1))
    while hi - lo > timedelta(seconds=1):  # the clock shows less than wall at lo, more at hi
        mid = lo + timedelta(seconds=(hi - lo).total_seconds() // 2)
        if mid.astimezone(zone).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return hi


def still_ahead(wall: datetime, zone: tzinfo, now: datetime) -> bool:
    """Will the clock in ``zone`` show ``wall`` after ``now``? Instants are compared, not wall dates: a
    repeated time is ahead until its second pass, a skipped one until the clocks jump over it."""
    readings = wall_readings(wall, zone)
    return (readings[-1] if readings else wall_reached(wall, zone)) > now


@dataclass
class LocalNotes:
    """What reading a phrase in a device's zone (:func:`bot.when.parse_when_local`) had to adjust, so that no
    instant is silent: a wall time the clocks skip (``gap_from``, moved to the first valid minute after the jump),
    one they repeat (``repeated``, its first pass taken), a time of day already past today (``next_day``)."""

    gap_from: datetime | None = None  # the naive wall time asked for, when the clocks skip it
    repeated: bool = False
    next_day: bool = False

    def clear_dst(self) -> None:
        self.gap_from, self.repeated = None, False


def device_instant(wall: datetime, zone: tzinfo, notes: LocalNotes | None = None) -> datetime:
    """Wall time in a device's ``zone`` → aware UTC, never refused: a time the clocks skip is the first valid
    minute after the jump, a time they repeat is its first pass; either is written down in ``notes``."""
    readings = wall_readings(wall, zone)
    if len(readings) == 2 and notes is not None:
        notes.repeated = True
    if readings:
        return readings[0]
    reached = wall_reached(wall, zone)
    if reached.second or reached.microsecond:  # pragma: no cover - zone transitions fall on whole minutes
        reached = reached.replace(second=0, microsecond=0) + timedelta(minutes=1)
    if notes is not None:
        notes.gap_from = wall
    return reached
