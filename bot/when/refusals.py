"""The refusals the resolution raises, worded once: conflicting parts, ambiguous hours, DST gaps and overlaps, a
month alone, what was not understood, and the horizon ("365 days", "in 3 days").

Every sentence is in the reader's language (:mod:`bot.i18n`); the examples in them are phrases that language's
vocabulary reads. Below :mod:`bot.when.resolve` (which raises most of them) and :mod:`bot.when.parse`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo

from bot.i18n import N_, _, ngettext
from bot.when.errors import EXAMPLES, WhenError
from bot.when.format import format_relative, offset_text, utc_time, wall_day, zone_abbr, zone_text
from bot.when.zones import wall_reached


def conflict(a: str, b: str) -> WhenError:
    return WhenError(
        _("“{a}” and “{b}” don't go together. Type one time, e.g. “tomorrow 15:00” or “in 2 hours”.").format(a=a, b=b),
        reason="conflict",
    )


def ambiguous_hour(h: int, text: str) -> WhenError:
    if h == 12:
        return WhenError(
            _(
                "“{text}” could be noon or midnight. Type “12:00” (noon) or “00:00” (midnight), e.g. “tomorrow 12:00”."
            ).format(text=text),
            understood=_("{text} ({first} or {second})").format(text=text, first="12:00", second="00:00"),
            reason="ambiguous_hour",
        )
    am, pm = f"{h:02d}:00", f"{h + 12:02d}:00"
    return WhenError(
        _("“{text}” could be {am} or {pm}. Type “{hour}am”, “{hour}pm” or 24-hour time such as “{pm}”.").format(
            text=text, am=am, pm=pm, hour=h
        ),
        understood=_("{text} ({first} or {second})").format(text=text, first=am, second=pm),
        reason="ambiguous_hour",
    )


def gap_error(wall: datetime, zone: tzinfo, now: datetime) -> WhenError:
    """``wall`` does not exist in ``zone``: suggest the times just before and after the jump still ahead."""
    name, day, hm = zone_text(zone), wall_day(wall), f"{wall:%H:%M}"
    # fold=1 reads the wall time with the offset after the jump (an instant before it), fold=0 with the one before
    before, after = (wall.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (1, 0))
    jump = format_relative(after - before, suffix=False)
    options = [f"“{u.astimezone(zone):%Y-%m-%d %H:%M}”" for u in (before, after) if u > now]
    understood = _("{time} on {day} ({zone})").format(time=hm, day=day, zone=name)
    if not options or wall_reached(wall, zone) <= now:
        return WhenError(
            _(
                "{time} was skipped on {day} in {zone} (the clocks jumped forward {jump}), so it has passed. Type a "
                "time in the future, e.g. “tomorrow {time}”."
            ).format(time=hm, day=day, zone=name, jump=jump),
            understood=understood,
            reason="past",
        )
    if len(options) == 1:
        message = _(
            "{time} does not exist on {day} in {zone}: the clocks jump forward {jump} that night. Type {option} "
            "instead."
        )
    else:
        message = _(
            "{time} does not exist on {day} in {zone}: the clocks jump forward {jump} that night. Type {option} or "
            "{other} instead."
        )
    return WhenError(
        message.format(time=hm, day=day, zone=name, jump=jump, option=options[0], other=options[-1]),
        understood=understood,
        reason="dst_gap",
    )


def overlap_error(wall: datetime, zone: tzinfo, readings: tuple[datetime, ...]) -> WhenError:
    """``wall`` happens twice in ``zone`` and both are ahead: name both, each with a zone that picks it."""
    first, second = (u.astimezone(zone) for u in readings)
    name, day, iso_day, hm = zone_text(zone), wall_day(wall), wall.date().isoformat(), f"{wall:%H:%M}"
    a1, a2 = zone_abbr(first), zone_abbr(second)
    if a1 == a2 or not a1.isalpha() or not a2.isalpha():
        a1, a2 = offset_text(first), offset_text(second)
    return WhenError(
        _(
            "{time} happens twice on {day} in {zone} (the clocks go back that night). Add the zone to pick one: "
            "“{first}” (the first, {first_utc}) or “{second}” (the second, {second_utc})."
        ).format(
            time=hm,
            day=day,
            zone=name,
            first=f"{iso_day} {hm} {a1}",
            first_utc=utc_time(readings[0], wall.date()),
            second=f"{iso_day} {hm} {a2}",
            second_utc=utc_time(readings[1], wall.date()),
        ),
        understood=_("{time} on {day} ({zone})").format(time=hm, day=day, zone=name),
        reason="dst_overlap",
    )


def month_only_error(text: str) -> WhenError:
    return WhenError(
        _("“{text}” needs a day and a time, e.g. “{text} 10 14:00”.").format(text=text),
        understood=text,
        reason="month_only",
    )


def not_understood(words: Sequence[str] | None) -> WhenError:
    if words:
        return WhenError(
            _("I couldn't understand “{text}”. Type only the time, e.g. {examples}.").format(
                text=" ".join(words), examples=_(EXAMPLES)
            ),
            reason="not_understood",
        )
    return WhenError(
        _("I couldn't find a time in that. Type when, e.g. {examples}.").format(examples=_(EXAMPLES)),
        reason="not_understood",
    )


def horizon_text(horizon: timedelta) -> str:
    """``365 days``, ``1 day``, or ``12 h`` for a horizon that is not whole days."""
    if horizon.total_seconds() % 86400 == 0:
        days = int(horizon.total_seconds() // 86400)
        return ngettext("{count} day", "{count} days", days).format(count=days)
    return format_relative(horizon, suffix=False)


def horizon_example(horizon: timedelta) -> str:
    """A duration to suggest that is well inside ``horizon`` (“in 3 days” for the default year)."""
    for days, phrase in ((4, N_("in 3 days")), (2, N_("in 1 day"))):
        if horizon >= timedelta(days=days):
            return _(phrase)
    for hours, phrase in ((6, N_("in 3 hours")), (2, N_("in 1 hour"))):
        if horizon >= timedelta(hours=hours):
            return _(phrase)
    return _("in {count} min").format(count=max(1, int(horizon.total_seconds() // 120)))


def too_far(text: str, horizon: timedelta) -> WhenError:
    return WhenError(
        _(
            "“{text}” is far beyond how far ahead you can schedule. Pick a time within the next {horizon}, e.g. "
            "“{example}”."
        ).format(text=text, horizon=horizon_text(horizon), example=horizon_example(horizon)),
        reason="beyond_horizon",
    )
