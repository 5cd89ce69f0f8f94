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
* **Device-local time.** ``02:00 device-local``, ``tomorrow 02:00 local``, ``mañana a las 2:00 hora local del
  equipo`` (:func:`split_device_local` finds the marker) are read by :func:`parse_when_local`, beside
  ``parse_when`` and with the same reading, once per device zone, the date also in that zone. There a DST
  night never refuses the phrase and is never silent: a skipped time moves to the first valid minute after the
  jump (``gap-moved``), a repeated one takes its first pass (``repeated-first``); a time of day already past
  today there is tomorrow (``next-day``) or refused (``if_past``). Windows written with the zone ``device``
  (``daily 01:00-05:00 device``) are in each device's zone (``device_zone=`` of the window functions).

How: a small deterministic grammar (regular expressions over normalised text, zoneinfo arithmetic) reads the
common forms directly and fast. What is left over must be filler words (``at``, ``on``, ``a las``…). Only when
the leftover contains a word the grammar has never heard of (another configured language, another phrasing)
is dateparser's ``DateDataParser`` asked (restricted to ``languages``, ``RELATIVE_BASE`` = naive local wall
time, ``TIMEZONE='UTC'`` so it does pure wall-clock arithmetic); its answer must agree with whatever the grammar
did read (time, day, weekday, date), is re-localised with zoneinfo (DST gap/overlap detection; elapsed vs
wall-clock decided by the phrase's units) and is checked like every other result. Leftovers made only of known
words and numbers (``and``, ``tomorrow in``, ``5 2:30``) are rejected: dateparser would happily read them.

The package (each module imports only the ones below it; of ``bot`` outside ``bot.when`` only ``bot.i18n``)
===========================================================================================================
::

    local       parse_when_local, split_device_local: device-local time, one instant per device zone
    parse       parse_when (the order of the readings, the final check), warm_up
    fallback    dateparser, lazily, for what the grammar does not know
    resolve     a reading → wall time in a zone → instant: the day and time rules, DST, durations
    refusals    the refusals resolve and parse raise (ambiguous, DST gap/overlap, not understood, horizon)
    extract     the recognisers: normalised text → a reading, and the leftover words
    reading     what was read (durations, time of day, day, weekday, date, zone)
    grammar     normalisation and the patterns compiled from the vocabulary of the active languages
    vocabulary  the words of each language (data only); DEFAULT_LANGUAGES
    device      what parse_when_local returns (LocalWhen, ZoneTime, LocalFlag) and IfPast (data only)
    preview     format_preview (local time · UTC time · distance · window)
    windows     MAINTENANCE_WINDOWS: parse_windows, in_window, next_window_start, check_window
    format      how times are written: format_local, format_relative, day labels, zone abbreviations
    zones       IANA lookup, typed zone names and offsets, date order, what a zone's clock shows (DST)
    errors      WhenError, the refusal every module raises

Every sentence a person reads (refusals, previews, distances, window checks, DST notes) is marked for translation
(:mod:`bot.i18n`, the only module outside ``bot.when`` imported here, itself importing nothing of the bot) and
written in the language current when it is built; English day and month names are written here, other languages'
come from Babel. The vocabulary of accepted words is not translated: it already reads English and Spanish.

This ``__init__`` re-exports the public names lazily (PEP 562 ``__getattr__``): ``from bot.when import parse_when``
imports the grammar, while ``bot.settings``, which imports only :mod:`bot.when.windows` and
:mod:`bot.when.vocabulary`, loads neither the grammar nor dateparser. dateparser itself is imported only by
``warm_up()`` (the bot calls it at start, so no person's first command pays for it) or by the first phrase the
grammar cannot read.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.when.device import IfPast, LocalFlag, LocalWhen, ZoneTime
    from bot.when.errors import EXAMPLES, WhenError
    from bot.when.format import format_local, format_relative
    from bot.when.local import DeviceLocalSplit, parse_when_local, split_device_local
    from bot.when.parse import DEFAULT_HORIZON, MAX_TEXT_LENGTH, parse_when, warm_up
    from bot.when.preview import format_preview
    from bot.when.vocabulary import DEFAULT_LANGUAGES
    from bot.when.windows import (
        DEVICE_ZONE,
        WINDOWS_EXAMPLE,
        MaintenanceWindow,
        WindowCheck,
        WindowOccurrence,
        WindowPolicy,
        check_window,
        current_or_next_window,
        format_windows,
        has_device_windows,
        in_window,
        next_window,
        next_window_start,
        parse_windows,
        resolve_windows,
    )
    from bot.when.zones import date_order_for_locale, default_date_order, resolve_zone

# Public name → the module that defines it.
_EXPORTS: dict[str, str] = {
    "DEFAULT_HORIZON": "parse",
    "DEFAULT_LANGUAGES": "vocabulary",
    "DEVICE_ZONE": "windows",
    "EXAMPLES": "errors",
    "MAX_TEXT_LENGTH": "parse",
    "WINDOWS_EXAMPLE": "windows",
    "DeviceLocalSplit": "local",
    "IfPast": "device",
    "LocalFlag": "device",
    "LocalWhen": "device",
    "MaintenanceWindow": "windows",
    "WhenError": "errors",
    "WindowCheck": "windows",
    "WindowOccurrence": "windows",
    "WindowPolicy": "windows",
    "ZoneTime": "device",
    "check_window": "windows",
    "current_or_next_window": "windows",
    "date_order_for_locale": "zones",
    "default_date_order": "zones",
    "format_local": "format",
    "format_preview": "preview",
    "format_relative": "format",
    "format_windows": "windows",
    "has_device_windows": "windows",
    "in_window": "windows",
    "next_window": "windows",
    "next_window_start": "windows",
    "parse_when": "parse",
    "parse_when_local": "local",
    "parse_windows": "windows",
    "resolve_windows": "windows",
    "resolve_zone": "zones",
    "split_device_local": "local",
    "warm_up": "parse",
}

__all__ = [
    "DEFAULT_HORIZON",
    "DEFAULT_LANGUAGES",
    "DEVICE_ZONE",
    "EXAMPLES",
    "MAX_TEXT_LENGTH",
    "WINDOWS_EXAMPLE",
    "DeviceLocalSplit",
    "IfPast",
    "LocalFlag",
    "LocalWhen",
    "MaintenanceWindow",
    "WhenError",
    "WindowCheck",
    "WindowOccurrence",
    "WindowPolicy",
    "ZoneTime",
    "check_window",
    "current_or_next_window",
    "date_order_for_locale",
    "default_date_order",
    "format_local",
    "format_preview",
    "format_relative",
    "format_windows",
    "has_device_windows",
    "in_window",
    "next_window",
    "next_window_start",
    "parse_when",
    "parse_when_local",
    "parse_windows",
    "resolve_windows",
    "resolve_zone",
    "split_device_local",
    "warm_up",
]


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use, and keep the name here for the next one."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
