"""How times are written for people: ``Sat 7 Mar 02:00 CST``, ``08:00 UTC``, ``in 16 h 40 min``.

Day and month names, zone abbreviations (numeric ones as ``UTC-03``) and relative distances, in the reader's
language (:func:`bot.i18n.current_language`): English is written by the code below, as it always was; another
language takes its day and month names from Babel's CLDR data (``sáb 7 mar 02:00 CST``) and its words from the
catalogue. Pure functions; the preview of a parsed time (which also says whether it is in a maintenance window) is
in :mod:`bot.when.preview`, above the windows.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Final

from bot.i18n import DEFAULT_LANGUAGE, _, babel_locale, current_language
from bot.when.zones import resolve_zone

WEEKDAY_ABBR: Final[tuple[str, ...]] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAY_NAME: Final[tuple[str, ...]] = (
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
)  # fmt: skip
MONTH_ABBR: Final[tuple[str, ...]] = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip
MONTH_NAME: Final[tuple[str, ...]] = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def date_locale() -> str | None:
    """The Babel locale that writes day and month names for the current reader; ``None`` for English, which the
    functions here write themselves (byte for byte as before there were other languages)."""
    language = current_language()
    return None if language == DEFAULT_LANGUAGE else babel_locale(language)


def _babel_date(d: date, pattern: str, locale: str) -> str:
    from babel.dates import format_date  # lazily: an English-only process never loads the CLDR data

    return format_date(d, pattern, locale=locale)


def weekday_name(index: int) -> str:
    """``Saturday`` (0 = Monday), in the reader's language."""
    locale = date_locale()
    if locale is None:
        return WEEKDAY_NAME[index]
    return _babel_date(date(2024, 1, 1) + timedelta(days=index), "EEEE", locale)  # 2024-01-01 was a Monday


def weekday_abbr(index: int) -> str:
    """``Sat`` (0 = Monday), in the reader's language."""
    locale = date_locale()
    if locale is None:
        return WEEKDAY_ABBR[index]
    return _babel_date(date(2024, 1, 1) + timedelta(days=index), "EEE", locale)


def month_name(month: int) -> str:
    """``March`` (1 = January), in the reader's language."""
    locale = date_locale()
    return MONTH_NAME[month - 1] if locale is None else _babel_date(date(2024, month, 1), "LLLL", locale)


def month_abbr(month: int) -> str:
    """``Mar`` (1 = January), in the reader's language."""
    locale = date_locale()
    return MONTH_ABBR[month - 1] if locale is None else _babel_date(date(2024, month, 1), "LLL", locale)


def hm_text(t: time) -> str:
    """``02:00``."""
    return f"{t.hour:02d}:{t.minute:02d}"


def zone_abbr(dt: datetime) -> str:
    """The zone abbreviation of an aware datetime; numeric ones (``-03``) as ``UTC-03``."""
    name = dt.tzname() or ""
    m = re.fullmatch(r"([+-])([0-9]{2})([0-9]{2})?", name)
    if m:
        return f"UTC{m[1]}{m[2]}" + (f":{m[3]}" if m[3] else "")
    return name or "UTC"


def zone_text(zone: tzinfo) -> str:
    """The IANA name of a zone (``America/New_York``), or the name of a fixed one."""
    return getattr(zone, "key", None) or str(zone)


def offset_text(dt: datetime) -> str:
    """``UTC-05:00``: the offset of an aware datetime."""
    off = dt.utcoffset() or timedelta(0)
    total = int(off.total_seconds() // 60)
    sign = "-" if total < 0 else "+"
    hh, mm = divmod(abs(total), 60)
    return f"UTC{sign}{hh:02d}:{mm:02d}"


def wall_day(wall: datetime) -> str:
    """``Sun 8 Mar 2026``, always with the year."""
    locale = date_locale()
    if locale is not None:
        return _babel_date(wall.date(), "EEE d MMM y", locale)
    return f"{WEEKDAY_ABBR[wall.weekday()]} {wall.day} {MONTH_ABBR[wall.month - 1]} {wall.year}"


def utc_time(instant: datetime, local_day: date, ref_year: int | None = None) -> str:
    """``08:00 UTC``, with the UTC day in front when it is not ``local_day`` (``Sat 7 Mar 02:00 UTC``)."""
    utc = instant.astimezone(UTC)
    if utc.date() == local_day:
        return f"{utc:%H:%M} UTC"
    return f"{day_label(utc.date(), local_day.year if ref_year is None else ref_year)} {utc:%H:%M} UTC"


def day_label(d: date, ref_year: int) -> str:
    """``Sat 7 Mar``, with the year when it is not ``ref_year``."""
    locale = date_locale()
    if locale is not None:
        return _babel_date(d, "EEE d MMM y" if d.year != ref_year else "EEE d MMM", locale)
    year = f" {d.year}" if d.year != ref_year else ""
    return f"{WEEKDAY_ABBR[d.weekday()]} {d.day} {MONTH_ABBR[d.month - 1]}{year}"


def format_relative(delta: timedelta, *, suffix: bool = True) -> str:
    """``in 16 h 40 min``, ``in 5 min``, ``in 3 d 2 h``, ``in 40 s``; ``… ago`` if negative; ``now`` at 0.

    Rounded to the nearest unit shown (minutes below a day, hours from a day up). ``suffix=False`` gives just
    the amount (``16 h 40 min``).
    """
    secs = delta.total_seconds()
    a = abs(secs)
    if a < 0.5:
        return _("now") if suffix else "0 s"
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
    return _("in {amount}").format(amount=amount) if secs > 0 else _("{amount} ago").format(amount=amount)


def format_local(instant: datetime, zone: tzinfo | str, *, ref: datetime | None = None) -> str:
    """``Sat 7 Mar 02:00 CST``: the instant in ``zone``; the year is shown when it differs from ``ref``'s."""
    z = resolve_zone(zone) if isinstance(zone, str) else zone
    local = instant.astimezone(z)
    ref_year = (ref or instant).astimezone(z).year
    return f"{day_label(local.date(), ref_year)} {local:%H:%M} {zone_abbr(local)}"
