"""Resolution: what was read → wall time in a zone → an aware UTC instant.

The rules of the module docstring of :mod:`bot.when` live here: future-preferring days and weekdays, am/pm from a
part of the day, ambiguous hours and midnights refused, durations as elapsed time (hours) or wall-clock time
(days and longer), and DST: a time the clocks repeat or skip is read with :func:`localize`, which refuses it
while both readings (or the jump) are still ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import NoReturn
from zoneinfo import ZoneInfo

from bot.i18n import _
from bot.when.errors import WhenError
from bot.when.format import day_label, month_abbr, month_name, weekday_name
from bot.when.reading import Reading
from bot.when.refusals import (
    ambiguous_hour,
    conflict,
    gap_error,
    month_only_error,
    not_understood,
    overlap_error,
    too_far,
)
from bot.when.windows import MaintenanceWindow
from bot.when.zones import LocalNotes, device_instant, still_ahead, wall_readings


@dataclass(frozen=True)
class Ctx:
    """What a phrase is read against: the moment, the person's zone and the configured limits.

    With ``notes`` (device-local reading: ``user_zone`` is then the device's zone) a DST gap or overlap is not
    refused but resolved (:func:`device_instant`) and written down in ``notes``.
    """

    now: datetime  # aware UTC
    user_zone: ZoneInfo
    user_tz: str
    horizon: timedelta
    languages: tuple[str, ...]
    date_order: str
    windows: tuple[MaintenanceWindow, ...] | None
    notes: LocalNotes | None = None


def time_of_day(r: Reading) -> time | None:
    """The clock time the reading names (``None`` if none), applying am/pm and parts of the day."""
    if r.midnight:
        if r.pod in ("morning", "afternoon", "evening"):
            raise conflict(r.pod_text, r.time_text)
        return time(0, 0)
    if r.hour is None:
        return None
    h, pod, ap = r.hour, r.pod, r.meridiem
    text = " ".join(t for t in (r.time_text, r.pod_text) if t)
    if ap is not None:
        if h > 12 or h == 0:
            if ap == "am" or h == 0:
                raise WhenError(
                    _("“{text}” is not a valid time; type “{time}” without am/pm.").format(
                        text=r.time_text, time=f"{h:02d}:{r.minute:02d}"
                    ),
                    reason="invalid_time",
                )
            return time(h, r.minute, r.second)  # "13:00pm": redundant but clear
        if (pod in ("morning", "early") and ap == "pm") or (pod in ("afternoon", "evening") and ap == "am"):
            raise conflict(r.time_text, r.pod_text)
        if pod == "night" and ap == "am" and h not in (12, 1, 2, 3, 4):
            raise conflict(r.time_text, r.pod_text)
        h = (0 if h == 12 else h) if ap == "am" else (12 if h == 12 else h + 12)
        return time(h, r.minute, r.second)
    if pod is None:
        if r.has_minutes or h == 0 or 13 <= h <= 23:
            return time(h, r.minute, r.second)
        raise ambiguous_hour(h, r.time_text)
    # a part of the day decides am/pm
    if r.noon:
        if pod != "afternoon":
            raise conflict(r.time_text, r.pod_text)
        return time(12, 0)
    if pod in ("morning", "early"):
        if h == 12:
            raise ambiguous_hour(12, text)
        if h >= (12 if pod == "morning" else 7):
            raise conflict(r.time_text, r.pod_text)
        return time(h, r.minute, r.second)
    if pod in ("afternoon", "evening"):
        if h == 0:
            raise conflict(r.time_text, r.pod_text)
        return time(h + 12 if h < 12 else h, r.minute, r.second)
    # night: 18-23 and 0-4; a 12-hour clock hour 5-11 is pm, 12 is midnight
    if h == 12:
        return time(0, r.minute, r.second)
    if 5 <= h <= 11:
        return time(h + 12, r.minute, r.second)
    if 13 <= h <= 17:
        raise conflict(r.time_text, r.pod_text)
    return time(h, r.minute, r.second)


def _ahead(wall: datetime, zone: tzinfo, ctx: Ctx) -> bool:
    """Is ``wall`` still ahead: by the person's rules (:func:`still_ahead`), or, read in a device's zone, by the
    instant :func:`device_instant` gives it."""
    if ctx.notes is not None:
        return device_instant(wall, zone) > ctx.now
    return still_ahead(wall, zone, ctx.now)


def localize(wall: datetime, zone: tzinfo, now: datetime, notes: LocalNotes | None = None) -> datetime:
    """Wall time in ``zone`` → aware UTC, for a person speaking at ``now``; with ``notes`` (a device's zone),
    :func:`device_instant`.

    A time the clocks repeat is the one reading still ahead when only one is (at 01:15 EST, the second
    pass, “01:30” can only mean the 01:30 EST to come); with both ahead it is refused, naming both. With both
    passed the later one is returned and the caller's check calls it past. A time the clocks skip is
    refused, with the alternatives still ahead.
    """
    if notes is not None:
        return device_instant(wall, zone, notes)
    readings = wall_readings(wall, zone)
    if len(readings) == 1:
        return readings[0]
    if not readings:
        raise gap_error(wall, zone, now)
    ahead = [u for u in readings if u > now]
    if len(ahead) < len(readings):
        return ahead[0] if ahead else readings[-1]
    raise overlap_error(wall, zone, readings)


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


def resolve_reading(r: Reading, ctx: Ctx) -> datetime:
    """The instant a reading with no leftover means (checked against ``now`` and the horizon by the caller)."""
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
    tod = time_of_day(r)
    if r.has_duration:
        return _after_duration(r, ctx, zone, local_now, tod)
    if tod is None:
        _refuse_without_time(r, ctx, today, zone)
    if r.month_only:
        raise month_only_error(r.month_only)
    day = _midnight_day(r, ctx, today, zone) if r.midnight else _day_for_time(r, ctx, today, tod, zone)
    return localize(datetime.combine(day, tod), zone, ctx.now, ctx.notes)


def _after_duration(r: Reading, ctx: Ctx, zone: tzinfo, local_now: datetime, tod: time | None) -> datetime:
    """``in 2 hours`` (elapsed), ``in 2 days`` (wall clock), ``in 2 days at 3pm``, ``2 hours ago``."""
    for other, text in (
        (r.any_day(), r.day_text or r.weekday_text or r.date_text),
        (r.midnight, r.time_text),
        (bool(r.month_only), r.month_only),
    ):
        if other:
            raise conflict(r.duration_text, text)
    sign = -1 if r.past else 1
    try:
        if r.years or r.months or r.days:
            wall = _add_months(local_now.replace(tzinfo=None), sign * (r.years * 12 + r.months))
            wall += timedelta(days=sign * r.days)
            if tod is None and r.pod is not None:
                raise WhenError(
                    _("“{text}” is not an exact time. Type the time, e.g. “{duration} at 09:00”.").format(
                        text=r.pod_text, duration=r.duration_text
                    ),
                    reason="vague",
                )
            if tod is not None:
                if r.elapsed:
                    raise conflict(r.duration_text, r.time_text)
                wall = datetime.combine(wall.date(), tod)
            instant = localize(wall, zone, ctx.now, ctx.notes) + sign * r.elapsed
        else:
            if tod is not None or r.pod is not None:
                raise conflict(r.duration_text, r.time_text or r.pod_text)
            instant = ctx.now + sign * r.elapsed
    except OverflowError:
        raise too_far(r.duration_text, ctx.horizon) from None
    return instant


def _refuse_without_time(r: Reading, ctx: Ctx, today: date, zone: tzinfo) -> NoReturn:
    """A day, a part of the day or a month, but no time of day: say what was read and what to add."""
    if r.any_day():
        d = _day_of(r, ctx, today, None, zone)
        what = r.day_text or r.weekday_text or r.date_text
        label = day_label(d, today.year) if d else what
        if r.pod is not None:
            phrase = what if what == r.pod_text else f"{what} {r.pod_text}"
            raise WhenError(
                _("“{text}” is not an exact time. Type the time too, e.g. “{day} 09:00”.").format(
                    text=phrase, day=what
                ),
                understood=label,
                reason="vague",
            )
        raise WhenError(
            _(
                "I read “{text}” as {day} but there is no time of day. Add one, e.g. “{text} 02:00” or “{text} 2am”."
            ).format(text=what, day=label),
            understood=label,
            reason="no_time",
        )
    if r.pod is not None:
        raise WhenError(
            _("“{text}” is not an exact time. Type the time, e.g. “tomorrow 09:00” or “9pm”.").format(text=r.pod_text),
            understood=r.pod_text,
            reason="vague",
        )
    if r.month_only:
        raise month_only_error(r.month_only)
    raise not_understood(None)


def _midnight_day(r: Reading, ctx: Ctx, today: date, zone: tzinfo) -> date:
    """Midnight alone is the next 00:00; with a named day it could be that day's start or end, so it is refused."""
    if (r.day_offset is not None and not (r.day_offset == 0)) or r.weekday is not None or r.date_parts or r.dom:
        what = r.day_text or r.weekday_text or r.date_text
        d = _day_of(r, ctx, today, None, zone)
        if d is not None:
            nxt = d + timedelta(days=1)
            label = day_label(d, today.year)
            raise WhenError(
                _("“{text}” could be the start or the end of {day}. Type “{start}” (start) or “{end}” (end).").format(
                    text=f"{what} {r.time_text}",
                    day=label,
                    start=f"{d.isoformat()} 00:00",
                    end=f"{nxt.isoformat()} 00:00",
                ),
                understood=_("midnight of {day}").format(day=label),
                reason="ambiguous_midnight",
            )
        raise not_understood(None)
    return today + timedelta(days=1)  # the next midnight, also for "today/tonight at midnight"


def _day_for_time(r: Reading, ctx: Ctx, today: date, tod: time, zone: tzinfo) -> date:
    """The local day of a time of day: the day named, else today if the time is still ahead, else tomorrow."""
    d = _day_of(r, ctx, today, tod, zone)
    if d is None:
        d = today if _ahead(datetime.combine(today, tod), zone, ctx) else today + timedelta(days=1)
        if d != today and ctx.notes is not None:
            ctx.notes.next_day = True
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
            _(
                "“{text}”: is that the night before or after? Type the hour as 24-hour time with the date, e.g. "
                "“{example}”."
            ).format(
                text=f"{r.day_text or r.weekday_text or r.date_text} {r.time_text} {r.pod_text}",
                example=f"{today.isoformat()} {r.hour:02d}:00",
            ),
            reason="ambiguous_hour",
        )
    return d


def _day_of(r: Reading, ctx: Ctx, today: date, tod: time | None, zone: tzinfo) -> date | None:
    """The local date the reading names (``None`` when only a time was given)."""
    chosen = _named_date(r, today)
    if r.weekday is None:
        return chosen
    if chosen is not None:
        if chosen.weekday() != r.weekday:
            raise WhenError(
                _(
                    "“{weekday}” and “{date}” don't match: {day} is a {weekday_name}. Type one of them, e.g. "
                    "“{example}”."
                ).format(
                    weekday=r.weekday_text,
                    date=r.date_text or r.day_text,
                    day=day_label(chosen, today.year),
                    weekday_name=weekday_name(chosen.weekday()),
                    example=f"{chosen.isoformat()} 02:00",
                ),
                understood=day_label(chosen, today.year),
                reason="conflict",
            )
        return chosen
    start = 1 if r.weekday_mode == "next" else 0
    for k in range(start, start + 14):
        cand = today + timedelta(days=k)
        if cand.weekday() != r.weekday:
            continue
        if (
            r.weekday_mode in ("bare", "coming")
            and tod is not None
            and not _ahead(datetime.combine(cand, tod), zone, ctx)
        ):
            continue
        return cand
    return None


def _named_date(r: Reading, today: date) -> date | None:
    """The date of a written date, a day of the month or a day word (``tomorrow``); ``None`` without one."""
    if r.date_parts is not None:
        year, month, day_ = r.date_parts
        if year is not None:
            return valid_date(year, month, day_, r.date_text)
        return _date_without_year(month, day_, r.date_text, today)
    if r.dom is not None:
        return _day_of_month(r.dom, r.date_text, today)
    if r.day_offset is not None:
        return today + timedelta(days=r.day_offset)
    return None


def _date_without_year(month: int, day_: int, text: str, today: date) -> date:
    """This year's date if that is today or later, otherwise next year's (29 Feb: the next year that has it)."""
    # the year it is read in names the year in an error ("Feb 30" said in March is next February's)
    first_year = today.year + (1 if (month, day_) < (today.month, today.day) else 0)
    first_error: WhenError | None = None
    for y in range(first_year, first_year + 9):
        try:
            cand = valid_date(y, month, day_, text)
        except WhenError as exc:
            first_error = first_error or exc
            if not (month == 2 and day_ == 29):
                raise
            continue
        if cand >= today:
            return cand
    raise first_error or not_understood(None)


def _day_of_month(dom: int, text: str, today: date) -> date | None:
    """``the 20th``: this month's, or the next month's that has that day and is not past."""
    if not 1 <= dom <= 31:
        raise WhenError(
            _("“{text}”: months have days 1 to 31; e.g. “the 20th at 9am”.").format(text=text), reason="invalid_date"
        )
    y, m = today.year, today.month
    for _month in range(13):
        if dom <= _days_in_month(y, m):
            cand = date(y, m, dom)
            if cand >= today:
                return cand
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return None


def valid_date(year: int, month: int, day_: int, text: str) -> date:
    if not 1 <= month <= 12:
        raise WhenError(
            _("“{text}” has no valid month; e.g. “2026-03-10 14:00”.").format(text=text), reason="invalid_date"
        )
    try:
        return date(year, month, day_)
    except ValueError:
        if 1 <= year <= 9999 and day_ >= 1:
            last = _days_in_month(year, month)
            raise WhenError(
                _(
                    "{month} {year} has no day {day} (it has {last} days). Check the date, e.g. “{abbr} {last} 14:00”."
                ).format(month=month_name(month), year=year, day=day_, last=last, abbr=month_abbr(month)),
                understood=_("{month} {day}").format(month=month_name(month), day=day_),
                reason="invalid_date",
            ) from None
        raise WhenError(
            _("“{text}” is not a valid date; e.g. “2026-03-10 14:00”.").format(text=text), reason="invalid_date"
        ) from None
