"""Turn the time a person types into Slack into an aware UTC instant, and reason about maintenance windows.

Everything here is pure: the caller passes the person's IANA zone (``tz``, from their Slack profile) and the
current instant (``now``), so results are deterministic and testable. ``parse_when`` is the only way the bot
turns text into a ``scheduled_time``.

Semantics of ``parse_when``
===========================
* **Zone.** The text is read in the person's zone unless it names one: ``UTC``/``GMT``/``Z``, an offset
  (``UTC+3``, ``UTC-05:30``, ``14:00 +02:00``), an IANA name (``America/Costa_Rica``), a generic US name
  (``ET``, ``PT``, ``Eastern``… → the IANA zone, DST-aware) or a fixed abbreviation (``EST`` is always UTC-5,
  ``EDT`` UTC-4, ``CST`` US Central UTC-6, ``CET`` UTC+1, ``CEST`` UTC+2, ``IST`` India UTC+5:30, …). When a
  zone is named, the whole phrase is read in it: ``tomorrow 14:30 UTC`` is 14:30 on tomorrow's *UTC* date.
* **Future-preferring.** A time of day alone is its next occurrence (``at 2am`` said at 10:00 is tomorrow
  02:00). A bare weekday is its next occurrence, today included if the time is still ahead (``friday 10pm`` on
  Friday morning is tonight); ``this <weekday>``/``este <día>`` is the one on or after today (no rolling: if
  it has passed, that is an error); ``next <weekday>``/``el próximo <día>``/``<día> que viene`` is the first
  one strictly after today (on Friday, ``next saturday`` is tomorrow: the preview echoes the date). A day and
  month without a year is this year's date if that is today or later, otherwise next year's; a date that is
  today with a time already past is rejected, not moved a year. ``the 20th`` is this month's 20th, or next
  month's if that has passed.
* **Clock times.** ``H:MM``/``HH:MM`` (and ``14h``, ``14h30``, ``0200 hrs``, ``at 0200``, ``0200Z``) are the
  24-hour clock: ``2:30`` is 02:30. ``2am``, ``2 pm``, ``2:30 p.m.``, ``noon``/``mediodía`` and
  ``midnight``/``medianoche`` are understood, and so are the parts of the day ``in the morning/afternoon/
  evening``, ``at night``, ``tonight``, ``de la mañana/tarde/noche/madrugada``, which give an hour its am/pm
  (``tomorrow afternoon at 3`` is 15:00). An hour with neither minutes nor am/pm (``at 2``, ``tomorrow at 5``,
  ``a las 3``, ``2 o'clock``) is rejected: both readings are plausible for 1–12, while 0 and 13–23 are not
  ambiguous. ``12`` alone could be noon or midnight. ``midnight``/``12am`` alone is the next 00:00; with a
  named day (``tomorrow at midnight``) it could be the start or the end of that day and is rejected (type
  ``00:00`` with the date). ``14h``/``2h30`` alone could be a clock time or a duration and are rejected;
  after a day (``tomorrow 14h``) they are clock times.
* **Durations.** Hours, minutes and seconds are elapsed time (``in 2 hours`` is exactly 7,200 s later, across
  a DST change too). Days, weeks, months and years keep the wall-clock time (``in 2 days`` at 10:20 is 10:20
  two days later even across a DST change; months clamp to the month's last day). A duration keeps ``now``'s
  seconds. ``in 2 days at 3pm`` sets the time on the shifted day.
* **Rejected** with a ``WhenError`` that says what was understood and what to type: empty text; no time in it
  or gibberish; a time in the past or equal to ``now``; a date without a time (``tomorrow``, ``Monday``,
  ``March 10``, or a part of day alone such as ``tomorrow morning``); a bare number (``5``, ``1741274400``,
  ``2026``); a month alone; an ambiguous hour (``at 2``); invalid dates and times (``Feb 30``, ``25:00``,
  ``13pm``); anything after ``now + horizon`` (default 365 days); a local time that does not exist (DST gap)
  while the jump is still ahead, or happens twice (DST overlap) with both passes still ahead, unless the
  phrase names a fixed zone (``01:30 EDT``) that removes the doubt; ``next window`` when no maintenance
  windows are configured; phrases that mix two times or two different days; ``next week`` (not a day: name
  the day); anything longer than 200 characters.
* **DST nights.** "Still ahead" compares instants, not wall dates: a repeated time is ahead until its second
  pass, a skipped one until the clocks jump over it. Of two readings, the only one still ahead is taken
  (``at 1:30am`` said at 01:15 EST in New York on the fall-back night is 01:30 EST, 15 min later); with both
  ahead the phrase is refused, naming both; with both passed a bare time is the next day's and ``today``
  is past. A skipped time is refused with the alternatives still ahead, and is past once the jump is.
* **Languages.** English and Spanish out of the box (``languages`` restricts the vocabulary and dateparser).
  ISO 8601 with an offset (``2026-03-07T02:00:00-06:00``, ``…Z``) is that exact instant; a naive ISO-like
  string (``2026-03-07 02:00``) is wall time in the person's zone. Numeric dates (``10/03``) follow
  ``date_order`` (``DMY``/``MDY``/``YMD``); when it is ``None`` it is ``MDY`` for US zones and ``DMY``
  elsewhere — callers should pass ``date_order_for_locale(slack_locale)`` when they know the person's locale.
  A numeric date that is invalid in that order is rejected rather than re-read in another order.
* **Maintenance windows.** ``next maintenance window``/``next window``/``la próxima ventana (de
  mantenimiento)`` resolve to the next window start strictly after ``now`` (needs ``windows``). On DST nights
  a window's start and end are the first instant the clock shows them or later (a skipped time: the jump; a
  repeated one: its first pass); a window the clocks skip entirely does not take place that night.

How: a small deterministic grammar (regular expressions over normalised text, zoneinfo arithmetic) reads the
common forms directly and fast. What is left over must be filler words (``at``, ``on``, ``a las``…). Only when
the leftover contains a word the grammar has never heard of (another configured language, another phrasing)
is dateparser's ``DateDataParser`` asked (restricted to ``languages``, ``RELATIVE_BASE`` = naive local wall
time, ``TIMEZONE='UTC'`` so it does pure wall-clock arithmetic); its answer must agree with whatever the grammar
did read (time, day, weekday, date), is re-localised with zoneinfo (DST gap/overlap detection; elapsed vs
wall-clock decided by the phrase's units) and is checked like every other result. Leftovers made only of known
words and numbers (``and``, ``tomorrow in``, ``5 2:30``) are rejected: dateparser would happily read them.

Speed: importing this module does not import dateparser (``bot.settings`` imports it to validate
``MAINTENANCE_WINDOWS``). ``warm_up()`` imports dateparser and loads its language data; the bot calls it at
start so no person's first command pays for it.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum
from types import SimpleNamespace
from typing import Final, TypeVar
from zoneinfo import ZoneInfo, available_timezones

__all__ = [
    "DEFAULT_HORIZON",
    "DEFAULT_LANGUAGES",
    "WINDOWS_EXAMPLE",
    "MaintenanceWindow",
    "WhenError",
    "WindowCheck",
    "WindowOccurrence",
    "WindowPolicy",
    "check_window",
    "current_or_next_window",
    "date_order_for_locale",
    "default_date_order",
    "format_local",
    "format_preview",
    "format_relative",
    "format_windows",
    "in_window",
    "next_window_start",
    "parse_when",
    "parse_windows",
    "resolve_zone",
    "warm_up",
]

log = logging.getLogger(__name__)
_V = TypeVar("_V")

DEFAULT_LANGUAGES: Final[tuple[str, ...]] = ("en", "es")
DEFAULT_HORIZON: Final[timedelta] = timedelta(days=365)
MAX_TEXT_LENGTH: Final[int] = 200
EXAMPLES: Final[str] = "“tomorrow 2am”, “sat 02:00”, “in 3 hours” or “2026-03-07 02:00”"
WINDOWS_EXAMPLE: Final[str] = "Sat,Sun 02:00-06:00 America/Costa_Rica; Wed 01:00-03:00 UTC"

_WEEKDAY_ABBR: Final[tuple[str, ...]] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKDAY_NAME: Final[tuple[str, ...]] = (
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
)  # fmt: skip
_MONTH_ABBR: Final[tuple[str, ...]] = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip
_MONTH_NAME: Final[tuple[str, ...]] = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------------------


class WhenError(ValueError):
    """The text could not be turned into a safe, future instant.

    ``str(error)`` is the sentence(s) to show the person, always with an example of what to type.
    ``understood`` is what was read, if anything (e.g. ``"Sat 7 Mar 02:00 CST"``).
    ``reason`` is a short stable code for logs, metrics and tests: ``empty``, ``too_long``,
    ``not_understood``, ``no_time``, ``vague``, ``bare_number``, ``month_only``, ``ambiguous_hour``,
    ``ambiguous_midnight``,
    ``invalid_date``, ``invalid_time``, ``past``, ``now``, ``beyond_horizon``, ``dst_gap``, ``dst_overlap``,
    ``no_windows``, ``unknown_zone``, ``conflict``, ``missing_unit``.
    """

    def __init__(self, message: str, *, understood: str | None = None, reason: str = "not_understood") -> None:
        super().__init__(message)
        self.message = message
        self.understood = understood
        self.reason = reason


# ----------------------------------------------------------------------------------------------------------
# Zones
# ----------------------------------------------------------------------------------------------------------


def resolve_zone(name: str) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name; ``ValueError`` with a clear message for a bad one (config error)."""
    zone = _zoneinfo_or_none(name) if isinstance(name, str) else None
    if zone is None:
        raise ValueError(
            f"Unknown IANA time zone {name!r}; expected a name such as 'America/Costa_Rica', 'Europe/Madrid' or 'UTC'."
        )
    return zone


@functools.lru_cache(maxsize=1024)
def _zoneinfo_or_none(name: str) -> ZoneInfo | None:
    if not name or len(name) > 64 or not re.fullmatch(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*", name):
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return None


@functools.cache
def _iana_lower_map() -> dict[str, str]:
    """``america/costa_rica`` → ``America/Costa_Rica`` (built once; ~60 ms, so ``warm_up`` builds it)."""
    return {name.lower(): name for name in available_timezones()}


def _lookup_iana(lower_name: str) -> ZoneInfo | None:
    """Case-insensitive IANA lookup: try the usual capitalisation first, then the full list."""
    guess = "/".join("_".join(w[:1].upper() + w[1:] for w in part.split("_")) for part in lower_name.split("/"))
    zone = _zoneinfo_or_none(guess)
    if zone is not None:
        return zone
    canonical = _iana_lower_map().get(lower_name)
    return _zoneinfo_or_none(canonical) if canonical else None


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
_ABBREVIATIONS: Final[dict[str, timezone]] = {
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
_GENERIC_ZONES: Final[dict[str, str]] = {
    "et": "America/New_York", "eastern": "America/New_York",
    "ct": "America/Chicago", "central": "America/Chicago",
    "mt": "America/Denver", "mountain": "America/Denver",
    "pt": "America/Los_Angeles", "pacific": "America/Los_Angeles",
}  # fmt: skip

_RX_ZONE_UTC_OFFSET = re.compile(r"\b(?:utc|gmt)\s*([+-])\s*([0-9]{1,2})(?::?([0-9]{2}))?\b", re.ASCII)
_RX_ZONE_TIME_OFFSET = re.compile(
    r"(?P<t>\b[0-9]{1,2}(?::[0-9]{2}(?::[0-9]{2})?)?(?:\s*(?:am|pm))?)\s*(?P<s>[+-])(?P<h>[0-9]{2}):?(?P<m>[0-9]{2})\b",
    re.ASCII,
)
_RX_ZONE_MILITARY = re.compile(r"\b([01][0-9]|2[0-3])([0-5][0-9])z\b", re.ASCII)
_RX_ZONE_Z = re.compile(r"(?<=[0-9])z\b|\bz\b", re.ASCII)
_RX_ZONE_UTC = re.compile(r"\b(?:utc|gmt)\b", re.ASCII)
_RX_ZONE_ABBR = re.compile(r"\b(" + "|".join(sorted(_ABBREVIATIONS, key=len, reverse=True)) + r")\b", re.ASCII)
_RX_ZONE_GENERIC = re.compile(
    r"\b(eastern|central|mountain|pacific)(?:\s+(?:standard\s+|daylight\s+)?time)?\b|\b(et|ct|mt|pt)\b",
    re.ASCII,
)
_RX_ZONE_IANA = re.compile(r"(?<![\w/])([a-z][a-z_\-]*(?:/[a-z0-9_+\-]+){1,2})(?![\w/])", re.ASCII)


@dataclass
class _ZoneFound:
    zone: tzinfo
    label: str
    text: str


# What a recogniser leaves where it removed text: keeps the words on either side from joining up
# ("2:30 tomorrow pm" must not become "2:30 pm").
_GAP: Final[str] = " | "


def _offset_zone(sign: str, hh: str, mm: str | None, text: str) -> timezone:
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


def _pop_zone(s: str) -> tuple[str, _ZoneFound | None]:
    """Remove a named zone from normalised text; at most one zone may be named."""
    found: list[_ZoneFound] = []

    def take(zone: tzinfo, label: str, text: str) -> None:
        found.append(_ZoneFound(zone, label, text.strip()))

    def sub_utc_offset(m: re.Match[str]) -> str:
        take(_offset_zone(m[1], m[2], m[3], m[0]), "", m[0])
        return _GAP

    def sub_time_offset(m: re.Match[str]) -> str:
        take(_offset_zone(m["s"], m["h"], m["m"], m[0][len(m["t"]) :]), "", m[0][len(m["t"]) :])
        return m["t"] + _GAP

    def sub_military(m: re.Match[str]) -> str:
        take(UTC, "UTC", "Z")
        return f" {m[1]}:{m[2]} "

    def sub_utc(m: re.Match[str]) -> str:
        take(UTC, "UTC", m[0])
        return _GAP

    def sub_abbr(m: re.Match[str]) -> str:
        zone = _ABBREVIATIONS[m[1]]
        take(zone, zone.tzname(None) or m[1].upper(), m[0])
        return _GAP

    def sub_generic(m: re.Match[str]) -> str:
        key = m[1] or m[2]
        take(ZoneInfo(_GENERIC_ZONES[key]), _GENERIC_ZONES[key], m[0])
        return _GAP

    def sub_iana(m: re.Match[str]) -> str:
        zone = _lookup_iana(m[1])
        if zone is None:
            raise WhenError(
                f"I don't know the time zone “{m[1]}”. Use UTC, an offset such as “UTC+3”, or an IANA name "
                "such as “America/Costa_Rica”, e.g. “tomorrow 02:00 America/Costa_Rica”.",
                reason="unknown_zone",
            )
        take(zone, zone.key, m[0])
        return _GAP

    s = _RX_ZONE_IANA.sub(sub_iana, s)
    s = _RX_ZONE_UTC_OFFSET.sub(sub_utc_offset, s)
    s = _RX_ZONE_TIME_OFFSET.sub(sub_time_offset, s)
    s = _RX_ZONE_MILITARY.sub(sub_military, s)
    s = _RX_ZONE_Z.sub(sub_utc, s)
    s = _RX_ZONE_UTC.sub(sub_utc, s)
    s = _RX_ZONE_ABBR.sub(sub_abbr, s)
    s = _RX_ZONE_GENERIC.sub(sub_generic, s)
    if len(found) > 1:
        names = " and ".join(f"“{f.text}”" for f in found)
        raise WhenError(
            f"I found two time zones, {names}. Name at most one, e.g. “tomorrow 14:00 UTC”.",
            reason="conflict",
        )
    return s, (found[0] if found else None)


# ----------------------------------------------------------------------------------------------------------
# Normalisation
# ----------------------------------------------------------------------------------------------------------

_QUOTES = str.maketrans({c: " " for c in "\"'`´‘’‚‛“”„‟«»‹›"})
_RX_AMPM_DOTS = re.compile(r"\b([ap])\s?\.\s?m\b\.?", re.ASCII)
_RX_SPACES = re.compile(r"\s+")
_RX_COMMA = re.compile(r",(?![0-9])|(?<![0-9]),")


def _strip_accents(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def _normalise(text: str) -> str:
    """Lower case, no accents, no quotes, ``a.m.`` → ``am``, ``@`` → ``at``, single spaces."""
    s = unicodedata.normalize("NFKC", text)
    s = s.replace("o'clock", "oclock").replace("o’clock", "oclock")
    s = _strip_accents(s.translate(_QUOTES)).casefold()
    s = _RX_AMPM_DOTS.sub(r"\1m ", s)
    s = s.replace("@", " at ")
    s = _RX_COMMA.sub(" ", s)
    s = _RX_SPACES.sub(" ", s).strip()
    return s.strip(" .!?;")


# ----------------------------------------------------------------------------------------------------------
# Vocabulary (accent-free, lower case) and the grammar built from the active languages
# ----------------------------------------------------------------------------------------------------------

_UNITS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "s": "seconds", "sec": "seconds", "secs": "seconds", "second": "seconds", "seconds": "seconds",
        "m": "minutes", "min": "minutes", "mins": "minutes", "minute": "minutes", "minutes": "minutes",
        "h": "hours", "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours",
        "d": "days", "day": "days", "days": "days",
        "w": "weeks", "wk": "weeks", "wks": "weeks", "week": "weeks", "weeks": "weeks",
        "mo": "months", "month": "months", "months": "months",
        "y": "years", "yr": "years", "yrs": "years", "year": "years", "years": "years",
    },
    "es": {
        "segundo": "seconds", "segundos": "seconds", "seg": "seconds",
        "minuto": "minutes", "minutos": "minutes", "min": "minutes",
        "hora": "hours", "horas": "hours", "h": "hours", "hs": "hours",
        "dia": "days", "dias": "days",
        "semana": "weeks", "semanas": "weeks",
        "mes": "months", "meses": "months",
        "ano": "years", "anos": "years",
    },
}  # fmt: skip

_NUMBER_WORDS: Final[dict[str, dict[str, float]]] = {
    "en": {
        "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
        "eight": 8,
        "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30,
        "forty": 40, "forty five": 45, "forty-five": 45, "ninety": 90, "half an": 0.5, "half a": 0.5,
    },
    "es": {
        "un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
        "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "quince": 15, "veinte": 20, "treinta": 30,
        "cuarenta": 40, "cuarenta y cinco": 45, "noventa": 90, "media": 0.5, "medio": 0.5,
    },
}  # fmt: skip

_DAY_WORDS: Final[dict[str, dict[str, int]]] = {
    "en": {
        "today": 0, "tomorrow": 1, "tmrw": 1, "tmr": 1, "tomorow": 1, "tommorow": 1, "tommorrow": 1,
        "the day after tomorrow": 2, "day after tomorrow": 2, "overmorrow": 2, "yesterday": -1,
        "the day before yesterday": -2, "day before yesterday": -2,
    },
    "es": {"hoy": 0, "manana": 1, "pasado manana": 2, "ayer": -1, "anteayer": -2, "antier": -2},
}  # fmt: skip

# (day offset or None, part of day)
_DAY_POD_WORDS: Final[dict[str, dict[str, tuple[int | None, str]]]] = {
    "en": {
        "tonight": (0, "night"), "this morning": (0, "morning"), "this afternoon": (0, "afternoon"),
        "this evening": (0, "evening"), "this early morning": (None, "early"),
    },
    "es": {
        "esta noche": (0, "night"), "esta manana": (0, "morning"), "esta tarde": (0, "afternoon"),
        "esta madrugada": (None, "early"),
    },
}  # fmt: skip

_POD_WORDS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "in the morning": "morning", "morning": "morning", "in the afternoon": "afternoon",
        "afternoon": "afternoon", "in the evening": "evening", "evening": "evening", "at night": "night",
        "night": "night", "early morning": "early", "in the early morning": "early",
    },
    "es": {
        "de la manana": "morning", "por la manana": "morning", "en la manana": "morning",
        "de la tarde": "afternoon", "por la tarde": "afternoon", "en la tarde": "afternoon",
        "tarde": "afternoon",
        "de la noche": "night", "por la noche": "night", "en la noche": "night", "noche": "night",
        "de la madrugada": "early", "por la madrugada": "early", "en la madrugada": "early",
        "madrugada": "early",
    },
}  # fmt: skip

_NOON_WORDS: Final[dict[str, tuple[str, ...]]] = {"en": ("noon", "midday"), "es": ("mediodia",)}
_MIDNIGHT_WORDS: Final[dict[str, tuple[str, ...]]] = {"en": ("midnight",), "es": ("medianoche",)}
_NOW_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "en": ("now", "right now", "asap", "immediately", "right away"),
    "es": ("ahora", "ahora mismo", "ya", "inmediatamente", "de inmediato"),
}

_WEEKDAYS: Final[dict[str, dict[str, int]]] = {
    "en": {
        "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2, "thursday": 3,
        "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6,
        "sun": 6,
    },
    "es": {
        "lunes": 0, "lun": 0, "martes": 1, "miercoles": 2, "mie": 2, "jueves": 3, "jue": 3, "viernes": 4,
        "vie": 4, "sabado": 5, "sab": 5, "domingo": 6, "dom": 6,
    },
}  # fmt: skip

_WEEKDAY_PRE: Final[dict[str, dict[str, str]]] = {
    "en": {"next": "next", "this": "this", "this coming": "coming", "coming": "coming", "on": "bare"},
    "es": {
        "el proximo": "next", "proximo": "next", "el siguiente": "next", "siguiente": "next", "este": "this",
        "el": "bare",
    },
}  # fmt: skip
_WEEKDAY_POST: Final[dict[str, dict[str, str]]] = {"en": {}, "es": {"que viene": "next", "proximo": "next"}}

_MONTHS: Final[dict[str, dict[str, int]]] = {
    "en": {
        "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
        "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
        "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
    },
    "es": {
        "enero": 1, "ene": 1, "febrero": 2, "feb": 2, "marzo": 3, "mar": 3, "abril": 4, "abr": 4, "mayo": 5,
        "may": 5, "junio": 6, "jun": 6, "julio": 7, "jul": 7, "agosto": 8, "ago": 8, "septiembre": 9,
        "setiembre": 9, "sep": 9, "sept": 9, "octubre": 10, "oct": 10, "noviembre": 11, "nov": 11,
        "diciembre": 12, "dic": 12,
    },
}  # fmt: skip

_DURATION_PREFIX: Final[dict[str, tuple[str, ...]]] = {"en": ("in",), "es": ("en", "dentro de")}
_DURATION_SUFFIX: Final[dict[str, tuple[str, ...]]] = {
    "en": ("from now", "later", "hence"),
    "es": ("desde ahora", "a partir de ahora", "mas tarde"),
}
_AGO_SUFFIX: Final[dict[str, tuple[str, ...]]] = {"en": ("ago",), "es": ()}
_AGO_PREFIX: Final[dict[str, tuple[str, ...]]] = {"en": (), "es": ("hace",)}
_HALF: Final[dict[str, tuple[str, ...]]] = {"en": ("and a half",), "es": ("y media", "y medio")}
_AND: Final[dict[str, tuple[str, ...]]] = {"en": ("and",), "es": ("y",)}
_AT: Final[dict[str, tuple[str, ...]]] = {
    "en": ("at", "at around", "at about", "around", "about"),
    "es": ("a las", "a la", "sobre las", "hacia las", "a eso de las", "para las"),
}
_OCLOCK: Final[dict[str, tuple[str, ...]]] = {"en": ("oclock",), "es": ("en punto", "horas", "hrs", "hs")}
_FILLERS: Final[dict[str, frozenset[str]]] = {
    "en": frozenset({"at", "on", "the", "of", "around", "about", "local", "time", "my", "hrs", "hours", "h"}),
    "es": frozenset({"a", "las", "la", "el", "de", "del", "al", "para", "sobre", "hacia", "eso", "hora",
                     "local", "mi", "hrs", "hs", "horas", "h"}),
}  # fmt: skip
_NEXT_WINDOW: Final[dict[str, str]] = {
    "en": r"(?:(?:in|at|during|for)\s+)?(?:the\s+)?next\s+(?:maintenance\s+)?window"
    r"|(?:the\s+)?next\s+maintenance",
    "es": r"(?:(?:en|durante|para)\s+)?(?:la\s+)?(?:proxima|siguiente)\s+ventana(?:\s+de\s+mantenimiento)?",
}
_ORDINAL: Final[str] = r"(?:st|nd|rd|th|o|a|ro|do|to|er)?"


def _alt(phrases: Iterable[str]) -> str:
    """A regex alternation of literal phrases, longest first, spaces matching any whitespace."""
    uniq = sorted(set(phrases), key=lambda p: (-len(p), p))
    return "(?:" + "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in uniq) + ")"


def _key(s: str) -> str:
    return _RX_SPACES.sub(" ", s.strip())


@dataclass(frozen=True)
class _Grammar:
    langs: tuple[str, ...]
    units: dict[str, str]
    numbers: dict[str, float]
    day_words: dict[str, int]
    day_pod: dict[str, tuple[int | None, str]]
    pods: dict[str, str]
    weekdays: dict[str, int]
    wd_pre: dict[str, str]
    wd_post: dict[str, str]
    months: dict[str, int]
    fillers: frozenset[str]
    known_words: frozenset[str]
    next_window: re.Pattern[str] | None
    now_words: re.Pattern[str] | None
    dur_pair: re.Pattern[str]
    dur_prefix: re.Pattern[str] | None
    dur_suffix: re.Pattern[str] | None
    dur_ago_suffix: re.Pattern[str] | None
    dur_ago_prefix: re.Pattern[str] | None
    dur_bare: re.Pattern[str]
    rx_day_pod: re.Pattern[str] | None
    rx_day_long: re.Pattern[str] | None
    rx_day: re.Pattern[str] | None
    rx_pod: re.Pattern[str] | None
    rx_weekday: re.Pattern[str] | None
    rx_month_day: re.Pattern[str] | None
    rx_day_month: re.Pattern[str] | None
    rx_month_only: re.Pattern[str] | None
    rx_dom: re.Pattern[str] | None
    rx_noon: re.Pattern[str] | None
    rx_midnight: re.Pattern[str] | None
    rx_at_hour: re.Pattern[str]
    rx_at_dot: re.Pattern[str]
    rx_at_military: re.Pattern[str]
    rx_in_number: re.Pattern[str]


def _merge(table: dict[str, dict[str, _V]], langs: tuple[str, ...]) -> dict[str, _V]:
    out: dict[str, _V] = {}
    for lang in langs:
        out.update(table.get(lang, {}))
    return out


def _opt(pattern: str, flags: int = re.ASCII) -> re.Pattern[str] | None:
    return re.compile(pattern, flags) if pattern else None


@functools.lru_cache(maxsize=16)
def _grammar(langs: tuple[str, ...]) -> _Grammar:
    """Compile the grammar for the active languages (only ``en`` and ``es`` have a vocabulary here)."""
    known = tuple(lang for lang in langs if lang in ("en", "es"))

    def words(table: dict[str, tuple[str, ...]]) -> list[str]:
        return [w for lang in known for w in table.get(lang, ())]

    units: dict[str, str] = _merge(_UNITS, known)
    numbers: dict[str, float] = _merge(_NUMBER_WORDS, known)
    day_words: dict[str, int] = _merge(_DAY_WORDS, known)
    day_pod: dict[str, tuple[int | None, str]] = _merge(_DAY_POD_WORDS, known)
    pods: dict[str, str] = _merge(_POD_WORDS, known)
    weekdays: dict[str, int] = _merge(_WEEKDAYS, known)
    wd_pre: dict[str, str] = _merge(_WEEKDAY_PRE, known)
    wd_post: dict[str, str] = _merge(_WEEKDAY_POST, known)
    months: dict[str, int] = _merge(_MONTHS, known)
    long_days = [w for w in day_words if " " in w]
    phrases: list[str] = [
        *units, *numbers, *day_words, *day_pod, *pods, *weekdays, *wd_pre, *wd_post, *months,
        *(w for table in (_NOON_WORDS, _MIDNIGHT_WORDS, _NOW_WORDS, _DURATION_PREFIX, _DURATION_SUFFIX,
                          _AGO_SUFFIX, _AGO_PREFIX, _HALF, _AND, _AT, _OCLOCK) for w in words(table)),
        "am pm in at from now next this window maintenance ventana proxima siguiente mantenimiento durante",
    ]  # fmt: skip
    known_words = frozenset(w for p in phrases for w in p.replace("-", " ").split())
    fillers = frozenset().union(*(_FILLERS[lang] for lang in known)) if known else frozenset()

    # digits may touch their unit ("2h", "90min"); a number word may not ("mediodía" is not "medio día")
    digits = r"[0-9]+(?:[.,][0-9]+)?"
    word_amount = _alt(numbers) if numbers else "(?!)"
    unit_alt = _alt(units) if units else r"(?:s|m|h|d|w)"
    half = rf"(?:\s+{_alt(words(_HALF))}\b)?" if words(_HALF) else ""
    hm = r"[0-9]+h[0-9]{1,2}(?:m|min)?\b"
    pair = rf"(?:{hm}|(?:{digits}\s*|\b{word_amount}\s+){unit_alt}\b{half})"
    sep = r"(?:\s*,?\s*(?:" + "|".join([*map(re.escape, words(_AND))]) + r")?\s*)" if words(_AND) else r"\s*"
    body = rf"(?P<body>{pair}(?:{sep}{pair})*)"
    pair_rx = re.compile(
        rf"(?P<hm>(?P<hh>[0-9]+)h(?P<mm>[0-9]{{1,2}})(?:m|min)?\b)"
        rf"|(?:(?P<amt>{digits})\s*|\b(?P<wamt>{word_amount})\s+)(?P<unit>{unit_alt})\b"
        + (rf"(?P<half>{half})" if half else ""),
        re.ASCII,
    )

    def phrase_rx(table: dict[str, tuple[str, ...]], template: str) -> re.Pattern[str] | None:
        ws = words(table)
        return re.compile(template.replace("{alt}", _alt(ws)), re.ASCII) if ws else None

    at_alt = _alt([*words(_AT), "at"])
    oclock = _alt(words(_OCLOCK)) if words(_OCLOCK) else "(?!)"
    wd_alt = _alt(weekdays) if weekdays else None
    month_alt = _alt(months) if months else None
    next_window = "|".join(f"(?:{_NEXT_WINDOW[lang]})" for lang in known)

    return _Grammar(
        langs=known,
        units=units,
        numbers=numbers,
        day_words=day_words,
        day_pod=day_pod,
        pods=pods,
        weekdays=weekdays,
        wd_pre=wd_pre,
        wd_post=wd_post,
        months=months,
        fillers=fillers,
        known_words=known_words | fillers,
        next_window=_opt(rf"^(?:{next_window})$") if next_window else None,
        now_words=phrase_rx(_NOW_WORDS, r"^(?:right\s+)?{alt}$"),
        dur_pair=pair_rx,
        dur_prefix=phrase_rx(_DURATION_PREFIX, r"\b{alt}\s+" + body),
        dur_suffix=phrase_rx(_DURATION_SUFFIX, r"(?<![\w:])" + body + r"\s+{alt}\b"),
        dur_ago_suffix=phrase_rx(_AGO_SUFFIX, r"(?<![\w:])" + body + r"\s+{alt}\b"),
        dur_ago_prefix=phrase_rx(_AGO_PREFIX, r"\b{alt}\s+" + body),
        dur_bare=re.compile(rf"^{body}$", re.ASCII),
        rx_day_pod=_opt(rf"\b{_alt(day_pod)}\b" if day_pod else ""),
        rx_day_long=_opt(rf"\b{_alt(long_days)}\b" if long_days else ""),
        rx_day=_opt(rf"\b{_alt(day_words)}\b" if day_words else ""),
        rx_pod=_opt(rf"\b{_alt(pods)}\b" if pods else ""),
        rx_weekday=_opt(
            rf"\b(?:(?P<pre>{_alt(wd_pre)})\s+)?(?P<wd>{wd_alt})\.?(?![\w])"
            + (rf"(?:\s+(?P<post>{_alt(wd_post)})\b)?" if wd_post else "")
            if wd_alt
            else ""
        ),
        rx_month_day=_opt(
            rf"\b(?P<mon>{month_alt})\.?\s+(?P<day>[0-9]{{1,2}}){_ORDINAL}(?![0-9:.h])\b"
            rf"(?:\s+(?:de\s+|del\s+)?(?P<year>[0-9]{{4}})(?![0-9:]))?"
            if month_alt
            else ""
        ),
        rx_day_month=_opt(
            rf"(?<![0-9:.])\b(?P<day>[0-9]{{1,2}}){_ORDINAL}\s+(?:of\s+|de\s+)?(?P<mon>{month_alt})\b\.?"
            rf"(?:\s+(?:de\s+|del\s+|of\s+)?(?P<year>[0-9]{{4}})(?![0-9:]))?"
            if month_alt
            else ""
        ),
        rx_month_only=_opt(rf"\b(?P<mon>{month_alt})\b" if month_alt else ""),
        rx_dom=_opt(r"\b(?:on\s+)?the\s+(?P<day>[0-9]{1,2})(?:st|nd|rd|th)\b" if "en" in known else ""),
        rx_noon=phrase_rx(_NOON_WORDS, r"\b(?:12\s*)?{alt}\b"),
        rx_midnight=phrase_rx(_MIDNIGHT_WORDS, r"\b(?:12\s*)?{alt}\b"),
        rx_at_hour=re.compile(
            rf"(?:\b{at_alt}\s+(?P<h1>[0-9]{{1,2}})(?:\s*{oclock})?|(?<![0-9:./\-+])\b(?P<h2>[0-9]{{1,2}})\s*{oclock})"
            r"(?![0-9]|\s*[:./\-]\s*[0-9])\b",
            re.ASCII,
        ),
        rx_at_dot=re.compile(
            rf"\b{at_alt}\s+(?P<h1>[0-9]{{1,2}})\.(?P<m1>[0-9]{{2}})\b"
            r"|(?<![0-9.:/+])\b(?P<h2>[0-9]{1,2})\.(?P<m2>[0-9]{2})\s*(?P<ap>am|pm|h|hrs|hs)\b",
            re.ASCII,
        ),
        rx_at_military=re.compile(
            rf"\b{at_alt}\s+(?P<h1>[01][0-9]|2[0-3])(?P<m1>[0-5][0-9])\b(?!\s*[:./\-][0-9])"
            r"|\b(?P<h2>[01][0-9]|2[0-3])(?P<m2>[0-5][0-9])\s*(?:hrs|hs|h|hours|horas)\b",
            re.ASCII,
        ),
        rx_in_number=re.compile(
            r"^(?:"
            + "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in [*words(_DURATION_PREFIX), "in"])
            + r")\s+[0-9]+(?:[.,][0-9]+)?$",
            re.ASCII,
        ),
    )


# Language-neutral patterns.
_RX_ISO = re.compile(
    r"^(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?:[t ](?P<h>[0-9]{2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?:[.,](?P<f>[0-9]{1,9}))?)?)?"
    r"\s*(?P<z>z|[+-][0-9]{2}(?::?[0-9]{2})?)?$",
    re.ASCII,
)
_RX_YMD = re.compile(r"(?<![0-9:./\-+])(?P<y>[0-9]{4})([-/.])(?P<mo>[0-9]{1,2})\2(?P<d>[0-9]{1,2})"
                     r"(?:t(?=[0-9]))?"
                     r"(?![0-9]|[./\-][0-9])", re.ASCII)  # fmt: skip
_RX_NUMERIC_DATE = re.compile(
    r"(?<![0-9:./\-+])(?P<a>[0-9]{1,2})(?P<sep>[/.\-])(?P<b>[0-9]{1,2})(?:(?P=sep)(?P<c>[0-9]{4}|[0-9]{2}))?"
    r"(?![0-9]|[:./\-][0-9])",
    re.ASCII,
)
_RX_HHMM = re.compile(
    r"(?<![0-9:./\-+])(?P<h>[0-9]{1,2}):(?P<m>[0-9]{2})(?::(?P<s>[0-9]{2}))?(?:\s*(?P<ap>am|pm)\b)?"
    r"(?:\s*(?:hrs|hs|h|horas)\b)?(?![0-9:])",
    re.ASCII,
)
_AT_PREFIX: Final[str] = r"(?:(?P<at>\b(?:at|a\s+las|a\s+la)\s+))?"
_RX_H_MM = re.compile(_AT_PREFIX + r"(?<![0-9:./\-+])\b(?P<h>[0-9]{1,2})h(?P<m>[0-9]{2})\b", re.ASCII)
_RX_H_ONLY = re.compile(_AT_PREFIX + r"(?<![0-9:./\-+])\b(?P<h>[0-9]{1,2})h\b", re.ASCII)
_RX_AMPM = re.compile(r"(?<![0-9:./\-+])\b(?P<h>[0-9]{1,3})\s*(?P<ap>am|pm)\b", re.ASCII)
_RX_NUMBER = re.compile(r"[0-9]+", re.ASCII)


# ----------------------------------------------------------------------------------------------------------
# What was read
# ----------------------------------------------------------------------------------------------------------


@dataclass
class _Reading:
    """Components found in the text (all optional)."""

    zone: _ZoneFound | None = None
    # durations
    has_duration: bool = False
    past: bool = False
    years: int = 0
    months: int = 0
    days: int = 0
    elapsed: timedelta = field(default_factory=timedelta)
    duration_text: str = ""
    # time of day
    hour: int | None = None
    minute: int = 0
    second: int = 0
    meridiem: str | None = None
    has_minutes: bool = False
    h_only: bool = False
    noon: bool = False
    midnight: bool = False
    time_text: str = ""
    pod: str | None = None
    pod_text: str = ""
    # day
    day_offset: int | None = None
    day_text: str = ""
    tonight: bool = False
    weekday: int | None = None
    weekday_mode: str = "bare"
    weekday_text: str = ""
    date_parts: tuple[int | None, int, int] | None = None  # (year or None, month, day)
    date_text: str = ""
    dom: int | None = None
    month_only: str = ""

    def any_day(self) -> bool:
        return (
            self.day_offset is not None
            or self.weekday is not None
            or self.date_parts is not None
            or self.dom is not None
        )

    def any_component(self) -> bool:
        return (
            self.has_duration
            or self.hour is not None
            or self.midnight
            or self.pod is not None
            or self.any_day()
            or bool(self.month_only)
        )

    def set_time(self, hour: int, minute: int, second: int, meridiem: str | None, text: str, *,
                 has_minutes: bool, h_only: bool = False) -> None:  # fmt: skip
        if self.hour is not None or self.midnight:
            raise WhenError(
                f"I found two times, “{self.time_text}” and “{text}”. Type just one, e.g. “tomorrow 02:00”.",
                reason="conflict",
            )
        self.hour, self.minute, self.second, self.meridiem = hour, minute, second, meridiem
        self.has_minutes, self.h_only, self.time_text = has_minutes, h_only, text

    def set_day(self, offset: int, text: str) -> None:
        if self.day_offset is not None and self.day_offset != offset:
            raise WhenError(
                f"“{self.day_text}” and “{text}” are different days. Type just one, e.g. “tomorrow 02:00”.",
                reason="conflict",
            )
        self.day_offset, self.day_text = offset, text

    def set_pod(self, pod: str, text: str) -> None:
        if self.pod is not None and self.pod != pod:
            raise WhenError(
                f"“{self.pod_text}” and “{text}” don't go together. Type one time, e.g. “tomorrow 9am” or "
                "“mañana a las 15:00”.",
                reason="conflict",
            )
        self.pod, self.pod_text = pod, text


def _conflict(a: str, b: str) -> WhenError:
    return WhenError(
        f"“{a}” and “{b}” don't go together. Type one time, e.g. “tomorrow 15:00” or “in 2 hours”.",
        reason="conflict",
    )


def _amount(raw: str, g: _Grammar) -> float:
    key = _key(raw)
    if key in g.numbers:
        return float(g.numbers[key])
    return float(key.replace(",", "."))


_MAX_UNITS: Final[dict[str, float]] = {
    "seconds": 1e9, "minutes": 1e8, "hours": 1e7, "days": 1e6, "weeks": 1e5, "months": 1e4, "years": 1e3,
}  # fmt: skip


def _add_duration(r: _Reading, body: str, g: _Grammar, text: str) -> None:
    if r.has_duration:
        raise WhenError(
            f"I found two durations, “{r.duration_text}” and “{text}”. Type one, e.g. “in 3 hours”.",
            reason="conflict",
        )
    r.has_duration, r.duration_text = True, text
    seconds = 0.0
    for m in g.dur_pair.finditer(body):
        if m["hm"]:
            seconds += int(m["hh"]) * 3600 + int(m["mm"]) * 60
            if int(m["mm"]) > 59:
                raise WhenError(f"“{m['hm']}” is not a valid duration; e.g. “in 2h30”.", reason="invalid_time")
            continue
        amount = _amount(m["amt"] or m["wamt"], g)
        if m.groupdict().get("half"):
            amount += 0.5
        unit = g.units.get(_key(m["unit"])) or {"s": "seconds", "m": "minutes", "h": "hours", "d": "days",
                                                "w": "weeks"}[_key(m["unit"])]  # fmt: skip
        if amount > _MAX_UNITS[unit]:
            raise _TooFar(text)  # parse_when words it with the horizon it knows
        if unit in ("years", "months"):
            if amount != int(amount):
                raise WhenError(
                    f"“{text}”: use whole months or years, or say it in days, e.g. “in 45 days”.",
                    reason="invalid_time",
                )
            if unit == "years":
                r.years += int(amount)
            else:
                r.months += int(amount)
        elif unit in ("weeks", "days"):
            days = amount * (7 if unit == "weeks" else 1)
            if days == int(days):
                r.days += int(days)
            else:
                seconds += days * 86400
        else:
            seconds += amount * {"seconds": 1, "minutes": 60, "hours": 3600}[unit]
    r.elapsed += timedelta(seconds=seconds)


# ----------------------------------------------------------------------------------------------------------
# Extraction: each recogniser removes what it understood; what is left must be filler words
# ----------------------------------------------------------------------------------------------------------


def _extract(s: str, g: _Grammar, r: _Reading, date_order: str) -> list[str]:
    """Fill ``r`` from ``s`` and return the tokens nothing understood."""

    def run(rx: re.Pattern[str] | None, handler: Callable[[re.Match[str]], bool | None], s: str) -> str:
        """Apply ``handler`` to each match and cut the match out, unless the handler returns False."""
        if rx is None:
            return s

        def sub(m: re.Match[str]) -> str:
            return m[0] if handler(m) is False else _GAP

        return rx.sub(sub, s)

    # durations: "in 2 hours", "2 hours from now", "2 hours ago", "hace 2 horas", or the whole text "2 hours"
    def dur(m: re.Match[str]) -> None:
        _add_duration(r, m["body"], g, m[0])

    def dur_ago(m: re.Match[str]) -> None:
        _add_duration(r, m["body"], g, m[0])
        r.past = True

    s = run(g.dur_prefix, dur, s)
    s = run(g.dur_suffix, dur, s)
    s = run(g.dur_ago_suffix, dur_ago, s)
    s = run(g.dur_ago_prefix, dur_ago, s)
    whole = s.replace("|", " ").strip()
    if g.dur_bare.match(whole) and not re.fullmatch(r"[0-9]+\s*h(?:[0-9]{1,2})?", whole):
        s = run(g.dur_bare, dur, whole)

    # days and parts of the day
    def day_pod(m: re.Match[str]) -> None:
        offset, pod = g.day_pod[_key(m[0])]
        if offset is not None:
            r.set_day(offset, m[0])
        if pod == "night" and offset == 0:
            r.tonight = True
        r.set_pod(pod, m[0])

    def day(m: re.Match[str]) -> None:
        r.set_day(g.day_words[_key(m[0])], m[0])

    def pod(m: re.Match[str]) -> None:
        r.set_pod(g.pods[_key(m[0])], m[0])

    # "pasado mañana" before "mañana"; the Spanish parts of day ("de la mañana") before the day "mañana"
    s = run(g.rx_day_pod, day_pod, s)
    s = run(g.rx_day_long, day, s)
    s = run(g.rx_pod, pod, s)
    s = run(g.rx_day, day, s)

    # weekdays
    def weekday(m: re.Match[str]) -> None:
        if r.weekday is not None:
            raise WhenError(
                f"I found two weekdays, “{r.weekday_text}” and “{m[0]}”. Type one, e.g. “sat 02:00”.",
                reason="conflict",
            )
        r.weekday = g.weekdays[m["wd"]]
        mode = "bare"
        if m["pre"]:
            mode = g.wd_pre[_key(m["pre"])]
        if m.groupdict().get("post"):
            mode = g.wd_post[_key(m["post"])]
        r.weekday_mode, r.weekday_text = mode, m[0]

    s = run(g.rx_weekday, weekday, s)

    # dates
    def set_date(year: int | None, month: int, day_: int, text: str) -> None:
        if r.date_parts is not None or r.dom is not None:
            raise WhenError(
                f"I found two dates, “{r.date_text}” and “{text}”. Type one, e.g. “2026-03-07 02:00”.",
                reason="conflict",
            )
        r.date_parts, r.date_text = (year, month, day_), text

    def ymd(m: re.Match[str]) -> None:
        set_date(int(m["y"]), int(m["mo"]), int(m["d"]), m[0])

    def month_day(m: re.Match[str]) -> None:
        set_date(int(m["year"]) if m["year"] else None, g.months[m["mon"]], int(m["day"]), m[0].strip())

    def numeric(m: re.Match[str]) -> bool | None:
        if m["sep"] == "." and m["c"] is None and (len(m["a"]) < 2 or len(m["b"]) < 2):
            return False  # "1.5" is a decimal number, not a date; left for the leftover check
        a, b, c = int(m["a"]), int(m["b"]), m["c"]
        year = None if c is None else (int(c) + 2000 if len(c) == 2 else int(c))
        if date_order == "DMY":
            day_, month = a, b
        else:  # MDY, and YMD writes a short date month first
            month, day_ = a, b
        if not 1 <= month <= 12 or not 1 <= day_ <= 31:
            order = {"DMY": "day/month", "MDY": "month/day", "YMD": "month/day"}[date_order]
            time_hint = f" For a time, type “{a:02d}:{b:02d}”." if m["sep"] == "." and a <= 23 and b <= 59 else ""
            raise WhenError(
                f"“{m[0]}” is not a valid date in {order} order. Write the month as a word to be clear, "
                f"e.g. “Mar 10 14:00” or “10 Mar 14:00”, or use “2026-03-10 14:00”.{time_hint}",
                reason="invalid_date",
            )
        set_date(year, month, day_, m[0])

    def dom(m: re.Match[str]) -> None:
        if r.date_parts is not None or r.dom is not None:
            raise WhenError(f"I found two dates in “{m[0]}”. Type one, e.g. “Mar 20 09:00”.", reason="conflict")
        r.dom, r.date_text = int(m["day"]), m[0]

    s = run(_RX_YMD, ymd, s)
    s = run(g.rx_month_day, month_day, s)
    s = run(g.rx_day_month, month_day, s)
    s = run(g.rx_dom, dom, s)

    # times
    def hhmm(m: re.Match[str]) -> None:
        h, mi = int(m["h"]), int(m["m"])
        sec = int(m["s"]) if m["s"] else 0
        if h > 23 or mi > 59 or sec > 59:
            raise WhenError(
                f"“{m[0].strip()}” is not a valid time: hours go from 00 to 23 and minutes from 00 to 59, "
                "e.g. “23:00” or “00:30”.",
                reason="invalid_time",
            )
        r.set_time(h, mi, sec, m["ap"], m[0].strip(), has_minutes=True)

    def at_dot(m: re.Match[str]) -> None:
        h, mi = int(m["h1"] or m["h2"]), int(m["m1"] or m["m2"])
        ap = m["ap"] if m["ap"] in ("am", "pm") else None
        if h > 23 or mi > 59:
            raise WhenError(f"“{m[0]}” is not a valid time; e.g. “14:30”.", reason="invalid_time")
        r.set_time(h, mi, 0, ap, m[0].strip(), has_minutes=True)

    def military(m: re.Match[str]) -> None:
        r.set_time(int(m["h1"] or m["h2"]), int(m["m1"] or m["m2"]), 0, None, m[0].strip(), has_minutes=True)

    def h_mm(m: re.Match[str]) -> None:
        h, mi = int(m["h"]), int(m["m"])
        if h > 23 or mi > 59:
            raise WhenError(f"“{m[0]}” is not a valid time; e.g. “14h30” or “14:30”.", reason="invalid_time")
        r.set_time(h, mi, 0, None, m[0].strip(), has_minutes=True, h_only=not m["at"])

    def h_only(m: re.Match[str]) -> None:
        h = int(m["h"])
        if h > 23:
            raise WhenError(f"“{m[0]}” is not a valid time; e.g. “14h” or “14:00”.", reason="invalid_time")
        r.set_time(h, 0, 0, None, m[0].strip(), has_minutes=True, h_only=not m["at"])

    def ampm(m: re.Match[str]) -> None:
        h = int(m["h"])
        if not 1 <= h <= 12:
            hint = f"“{h:02d}:00”" if h <= 23 else "“11pm” or “23:00”"
            raise WhenError(
                f"“{m[0]}” is not a valid time: with am/pm the hour goes from 1 to 12. Type e.g. {hint}.",
                reason="invalid_time",
            )
        r.set_time(h, 0, 0, m["ap"], m[0], has_minutes=False)

    def noon(m: re.Match[str]) -> None:
        r.set_time(12, 0, 0, None, m[0], has_minutes=True)
        r.noon = True

    def midnight(m: re.Match[str]) -> None:
        if r.hour is not None or r.midnight:
            raise WhenError(
                f"I found two times, “{r.time_text}” and “{m[0]}”. Type just one, e.g. “00:00”.",
                reason="conflict",
            )
        r.midnight, r.time_text = True, m[0]

    def at_hour(m: re.Match[str]) -> None:
        h = int(m["h1"] or m["h2"])
        if h > 24:
            raise WhenError(f"“{m[0]}” is not a valid time; hours go from 0 to 23.", reason="invalid_time")
        if h == 24:
            raise WhenError(
                f"“{m[0]}” is not a valid time; for midnight type “00:00” with the day, e.g. “tomorrow 00:00”.",
                reason="invalid_time",
            )
        r.set_time(h, 0, 0, None, m[0], has_minutes=False)

    s = run(g.rx_at_dot, at_dot, s)
    s = run(_RX_NUMERIC_DATE, numeric, s)
    s = run(_RX_HHMM, hhmm, s)
    s = run(g.rx_at_military, military, s)
    s = run(_RX_H_MM, h_mm, s)
    s = run(_RX_H_ONLY, h_only, s)
    s = run(_RX_AMPM, ampm, s)
    s = run(g.rx_noon, noon, s)
    s = run(g.rx_midnight, midnight, s)
    s = run(g.rx_at_hour, at_hour, s)

    def month_only(m: re.Match[str]) -> None:
        r.month_only = m[0]

    s = run(g.rx_month_only, month_only, s)

    leftover = [t for t in s.split() if t not in g.fillers and t != "|"]
    # a lone 1-2 digit number next to a day ("tomorrow 5", "mañana 15") is an hour
    if (
        len(leftover) == 1
        and re.fullmatch(r"[0-9]{1,2}", leftover[0])
        and r.hour is None
        and not r.midnight
        and not r.has_duration
        and (r.any_day() or r.pod is not None)
    ):
        h = int(leftover[0])
        if h > 23:
            raise WhenError(f"“{h}” is not a valid hour; hours go from 0 to 23.", reason="invalid_time")
        r.set_time(h, 0, 0, None, leftover[0], has_minutes=False)
        leftover = []
    return leftover


# ----------------------------------------------------------------------------------------------------------
# Resolution: components → wall time → instant
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ctx:
    now: datetime  # aware UTC
    user_zone: ZoneInfo
    user_tz: str
    horizon: timedelta
    languages: tuple[str, ...]
    date_order: str
    windows: tuple[MaintenanceWindow, ...] | None


def _hm(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


def _ambiguous_hour(h: int, text: str) -> WhenError:
    if h == 12:
        return WhenError(
            f"“{text}” could be noon or midnight. Type “12:00” (noon) or “00:00” (midnight), e.g. “tomorrow 12:00”.",
            understood=f"{text} (12:00 or 00:00)",
            reason="ambiguous_hour",
        )
    return WhenError(
        f"“{text}” could be {h:02d}:00 or {h + 12:02d}:00. Type “{h}am”, “{h}pm” or 24-hour time such as "
        f"“{h + 12:02d}:00”.",
        understood=f"{text} ({h:02d}:00 or {h + 12:02d}:00)",
        reason="ambiguous_hour",
    )


def _time_of_day(r: _Reading) -> time | None:
    """The clock time the reading names (``None`` if none), applying am/pm and parts of the day."""
    if r.midnight:
        if r.pod in ("morning", "afternoon", "evening"):
            raise _conflict(r.pod_text, r.time_text)
        return time(0, 0)
    if r.hour is None:
        return None
    h, pod, ap = r.hour, r.pod, r.meridiem
    text = " ".join(t for t in (r.time_text, r.pod_text) if t)
    if ap is not None:
        if h > 12 or h == 0:
            if ap == "am" or h == 0:
                raise WhenError(
                    f"“{r.time_text}” is not a valid time; type “{h:02d}:{r.minute:02d}” without am/pm.",
                    reason="invalid_time",
                )
            return time(h, r.minute, r.second)  # "13:00pm": redundant but clear
        if (pod in ("morning", "early") and ap == "pm") or (pod in ("afternoon", "evening") and ap == "am"):
            raise _conflict(r.time_text, r.pod_text)
        if pod == "night" and ap == "am" and h not in (12, 1, 2, 3, 4):
            raise _conflict(r.time_text, r.pod_text)
        h = (0 if h == 12 else h) if ap == "am" else (12 if h == 12 else h + 12)
        return time(h, r.minute, r.second)
    if pod is None:
        if r.has_minutes or h == 0 or 13 <= h <= 23:
            return time(h, r.minute, r.second)
        raise _ambiguous_hour(h, r.time_text)
    # a part of the day decides am/pm
    if r.noon:
        if pod != "afternoon":
            raise _conflict(r.time_text, r.pod_text)
        return time(12, 0)
    if pod in ("morning", "early"):
        if h == 12:
            raise _ambiguous_hour(12, text)
        if h >= (12 if pod == "morning" else 7):
            raise _conflict(r.time_text, r.pod_text)
        return time(h, r.minute, r.second)
    if pod in ("afternoon", "evening"):
        if h == 0:
            raise _conflict(r.time_text, r.pod_text)
        return time(h + 12 if h < 12 else h, r.minute, r.second)
    # night: 18-23 and 0-4; a 12-hour clock hour 5-11 is pm, 12 is midnight
    if h == 12:
        return time(0, r.minute, r.second)
    if 5 <= h <= 11:
        return time(h + 12, r.minute, r.second)
    if 13 <= h <= 17:
        raise _conflict(r.time_text, r.pod_text)
    return time(h, r.minute, r.second)


def _readings(wall: datetime, zone: tzinfo) -> tuple[datetime, ...]:
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


def _wall_reached(wall: datetime, zone: tzinfo) -> datetime:
    """The first instant at which the clock in ``zone`` shows ``wall`` or later: its only reading, the first
    pass of a repeated time, or, for a time the clocks skip, the instant they jump over it."""
    readings = _readings(wall, zone)
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


def _still_ahead(wall: datetime, zone: tzinfo, now: datetime) -> bool:
    """Will the clock in ``zone`` show ``wall`` after ``now``? Instants are compared, not wall dates: a
    repeated time is ahead until its second pass, a skipped one until the clocks jump over it."""
    readings = _readings(wall, zone)
    return (readings[-1] if readings else _wall_reached(wall, zone)) > now


def _abbr(dt: datetime) -> str:
    """The zone abbreviation of an aware datetime; numeric ones (``-03``) as ``UTC-03``."""
    name = dt.tzname() or ""
    m = re.fullmatch(r"([+-])([0-9]{2})([0-9]{2})?", name)
    if m:
        return f"UTC{m[1]}{m[2]}" + (f":{m[3]}" if m[3] else "")
    return name or "UTC"


def _zone_name(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or str(zone)


def _offset_text(dt: datetime) -> str:
    off = dt.utcoffset() or timedelta(0)
    total = int(off.total_seconds() // 60)
    sign = "-" if total < 0 else "+"
    hh, mm = divmod(abs(total), 60)
    return f"UTC{sign}{hh:02d}:{mm:02d}"


def _localize(wall: datetime, zone: tzinfo, now: datetime) -> datetime:
    """Wall time in ``zone`` → aware UTC, for a person speaking at ``now``.

    A time the clocks repeat is the one reading still ahead when only one is (at 01:15 EST, the second
    pass, “01:30” can only mean the 01:30 EST to come); with both ahead it is refused, naming both. With both
    passed the later one is returned and the caller's check calls it past. A time the clocks skip is
    refused, with the alternatives still ahead.
    """
    readings = _readings(wall, zone)
    if len(readings) == 1:
        return readings[0]
    if not readings:
        raise _gap_error(wall, zone, now)
    ahead = [u for u in readings if u > now]
    if len(ahead) < len(readings):
        return ahead[0] if ahead else readings[-1]
    raise _overlap_error(wall, zone, readings)


def _wall_day(wall: datetime) -> str:
    return f"{_WEEKDAY_ABBR[wall.weekday()]} {wall.day} {_MONTH_ABBR[wall.month - 1]} {wall.year}"


def _gap_error(wall: datetime, zone: tzinfo, now: datetime) -> WhenError:
    """``wall`` does not exist in ``zone``: suggest the times just before and after the jump still ahead."""
    name, day, hm = _zone_name(zone), _wall_day(wall), f"{wall:%H:%M}"
    # fold=1 reads the wall time with the offset after the jump (an instant before it), fold=0 with the one before
    before, after = (wall.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (1, 0))
    jump = format_relative(after - before, suffix=False)
    options = [f"“{u.astimezone(zone):%Y-%m-%d %H:%M}”" for u in (before, after) if u > now]
    if not options or _wall_reached(wall, zone) <= now:
        return WhenError(
            f"{hm} was skipped on {day} in {name} (the clocks jumped forward {jump}), so it has passed. "
            f"Type a time in the future, e.g. “tomorrow {hm}”.",
            understood=f"{hm} on {day} ({name})",
            reason="past",
        )
    return WhenError(
        f"{hm} does not exist on {day} in {name}: the clocks jump forward {jump} that night. "
        f"Type {' or '.join(options)} instead.",
        understood=f"{hm} on {day} ({name})",
        reason="dst_gap",
    )


def _overlap_error(wall: datetime, zone: tzinfo, readings: tuple[datetime, ...]) -> WhenError:
    """``wall`` happens twice in ``zone`` and both are ahead: name both, each with a zone that picks it."""
    first, second = (u.astimezone(zone) for u in readings)
    name, day, iso_day, hm = _zone_name(zone), _wall_day(wall), wall.date().isoformat(), f"{wall:%H:%M}"
    a1, a2 = _abbr(first), _abbr(second)
    if a1 == a2 or not a1.isalpha() or not a2.isalpha():
        a1, a2 = _offset_text(first), _offset_text(second)
    return WhenError(
        f"{hm} happens twice on {day} in {name} (the clocks go back that night). "
        "Add the zone to pick one: "
        f"“{iso_day} {hm} {a1}” (the first, {_utc_time(readings[0], wall.date())}) or “{iso_day} {hm} {a2}” "
        f"(the second, {_utc_time(readings[1], wall.date())}).",
        understood=f"{hm} on {day} ({name})",
        reason="dst_overlap",
    )


def _utc_time(instant: datetime, local_day: date, ref_year: int | None = None) -> str:
    """``08:00 UTC``, with the UTC day in front when it is not ``local_day`` (``Sat 7 Mar 02:00 UTC``)."""
    utc = instant.astimezone(UTC)
    if utc.date() == local_day:
        return f"{utc:%H:%M} UTC"
    return f"{_day_label(utc.date(), local_day.year if ref_year is None else ref_year)} {utc:%H:%M} UTC"


def _add_months(wall: datetime, months: int) -> datetime:
    total = wall.year * 12 + (wall.month - 1) + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise OverflowError("year out of range")
    last = _days_in_month(year, month + 1)
    return wall.replace(year=year, month=month + 1, day=min(wall.day, last))


def _days_in_month(year: int, month: int) -> int:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def _day_label(d: date, ref_year: int) -> str:
    year = f" {d.year}" if d.year != ref_year else ""
    return f"{_WEEKDAY_ABBR[d.weekday()]} {d.day} {_MONTH_ABBR[d.month - 1]}{year}"


def _resolve(r: _Reading, ctx: _Ctx) -> datetime:
    zone: tzinfo = r.zone.zone if r.zone else ctx.user_zone
    local_now = ctx.now.astimezone(zone)
    today = local_now.date()
    if (
        r.hour == 12
        and r.minute == 0
        and not r.noon
        and (r.meridiem == "am" or (r.pod == "night" and r.meridiem is None))
    ):
        r.midnight, r.hour = True, None  # "12am", "a las 12 de la noche": midnight, with its ambiguity
    tod = _time_of_day(r)

    if r.has_duration:
        for other, text in (
            (r.any_day(), r.day_text or r.weekday_text or r.date_text),
            (r.midnight, r.time_text),
            (bool(r.month_only), r.month_only),
        ):
            if other:
                raise _conflict(r.duration_text, text)
        sign = -1 if r.past else 1
        try:
            if r.years or r.months or r.days:
                wall = _add_months(local_now.replace(tzinfo=None), sign * (r.years * 12 + r.months))
                wall += timedelta(days=sign * r.days)
                if tod is None and r.pod is not None:
                    raise WhenError(
                        f"“{r.pod_text}” is not an exact time. Type the time, e.g. “{r.duration_text} at 09:00”.",
                        reason="vague",
                    )
                if tod is not None:
                    if r.elapsed:
                        raise _conflict(r.duration_text, r.time_text)
                    wall = datetime.combine(wall.date(), tod)
                instant = _localize(wall, zone, ctx.now) + sign * r.elapsed
            else:
                if tod is not None or r.pod is not None:
                    raise _conflict(r.duration_text, r.time_text or r.pod_text)
                instant = ctx.now + sign * r.elapsed
        except OverflowError:
            raise _too_far(r.duration_text, ctx) from None
        return instant

    if tod is None:
        if r.any_day():
            d = _day_of(r, ctx, today, None, zone)
            what = r.day_text or r.weekday_text or r.date_text
            label = _day_label(d, today.year) if d else what
            if r.pod is not None:
                phrase = what if what == r.pod_text else f"{what} {r.pod_text}"
                raise WhenError(
                    f"“{phrase}” is not an exact time. Type the time too, e.g. “{what} 09:00”.",
                    understood=label,
                    reason="vague",
                )
            raise WhenError(
                f"I read “{what}” as {label} but there is no time of day. Add one, e.g. “{what} 02:00” "
                f"or “{what} 2am”.",
                understood=label,
                reason="no_time",
            )
        if r.pod is not None:
            raise WhenError(
                f"“{r.pod_text}” is not an exact time. Type the time, e.g. “tomorrow 09:00” or “9pm”.",
                understood=r.pod_text,
                reason="vague",
            )
        if r.month_only:
            raise _month_only_error(r.month_only)
        raise _not_understood(None)

    if r.month_only:
        raise _month_only_error(r.month_only)

    if r.midnight and (
        (r.day_offset is not None and not (r.day_offset == 0)) or r.weekday is not None or r.date_parts or r.dom
    ):
        what = r.day_text or r.weekday_text or r.date_text
        d = _day_of(r, ctx, today, None, zone)
        if d is not None:
            nxt = d + timedelta(days=1)
            raise WhenError(
                f"“{what} {r.time_text}” could be the start or the end of {_day_label(d, today.year)}. Type "
                f"“{d.isoformat()} 00:00” (start) or “{nxt.isoformat()} 00:00” (end).",
                understood=f"midnight of {_day_label(d, today.year)}",
                reason="ambiguous_midnight",
            )
        raise _not_understood(None)

    if r.midnight:
        d = today + timedelta(days=1)  # the next midnight, also for "today/tonight at midnight"
    else:
        d = _day_of(r, ctx, today, tod, zone)
        if d is None:
            d = today if _still_ahead(datetime.combine(today, tod), zone, ctx.now) else today + timedelta(days=1)
        if r.tonight and (tod.hour < 5 or (tod.hour < 12 and r.meridiem == "am")):
            d += timedelta(days=1)  # "tonight at 1am" is after midnight
        elif (
            r.pod == "night"
            and r.meridiem is None
            and not r.has_minutes
            and r.hour is not None
            and r.hour <= 4
            and r.any_day()
            and not r.tonight
        ):
            raise WhenError(
                f"“{r.day_text or r.weekday_text or r.date_text} {r.time_text} {r.pod_text}”: "
                "is that the night "
                f"before or after? Type the hour as 24-hour time with the date, e.g. “{today.isoformat()} "
                f"{r.hour:02d}:00”.",
                reason="ambiguous_hour",
            )
    return _localize(datetime.combine(d, tod), zone, ctx.now)


def _day_of(r: _Reading, ctx: _Ctx, today: date, tod: time | None, zone: tzinfo) -> date | None:
    """The local date the reading names (``None`` when only a time was given)."""

    def ahead(d: date) -> bool:
        return tod is None or _still_ahead(datetime.combine(d, tod), zone, ctx.now)

    chosen: date | None = None
    if r.date_parts is not None:
        year, month, day_ = r.date_parts
        if year is not None:
            chosen = _valid_date(year, month, day_, r.date_text)
        else:
            # the year it is read in names the year in an error ("Feb 30" said in March is next February's)
            first_year = today.year + (1 if (month, day_) < (today.month, today.day) else 0)
            first_error: WhenError | None = None
            for y in range(first_year, first_year + 9):
                try:
                    cand = _valid_date(y, month, day_, r.date_text)
                except WhenError as exc:
                    first_error = first_error or exc
                    if not (month == 2 and day_ == 29):
                        raise
                    continue
                if cand >= today:
                    chosen = cand
                    break
            if chosen is None:
                raise first_error or _not_understood(None)
    elif r.dom is not None:
        if not 1 <= r.dom <= 31:
            raise WhenError(f"“{r.date_text}”: months have days 1 to 31; e.g. “the 20th at 9am”.",
                            reason="invalid_date")  # fmt: skip
        y, m = today.year, today.month
        for _ in range(13):
            if r.dom <= _days_in_month(y, m):
                cand = date(y, m, r.dom)
                if cand >= today:
                    chosen = cand
                    break
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    elif r.day_offset is not None:
        chosen = today + timedelta(days=r.day_offset)

    if r.weekday is not None:
        if chosen is not None:
            if chosen.weekday() != r.weekday:
                raise WhenError(
                    f"“{r.weekday_text}” and “{r.date_text or r.day_text}” don't match: "
                    f"{_day_label(chosen, today.year)} is a {_weekday_name(chosen.weekday())}. "
                    "Type one of them, "
                    f"e.g. “{chosen.isoformat()} 02:00”.",
                    understood=_day_label(chosen, today.year),
                    reason="conflict",
                )
            return chosen
        start = 1 if r.weekday_mode == "next" else 0
        for k in range(start, start + 14):
            cand = today + timedelta(days=k)
            if cand.weekday() != r.weekday:
                continue
            if r.weekday_mode in ("bare", "coming") and not ahead(cand):
                continue
            return cand
    return chosen


def _weekday_name(i: int) -> str:
    return _WEEKDAY_NAME[i]


def _valid_date(year: int, month: int, day_: int, text: str) -> date:
    if not 1 <= month <= 12:
        raise WhenError(f"“{text}” has no valid month; e.g. “2026-03-10 14:00”.", reason="invalid_date")
    try:
        return date(year, month, day_)
    except ValueError:
        if 1 <= year <= 9999 and day_ >= 1:
            last = _days_in_month(year, month)
            raise WhenError(
                f"{_MONTH_NAME[month - 1]} {year} has no day {day_} (it has {last} days). "
                "Check the date, e.g. "
                f"“{_MONTH_ABBR[month - 1]} {last} 14:00”.",
                understood=f"{_MONTH_NAME[month - 1]} {day_}",
                reason="invalid_date",
            ) from None
        raise WhenError(f"“{text}” is not a valid date; e.g. “2026-03-10 14:00”.", reason="invalid_date") from None


def _month_only_error(text: str) -> WhenError:
    return WhenError(f"“{text}” needs a day and a time, e.g. “{text} 10 14:00”.", understood=text, reason="month_only")


def _not_understood(words: Sequence[str] | None) -> WhenError:
    if words:
        return WhenError(
            f"I couldn't understand “{' '.join(words)}”. Type only the time, e.g. {EXAMPLES}.",
            reason="not_understood",
        )
    return WhenError(f"I couldn't find a time in that. Type when, e.g. {EXAMPLES}.", reason="not_understood")


def _horizon_text(horizon: timedelta) -> str:
    """``365 days``, ``1 day``, or ``12 h`` for a horizon that is not whole days."""
    if horizon.total_seconds() % 86400 == 0:
        days = int(horizon.total_seconds() // 86400)
        return f"{days} days" if days != 1 else "1 day"
    return format_relative(horizon, suffix=False)


def _horizon_example(horizon: timedelta) -> str:
    """A duration to suggest that is well inside ``horizon`` (“in 3 days” for the default year)."""
    for days, phrase in ((4, "in 3 days"), (2, "in 1 day")):
        if horizon >= timedelta(days=days):
            return phrase
    for hours, phrase in ((6, "in 3 hours"), (2, "in 1 hour")):
        if horizon >= timedelta(hours=hours):
            return phrase
    return f"in {max(1, int(horizon.total_seconds() // 120))} min"


class _TooFar(Exception):
    """A duration too large to compute; ``parse_when`` turns it into a ``beyond_horizon`` refusal."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _too_far(text: str, ctx: _Ctx) -> WhenError:
    return WhenError(
        f"“{text}” is far beyond how far ahead you can schedule. Pick a time within the next "
        f"{_horizon_text(ctx.horizon)}, e.g. “{_horizon_example(ctx.horizon)}”.",
        reason="beyond_horizon",
    )


def _past_example(instant: datetime, ctx: _Ctx, zone: tzinfo, *, duration: bool) -> str:
    """What to suggest instead of a past time: the same clock time tomorrow, if that may be scheduled."""
    local = instant.astimezone(zone)
    if local.second == 0 and not duration:
        tomorrow = datetime.combine(ctx.now.astimezone(zone).date() + timedelta(days=1), local.time())
        if ctx.now < _wall_reached(tomorrow.replace(microsecond=0), zone) <= ctx.now + ctx.horizon:
            return f"tomorrow {local:%H:%M}"
    return "in 1 hour" if ctx.horizon >= timedelta(hours=2) else _horizon_example(ctx.horizon)


def _check(instant: datetime, ctx: _Ctx, zone: tzinfo, *, duration: bool = False) -> datetime:
    understood = format_local(instant, zone, ref=ctx.now)
    if instant == ctx.now:
        raise WhenError(
            "That is right now; the bot schedules for a moment in the future. Type e.g. “in 5 min”.",
            understood=understood,
            reason="now",
        )
    if instant < ctx.now:
        ago = format_relative(instant - ctx.now)
        raise WhenError(
            f"{understood} is in the past ({ago}). Type a time in the future, e.g. "
            f"“{_past_example(instant, ctx, zone, duration=duration)}”.",
            understood=understood,
            reason="past",
        )
    limit = ctx.now + ctx.horizon
    if instant > limit:
        raise WhenError(
            f"{understood} is more than {_horizon_text(ctx.horizon)} ahead; the latest you can schedule is "
            f"{format_local(limit, zone, ref=ctx.now)}. Pick an earlier time, e.g. "
            f"“{_horizon_example(ctx.horizon)}”.",
            understood=understood,
            reason="beyond_horizon",
        )
    return instant


# ----------------------------------------------------------------------------------------------------------
# dateparser (lazy: imported by warm_up at start, or on the first phrase the grammar can't read)
# ----------------------------------------------------------------------------------------------------------


@functools.cache
def _dateparser() -> SimpleNamespace:
    from dateparser.conf import settings as dp_default_settings  # deliberately lazy
    from dateparser.date import DateDataParser
    from dateparser.languages.loader import default_loader
    from dateparser.timezone_parser import pop_tz_offset_from_string

    return SimpleNamespace(
        DateDataParser=DateDataParser,
        loader=default_loader,
        pop_tz=pop_tz_offset_from_string,
        default_settings=dp_default_settings,
    )


def _dp_settings(base: datetime, date_order: str) -> dict[str, object]:
    return {
        # Read and return naive-UTC wall clock: dateparser then does pure wall-clock arithmetic from the local
        # wall-time base, and zoneinfo (not pytz) does the DST work afterwards.
        "TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": base,
        "DATE_ORDER": date_order,
        "PREFER_LOCALE_DATE_ORDER": False,
        "PARSERS": ["relative-time", "absolute-time"],
    }


_RX_TRANSLATED_SUBDAY = re.compile(r"\b(?:hour|minute|second)s?\b", re.ASCII)
_RX_TRANSLATED_DURATION = re.compile(r"^in (?:[0-9]+ (?:day|week|month|year)s? ?)+$", re.ASCII)


def _fallback(text: str, zone: tzinfo, ctx: _Ctx) -> datetime | None:
    """Ask dateparser; ``None`` if it finds nothing. The answer is re-localised and checked by the caller."""
    dp = _dateparser()
    local_now = ctx.now.astimezone(zone)
    base = local_now.replace(tzinfo=None)
    try:
        _rest, tz_in_text = dp.pop_tz(text)
        if tz_in_text is not None:
            raise WhenError(
                f"I don't know the time zone in “{text}”. Use UTC, an offset such as “UTC+3”, "
                "or an IANA name "
                "such as “America/Costa_Rica”, e.g. “tomorrow 02:00 UTC”.",
                reason="unknown_zone",
            )
        data = dp.DateDataParser(languages=list(ctx.languages), settings=_dp_settings(base, ctx.date_order))
        dd = data.get_date_data(text)
    except WhenError:
        raise
    except Exception:  # dateparser is third-party: never let its bugs reach the person
        log.warning("dateparser failed on %r", text, exc_info=True)
        return None
    if dd.date_obj is None:
        return None
    obj: datetime = dd.date_obj
    if obj.utcoffset():
        return obj.astimezone(UTC)  # dateparser found an offset we did not: that is an absolute instant
    wall = obj.replace(tzinfo=None)
    translated = ""
    if dd.locale:
        try:
            locale = dp.loader.get_locale(dd.locale)
            translated = locale.translate(text, keep_formatting=False, settings=dp.default_settings)
        except Exception:
            log.debug("dateparser could not translate %r", text, exc_info=True)
    translated = _RX_SPACES.sub(" ", str(translated)).strip().lower()
    if "time" not in (dd.parts or ()) and not _RX_TRANSLATED_DURATION.match(translated):
        label = _day_label(wall.date(), local_now.year)
        raise WhenError(
            f"I read “{text}” as {label} but there is no time of day. Add one, e.g. “tomorrow 02:00”.",
            understood=label,
            reason="no_time",
        )
    elapsed_instant = ctx.now + (wall - base)
    try:
        wall_instant: datetime | None = _localize(wall, zone, ctx.now)
        wall_error: WhenError | None = None
    except WhenError as exc:
        wall_instant, wall_error = None, exc
    if wall_instant == elapsed_instant:
        return wall_instant
    if _RX_TRANSLATED_SUBDAY.search(translated):
        return elapsed_instant  # "dans 2 heures": elapsed time across the DST change
    if wall_error is not None:
        raise wall_error
    return wall_instant


# ----------------------------------------------------------------------------------------------------------
# parse_when
# ----------------------------------------------------------------------------------------------------------


def parse_when(
    text: str,
    *,
    tz: str,
    now: datetime,
    languages: Sequence[str] = DEFAULT_LANGUAGES,
    horizon: timedelta = DEFAULT_HORIZON,
    date_order: str | None = None,
    windows: Sequence[MaintenanceWindow] | None = None,
) -> datetime:
    """The instant (aware, UTC) that ``text`` means for a person in zone ``tz`` at ``now``.

    Raises ``WhenError`` (a ``ValueError``) for anything a person typed that is not a safe future instant
    within ``horizon``; ``ValueError``/``TypeError`` for programming errors (naive ``now``, unknown ``tz``,
    bad
    ``date_order``). See the module docstring for the full semantics.
    """
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise TypeError("parse_when needs an aware `now`, e.g. datetime.now(UTC)")
    user_zone = resolve_zone(tz)
    order = (date_order or default_date_order(tz)).upper()
    if order not in ("DMY", "MDY", "YMD"):
        raise ValueError(f"date_order must be 'DMY', 'MDY' or 'YMD', not {date_order!r}")
    if horizon <= timedelta(0):
        raise ValueError("horizon must be positive")
    langs = tuple(dict.fromkeys(languages)) or DEFAULT_LANGUAGES
    ctx = _Ctx(now.astimezone(UTC), user_zone, tz, horizon, langs, order,
               tuple(windows) if windows is not None else None)  # fmt: skip

    if not isinstance(text, str) or not text.strip():
        raise WhenError(f"Please type when, e.g. {EXAMPLES}.", reason="empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise WhenError(
            f"That is too long for a time ({len(text)} characters). Type only the time, e.g. {EXAMPLES}.",
            reason="too_long",
        )
    s = _normalise(text)
    if not s:
        raise _not_understood(None)
    g = _grammar(langs)

    # 1. the next maintenance window
    if g.next_window is not None and g.next_window.match(s):
        if not ctx.windows:
            raise WhenError(
                "No maintenance windows are configured, so “next window” has no meaning here. Type a time "
                "instead, e.g. “tomorrow 2am”.",
                reason="no_windows",
            )
        start = next_window_start(ctx.now, ctx.windows)
        if start is None:
            raise _not_understood(None)
        return _check(start, ctx, user_zone)

    # 2. "now"
    if g.now_words is not None and g.now_words.match(s):
        raise WhenError(
            "That is right now; the bot schedules for a moment in the future. Type e.g. “in 5 min”.",
            understood=format_local(ctx.now, user_zone, ref=ctx.now),
            reason="now",
        )

    # 3. ISO 8601
    iso = _RX_ISO.match(s)
    if iso:
        return _check(_iso(iso, ctx), ctx, user_zone)

    # 4. a bare number
    if re.fullmatch(r"[+-]?[0-9]+(?:[.,][0-9]+)?", s):
        n = s
        if n.isdigit() and 1 <= int(n) <= 12:
            hint = (
                f"Did you mean {int(n):02d}:00, {int(n) + 12:02d}:00 or in {n} hours? Type e.g. "
                f"“{int(n) + 12:02d}:00” or “in {n} hours”."
            )
        elif n.isdigit() and int(n) <= 23:
            hint = f"Did you mean {int(n):02d}:00 or in {n} hours? Type e.g. “{int(n):02d}:00” or “in {n} hours”."
        elif re.fullmatch(r"([01]?[0-9]|2[0-3])[.,][0-5][0-9]", n):
            hh, mm = re.split(r"[.,]", n)
            hint = f"For a time, type “{int(hh):02d}:{mm}”, e.g. “tomorrow {int(hh):02d}:{mm}”."
        else:
            hint = f"Type a time, e.g. {EXAMPLES}."
        raise WhenError(f"“{text.strip()}” is just a number. {hint}", understood=n, reason="bare_number")

    # 5. the grammar
    r = _Reading()
    s, r.zone = _pop_zone(s)
    zone: tzinfo = r.zone.zone if r.zone else user_zone
    try:
        leftover = _extract(s, g, r, order)
    except _TooFar as exc:
        raise _too_far(exc.text, ctx) from None

    if not leftover:
        if r.h_only and not (r.any_day() or r.pod is not None or r.has_duration):
            h, mi = r.hour or 0, r.minute
            dur = f"{h} hours" if not mi else f"{h} h {mi} min"
            raise WhenError(
                f"“{r.time_text}” could mean {h:02d}:{mi:02d} or in {dur}. Type “{h:02d}:{mi:02d}” or “in {dur}”.",
                understood=r.time_text,
                reason="ambiguous_hour",
            )
        if not r.any_component():
            raise _not_understood(None)
        return _check(_resolve(r, ctx), ctx, zone, duration=r.has_duration)

    if g.rx_in_number.match(" ".join(leftover)) or (
        len(leftover) == 2 and leftover[0] in ("in", "en") and leftover[1].replace(".", "").isdigit()
    ):
        raise WhenError(
            f"“{' '.join(leftover)}” needs a unit, e.g. “in {leftover[-1]} min” or “in {leftover[-1]} hours”.",
            understood=" ".join(leftover),
            reason="missing_unit",
        )
    if not r.any_component() and all(_RX_NUMBER.fullmatch(t) for t in leftover):
        raise WhenError(f"“{text.strip()}” is just numbers. Type a time, e.g. {EXAMPLES}.", reason="bare_number")

    # 6. dateparser, for what the grammar does not know (other languages and phrasings). What the grammar did
    #    read must still make sense (an ambiguous "at 5" stays ambiguous), and dateparser must agree with it.
    #    Only words the grammar has never heard of (another language, another phrasing) justify asking it:
    #    leftovers made of known words and numbers ("and", "tomorrow in", "5 2:30") are just not understood.
    tod = _time_of_day(r)
    if ("week" in leftover or "semana" in leftover) and not r.has_duration:
        raise WhenError(
            f"“{' '.join(leftover)}” is not a day. Name the day, e.g. “next monday 15:00”, "
            "or count the days, e.g. “in 7 days at 15:00”.",
            understood=" ".join(leftover),
            reason="vague",
        )
    if not any(t.isalpha() and len(t) >= 3 and t not in g.known_words for t in leftover):
        raise _not_understood(leftover)
    dp_text = _RX_SPACES.sub(" ", s.replace("|", " ")).strip()
    instant = _fallback(dp_text, zone, ctx) if dp_text else None
    if instant is None or not _agrees(r, tod, instant.astimezone(zone), ctx.now.astimezone(zone).date()):
        raise _not_understood(leftover if r.any_component() else None)
    return _check(instant, ctx, zone)


def _agrees(r: _Reading, tod: time | None, local: datetime, today: date) -> bool:
    """Does dateparser's answer keep what the grammar did read (time, day, weekday, date)?"""
    if tod is not None and (local.hour, local.minute) != (tod.hour, tod.minute):
        return False
    if r.day_offset is not None and local.date() != today + timedelta(days=r.day_offset):
        return False
    if r.weekday is not None and local.weekday() != r.weekday:
        return False
    if r.date_parts is not None:
        year, month, day_ = r.date_parts
        if (local.month, local.day) != (month, day_) or (year is not None and local.year != year):
            return False
    return not (r.dom is not None and local.day != r.dom)


def _iso(m: re.Match[str], ctx: _Ctx) -> datetime:
    y, mo, d = int(m["y"]), int(m["mo"]), int(m["d"])
    day = _valid_date(y, mo, d, m[0])
    if m["h"] is None:
        label = _day_label(day, ctx.now.astimezone(ctx.user_zone).year)
        raise WhenError(
            f"I read “{m[0]}” as {label} but there is no time of day. Add one, e.g. “{m[0]} 02:00”.",
            understood=label,
            reason="no_time",
        )
    h, mi, sec = int(m["h"]), int(m["mi"]), int(m["s"] or 0)
    micro = int((m["f"] or "0")[:6].ljust(6, "0"))
    if h > 23 or mi > 59 or sec > 59:
        raise WhenError(
            f"“{m[0]}” has an invalid time: hours go from 00 to 23 and minutes from 00 to 59.",
            reason="invalid_time",
        )
    wall = datetime(y, mo, d, h, mi, sec, micro)
    z = m["z"]
    if z is None:
        return _localize(wall, ctx.user_zone, ctx.now)
    if z == "z":
        return wall.replace(tzinfo=UTC)
    zm = re.fullmatch(r"([+-])([0-9]{2}):?([0-9]{2})?", z)
    if zm is None:  # pragma: no cover - the regex above only lets these through
        raise _not_understood(None)
    return wall.replace(tzinfo=_offset_zone(zm[1], zm[2], zm[3], z)).astimezone(UTC)


# ----------------------------------------------------------------------------------------------------------
# Formatting
# ----------------------------------------------------------------------------------------------------------


def format_relative(delta: timedelta, *, suffix: bool = True) -> str:
    """``in 16 h 40 min``, ``in 5 min``, ``in 3 d 2 h``, ``in 40 s``; ``… ago`` if negative; ``now`` at 0.

    Rounded to the nearest unit shown (minutes below a day, hours from a day up). ``suffix=False`` gives just
    the amount (``16 h 40 min``).
    """
    secs = delta.total_seconds()
    a = abs(secs)
    if a < 0.5:
        return "now" if suffix else "0 s"
    seconds = math.floor(a + 0.5)
    minutes = math.floor(a / 60 + 0.5)
    if seconds < 60:
        amount = f"{seconds} s"
    elif minutes < 24 * 60:
        h, m = divmod(minutes, 60)
        amount = " ".join(p for p in (f"{h} h" if h else "", f"{m} min" if m else "") if p)
    else:
        hours = math.floor(a / 3600 + 0.5)
        d, h = divmod(hours, 24)
        amount = f"{d} d" + (f" {h} h" if h else "")
    if not suffix:
        return amount
    return f"in {amount}" if secs > 0 else f"{amount} ago"


def format_local(instant: datetime, zone: tzinfo | str, *, ref: datetime | None = None) -> str:
    """``Sat 7 Mar 02:00 CST``: the instant in ``zone``; the year is shown when it differs from ``ref``'s."""
    z = resolve_zone(zone) if isinstance(zone, str) else zone
    local = instant.astimezone(z)
    ref_year = (ref or instant).astimezone(z).year
    return f"{_day_label(local.date(), ref_year)} {local:%H:%M} {_abbr(local)}"


def format_preview(
    when: datetime,
    *,
    tz: str,
    now: datetime,
    windows: Sequence[MaintenanceWindow] | None = None,
) -> str:
    """``Sat 7 Mar 02:00 CST · 08:00 UTC · in 16 h 40 min`` (local time, UTC time, distance from ``now``).

    The UTC part shows its own day when the UTC date differs from the local date
    (``Fri 6 Mar 20:00 CST · Sat 7 Mar 02:00 UTC · …``), and is left out when the local time already is UTC
    (``Sat 7 Mar 16:06 UTC · in 1 d 1 h``); years appear only when not the current year. When
    ``windows`` is non-empty, `` · in maintenance window`` or `` · outside maintenance windows`` is appended
    (use :func:`check_window` for the full sentence and the policy).
    """
    zone = resolve_zone(tz)
    local = when.astimezone(zone)
    parts = [format_local(when, zone, ref=now)]
    if not (local.utcoffset() == timedelta(0) and _abbr(local) == "UTC"):
        parts.append(_utc_time(when, local.date(), now.astimezone(zone).year))
    text = " · ".join([*parts, format_relative(when - now)])
    if windows:
        text += " · in maintenance window" if in_window(when, windows) else " · outside maintenance windows"
    return text


# ----------------------------------------------------------------------------------------------------------
# Maintenance windows
# ----------------------------------------------------------------------------------------------------------

_DAY_INDEX: Final[dict[str, int]] = {
    **{n.lower(): i for i, n in enumerate(_WEEKDAY_ABBR)},
    **{n.lower(): i for i, n in enumerate(_WEEKDAY_NAME)},
    "tues": 1,
    "wednes": 2,
    "thur": 3,
    "thurs": 3,
}


@dataclass(frozen=True)
class MaintenanceWindow:
    """A weekly window: on each of ``days`` (0 = Monday … 6 = Sunday) from ``start`` to ``end``, wall time in
    ``zone`` (IANA name).

    ``end <= start`` means the window crosses midnight and ends on the next day (``Fri 22:00-02:00`` ends on
    Saturday 02:00); ``start == end`` means 24 hours (written ``00:00-24:00``).

    On a DST night each end of an occurrence is the first instant the zone's clock shows that time or later
    (:func:`_wall_reached`): a time the clocks skip is the instant they jump over it, a time they repeat is its
    first pass. An occurrence whose whole span is skipped (``Sun 02:00-03:00`` on a spring-forward night in New
    York) is empty and does not take place; "next window" and "inside a window" both see only real ones.
    """

    days: frozenset[int]
    start: time
    end: time
    zone: str

    def __post_init__(self) -> None:
        if not self.days or not all(isinstance(d, int) and 0 <= d <= 6 for d in self.days):
            raise ValueError("MaintenanceWindow.days must be a non-empty set of weekdays 0 (Mon) to 6 (Sun)")
        object.__setattr__(self, "days", frozenset(self.days))
        resolve_zone(self.zone)
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("MaintenanceWindow start/end are naive wall times in the window's zone")
        if self.start == self.end != time(0):
            raise ValueError("MaintenanceWindow start and end must differ (00:00-24:00 is written start=end=00:00)")

    @property
    def tzinfo(self) -> ZoneInfo:
        return resolve_zone(self.zone)

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def occurrence(self, day: date) -> tuple[datetime, datetime]:
        """UTC start and end of the occurrence that starts on local ``day`` (whatever its weekday); ``start ==
        end`` when the clocks skip all of it."""
        zone = self.tzinfo
        start = _wall_reached(datetime.combine(day, self.start), zone)
        end_day = day + timedelta(days=1) if self.crosses_midnight else day
        end = _wall_reached(datetime.combine(end_day, self.end), zone)
        return start, end

    def __str__(self) -> str:
        end = "24:00" if self.start == self.end == time(0) else _hm(self.end)
        return f"{_days_text(self.days)} {_hm(self.start)}-{end} {self.zone}"


@dataclass(frozen=True)
class WindowOccurrence:
    """One concrete occurrence of a window: aware UTC ``start`` (inclusive) and ``end`` (exclusive)."""

    window: MaintenanceWindow
    start: datetime
    end: datetime


class WindowPolicy(StrEnum):
    """What scheduling outside every maintenance window does."""

    WARN = "warn"
    REQUIRE_APPROVAL = "require-approval"
    BLOCK = "block"


@dataclass(frozen=True)
class WindowCheck:
    """Where an instant falls relative to the maintenance windows, and what the policy says about it.

    With no windows configured, nothing is restricted: ``inside``, ``blocked`` and ``needs_approval`` are
    all False.
    """

    inside: bool
    window: MaintenanceWindow | None
    next_start: datetime | None
    policy: WindowPolicy
    blocked: bool
    needs_approval: bool
    message: str
    window_end: datetime | None = None


def _days_text(days: Iterable[int]) -> str:
    ds = sorted(set(days))
    if len(ds) == 7:
        return "Mon-Sun"
    parts: list[str] = []
    i = 0
    while i < len(ds):
        j = i
        while j + 1 < len(ds) and ds[j + 1] == ds[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{_WEEKDAY_ABBR[ds[i]]}-{_WEEKDAY_ABBR[ds[j]]}")
        else:
            parts.extend(_WEEKDAY_ABBR[k] for k in ds[i : j + 1])
        i = j + 1
    return ",".join(parts)


def format_windows(windows: Iterable[MaintenanceWindow]) -> str:
    """The spec form, ``Sat,Sun 02:00-06:00 America/Costa_Rica; Wed 01:00-03:00 UTC``."""
    return "; ".join(str(w) for w in windows)


_RX_WINDOW = re.compile(
    r"(?P<days>[A-Za-z][A-Za-z,\-\s]*?)\s+(?P<start>\S+?)\s*-\s*(?P<end>[0-9]\S*)\s+(?P<zone>\S+)", re.ASCII
)


def _window_time(raw: str, what: str, item: str, n: int) -> tuple[time, bool]:
    m = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", raw)
    if m is None or int(m[1]) > 24 or int(m[2]) > 59 or (int(m[1]) == 24 and int(m[2]) != 0):
        raise ValueError(
            f"Maintenance window {n} ({item!r}): the {what} time {raw!r} is not HH:MM (00:00-23:59). "
            f"Expected e.g.: {WINDOWS_EXAMPLE}"
        )
    if int(m[1]) == 24:
        return time(0), True
    return time(int(m[1]), int(m[2])), False


def parse_windows(spec: str | None) -> list[MaintenanceWindow]:
    """Parse ``MAINTENANCE_WINDOWS``: ``;``-separated ``DAYS HH:MM-HH:MM ZONE`` items.

    DAYS is a comma list of day names (``Sat,Sun``; ``Mon``…``Sun`` or full names, any case), ranges
    (``Mon-Fri``, ``Fri-Mon`` wraps), or ``daily``. ZONE is an IANA name or ``UTC``. An empty/blank spec
    gives ``[]``.
    Raises ``ValueError`` naming the bad part and showing the expected form.
    """
    if spec is None or not spec.strip():
        return []
    out: list[MaintenanceWindow] = []
    items = [p.strip() for p in re.split(r"[;\n]", spec)]
    for n, item in enumerate((p for p in items if p), start=1):
        m = _RX_WINDOW.fullmatch(item)
        if m is None:
            raise ValueError(
                f"Maintenance window {n} ({item!r}) is not in the form 'DAYS HH:MM-HH:MM ZONE'. "
                f"Expected e.g.: {WINDOWS_EXAMPLE}"
            )
        days = _window_days(m["days"], item, n)
        start, start24 = _window_time(m["start"], "start", item, n)
        end, end24 = _window_time(m["end"], "end", item, n)
        if start24:
            raise ValueError(
                f"Maintenance window {n} ({item!r}): the start time cannot be 24:00. Expected e.g.: {WINDOWS_EXAMPLE}"
            )
        if start == end and not (end24 and start == time(0)):
            raise ValueError(
                f"Maintenance window {n} ({item!r}): start and end are both {_hm(start)}; a window needs a "
                f"length (use 00:00-24:00 for a whole day). Expected e.g.: {WINDOWS_EXAMPLE}"
            )
        zone_name = m["zone"]
        zone = _zoneinfo_or_none(zone_name) or (_lookup_iana(zone_name.lower()) if "/" in zone_name else None)
        if zone is None and zone_name.upper() in ("UTC", "Z", "GMT"):
            zone = ZoneInfo("UTC")
        if zone is None:
            raise ValueError(
                f"Maintenance window {n} ({item!r}): unknown time zone {zone_name!r}; "
                f"use an IANA name such as America/Costa_Rica, or UTC. Expected e.g.: {WINDOWS_EXAMPLE}"
            )
        out.append(MaintenanceWindow(frozenset(days), start, end, zone.key))
    return out


def _window_days(raw: str, item: str, n: int) -> set[int]:
    text = re.sub(r"\s+", "", raw).lower()
    if text in ("daily", "everyday", "*", "all"):
        return set(range(7))
    days: set[int] = set()
    for part in text.split(","):
        if not part:
            continue
        ends = part.split("-")
        if len(ends) > 2 or not all(e in _DAY_INDEX for e in ends):
            raise ValueError(
                f"Maintenance window {n} ({item!r}): {part!r} is not a day or a day range "
                "(use Mon, Tue, Wed, Thu, Fri, Sat, Sun, ranges like Mon-Fri, or daily). "
                f"Expected e.g.: {WINDOWS_EXAMPLE}"
            )
        a = _DAY_INDEX[ends[0]]
        b = _DAY_INDEX[ends[-1]]
        k = a
        days.add(k)
        while k != b:
            k = (k + 1) % 7
            days.add(k)
    if not days:
        raise ValueError(f"Maintenance window {n} ({item!r}) names no days. Expected e.g.: {WINDOWS_EXAMPLE}")
    return days


def _occurrences(window: MaintenanceWindow, around: datetime, first: int, last: int) -> list[WindowOccurrence]:
    """The occurrences starting on the local days ``first``..``last`` around ``around``, empty ones left out."""
    local_day = around.astimezone(window.tzinfo).date()
    out = []
    for k in range(first, last + 1):
        d = local_day + timedelta(days=k)
        if d.weekday() in window.days:
            start, end = window.occurrence(d)
            if start < end:
                out.append(WindowOccurrence(window, start, end))
    return out


def _current(instant: datetime, windows: Iterable[MaintenanceWindow]) -> WindowOccurrence | None:
    for w in windows:
        for occ in _occurrences(w, instant, -1, 0):
            if occ.start <= instant < occ.end:
                return occ
    return None


def _next(after: datetime, windows: Iterable[MaintenanceWindow]) -> WindowOccurrence | None:
    best: WindowOccurrence | None = None
    for w in windows:
        for occ in _occurrences(w, after, -1, 15):  # a skipped occurrence can push the next one a week on
            if occ.start > after:
                if best is None or occ.start < best.start:
                    best = occ
                break
    return best


def _aware(instant: datetime, name: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise TypeError(f"{name} must be an aware datetime")
    return instant.astimezone(UTC)


def in_window(instant: datetime, windows: Iterable[MaintenanceWindow] | None) -> MaintenanceWindow | None:
    """The first window (in configuration order) whose occurrence contains ``instant`` (start inclusive, end
    exclusive), or ``None``."""
    occ = _current(_aware(instant, "instant"), windows or ())
    return occ.window if occ else None


def next_window_start(after: datetime, windows: Iterable[MaintenanceWindow] | None) -> datetime | None:
    """The earliest window start strictly after ``after`` (aware UTC), or ``None`` without windows.

    If ``after`` is inside a window, this is the start of the *next* occurrence, not of the current one (which
    began in the past). Use :func:`current_or_next_window` to get the current one.
    """
    occ = _next(_aware(after, "after"), windows or ())
    return occ.start if occ else None


def current_or_next_window(instant: datetime, windows: Iterable[MaintenanceWindow] | None) -> WindowOccurrence | None:
    """The occurrence containing ``instant``, else the next one to start; ``None`` without windows."""
    ws = list(windows or ())
    instant = _aware(instant, "instant")
    return _current(instant, ws) or _next(instant, ws)


def check_window(
    instant: datetime,
    windows: Sequence[MaintenanceWindow] | None,
    policy: WindowPolicy | str = WindowPolicy.WARN,
    *,
    tz: str | None = None,
) -> WindowCheck:
    """Is ``instant`` inside a maintenance window, and what does ``policy`` say if not?

    ``message`` is one or two complete sentences, e.g. ``Inside maintenance window Sat,Sun 02:00-06:00
    America/Costa_Rica.`` or ``Outside every maintenance window; the next one starts Sat 7 Mar 02:00 CST.``
    (plus ``Scheduling outside a window needs an approval.`` / ``… is not allowed.`` for those policies).

    Times in the message are shown in ``tz`` (the person's zone) when given, else in the next window's zone.
    """
    pol = WindowPolicy(policy)
    instant = _aware(instant, "instant")
    ws = list(windows or ())
    if not ws:
        return WindowCheck(False, None, None, pol, False, False, "No maintenance windows are configured.")
    current = _current(instant, ws)
    nxt = _next(instant, ws)
    next_start = nxt.start if nxt else None
    if current is not None:
        return WindowCheck(
            True, current.window, next_start, pol, False, False,
            f"Inside maintenance window {current.window}.", current.end,
        )  # fmt: skip
    if nxt is not None:
        zone = resolve_zone(tz) if tz else nxt.window.tzinfo
        starts = format_local(nxt.start, zone, ref=instant)
        message = f"Outside every maintenance window; the next one starts {starts}"
    else:  # pragma: no cover - a configured window always recurs within a week
        message = "Outside every maintenance window"
    message += "."
    if pol is WindowPolicy.REQUIRE_APPROVAL:
        message += " Scheduling outside a window needs an approval."
    elif pol is WindowPolicy.BLOCK:
        message += " Scheduling outside a window is not allowed."
    return WindowCheck(
        False, None, next_start, pol, pol is WindowPolicy.BLOCK, pol is WindowPolicy.REQUIRE_APPROVAL, message
    )


# ----------------------------------------------------------------------------------------------------------
# Start-up
# ----------------------------------------------------------------------------------------------------------

_WARM_UP_PHRASES: Final[dict[str, str]] = {
    "en": "tomorrow at 2am",
    "es": "mañana a las 15:00",
    "fr": "demain à 15:00",
    "de": "morgen um 15:00",
    "pt": "amanhã às 15:00",
    "it": "domani alle 15:00",
}


def warm_up(languages: Sequence[str] = DEFAULT_LANGUAGES) -> None:
    """Pay dateparser's start-up costs now (import, timezone regexes, language data) instead of on a person's
    first command. Idempotent; call once at bot start with the configured languages.

    Raises ``ValueError`` for a language dateparser doesn't know (a configuration error).
    """
    langs = tuple(dict.fromkeys(languages)) or DEFAULT_LANGUAGES
    dp = _dateparser()
    _iana_lower_map()
    _grammar(langs)
    dp.pop_tz("tomorrow at 9 est")
    base = datetime(2026, 3, 6, 10, 20)
    for lang in langs:
        phrase = _WARM_UP_PHRASES.get(lang, "2026-03-07 15:00")
        dp.DateDataParser(languages=[lang], settings=_dp_settings(base, "DMY")).get_date_data(phrase)
        dp.loader.get_locale(lang)
    dp.DateDataParser(languages=list(langs), settings=_dp_settings(base, "DMY")).get_date_data("next week 3pm")
    now = datetime(2026, 3, 6, 15, 20, tzinfo=UTC)
    # In the first configured language: with WHEN_LANGUAGES=es an English phrase is (rightly) not understood.
    parse_when(_WARM_UP_PHRASES.get(langs[0], "2026-03-07 15:00"), tz="UTC", now=now, languages=langs)
