"""Extraction: the recognisers that read a normalised phrase into a :class:`~bot.when.reading.Reading`.

Each recogniser removes what it understood (leaving :data:`GAP`); what is left must be filler words. The order
matters and is fixed: the zone first (:func:`pop_zone`), then durations, days and parts of the day, weekdays,
dates, clock times, a month alone. Nothing here decides what instant the reading means: :mod:`bot.when.resolve`
does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, timedelta, tzinfo
from typing import Final
from zoneinfo import ZoneInfo

from bot.i18n import _
from bot.when.errors import TooFar, WhenError
from bot.when.grammar import (
    RX_AMPM,
    RX_H_MM,
    RX_H_ONLY,
    RX_HHMM,
    RX_NUMERIC_DATE,
    RX_YMD,
    RX_ZONE_ABBR,
    RX_ZONE_GENERIC,
    RX_ZONE_IANA,
    RX_ZONE_MILITARY,
    RX_ZONE_TIME_OFFSET,
    RX_ZONE_UTC,
    RX_ZONE_UTC_OFFSET,
    RX_ZONE_Z,
    Grammar,
    phrase_key,
)
from bot.when.reading import Reading, ZoneFound
from bot.when.zones import ABBREVIATIONS, GENERIC_ZONES, lookup_iana, offset_zone

# What a recogniser leaves where it removed text: keeps the words on either side from joining up
# ("2:30 tomorrow pm" must not become "2:30 pm").
GAP: Final[str] = " | "


def pop_zone(s: str) -> tuple[str, ZoneFound | None]:
    """Remove a named zone from normalised text; at most one zone may be named."""
    found: list[ZoneFound] = []

    def take(zone: tzinfo, label: str, text: str) -> None:
        found.append(ZoneFound(zone, label, text.strip()))

    def sub_utc_offset(m: re.Match[str]) -> str:
        take(offset_zone(m[1], m[2], m[3], m[0]), "", m[0])
        return GAP

    def sub_time_offset(m: re.Match[str]) -> str:
        take(offset_zone(m["s"], m["h"], m["m"], m[0][len(m["t"]) :]), "", m[0][len(m["t"]) :])
        return m["t"] + GAP

    def sub_military(m: re.Match[str]) -> str:
        take(UTC, "UTC", "Z")
        return f" {m[1]}:{m[2]} "

    def sub_utc(m: re.Match[str]) -> str:
        take(UTC, "UTC", m[0])
        return GAP

    def sub_abbr(m: re.Match[str]) -> str:
        zone = ABBREVIATIONS[m[1]]
        take(zone, zone.tzname(None) or m[1].upper(), m[0])
        return GAP

    def sub_generic(m: re.Match[str]) -> str:
        key = m[1] or m[2]
        take(ZoneInfo(GENERIC_ZONES[key]), GENERIC_ZONES[key], m[0])
        return GAP

    def sub_iana(m: re.Match[str]) -> str:
        zone = lookup_iana(m[1])
        if zone is None:
            raise WhenError(
                _(
                    "I don't know the time zone “{zone}”. Use UTC, an offset such as “UTC+3”, or an IANA name such "
                    "as “America/Costa_Rica”, e.g. “tomorrow 02:00 America/Costa_Rica”."
                ).format(zone=m[1]),
                reason="unknown_zone",
            )
        take(zone, zone.key, m[0])
        return GAP

    s = RX_ZONE_IANA.sub(sub_iana, s)
    s = RX_ZONE_UTC_OFFSET.sub(sub_utc_offset, s)
    s = RX_ZONE_TIME_OFFSET.sub(sub_time_offset, s)
    s = RX_ZONE_MILITARY.sub(sub_military, s)
    s = RX_ZONE_Z.sub(sub_utc, s)
    s = RX_ZONE_UTC.sub(sub_utc, s)
    s = RX_ZONE_ABBR.sub(sub_abbr, s)
    s = RX_ZONE_GENERIC.sub(sub_generic, s)
    if len(found) > 1:
        names = f"“{found[0].text}”"
        for f in found[1:]:
            names = _("{first} and {second}").format(first=names, second=f"“{f.text}”")
        raise WhenError(
            _("I found two time zones, {zones}. Name at most one, e.g. “tomorrow 14:00 UTC”.").format(zones=names),
            reason="conflict",
        )
    return s, (found[0] if found else None)


def _amount(raw: str, g: Grammar) -> float:
    key = phrase_key(raw)
    if key in g.numbers:
        return float(g.numbers[key])
    return float(key.replace(",", "."))


_MAX_UNITS: Final[dict[str, float]] = {
    "seconds": 1e9, "minutes": 1e8, "hours": 1e7, "days": 1e6, "weeks": 1e5, "months": 1e4, "years": 1e3,
}  # fmt: skip


def _add_duration(r: Reading, body: str, g: Grammar, text: str) -> None:
    if r.has_duration:
        raise WhenError(
            _("I found two durations, “{first}” and “{second}”. Type one, e.g. “in 3 hours”.").format(
                first=r.duration_text, second=text
            ),
            reason="conflict",
        )
    r.has_duration, r.duration_text = True, text
    seconds = 0.0
    for m in g.dur_pair.finditer(body):
        if m["hm"]:
            seconds += int(m["hh"]) * 3600 + int(m["mm"]) * 60
            if int(m["mm"]) > 59:
                raise WhenError(
                    _("“{text}” is not a valid duration; e.g. “in 2h30”.").format(text=m["hm"]), reason="invalid_time"
                )
            continue
        amount = _amount(m["amt"] or m["wamt"], g)
        if m.groupdict().get("half"):
            amount += 0.5
        unit = g.units.get(phrase_key(m["unit"])) or {"s": "seconds", "m": "minutes", "h": "hours", "d": "days",
                                                "w": "weeks"}[phrase_key(m["unit"])]  # fmt: skip
        if amount > _MAX_UNITS[unit]:
            raise TooFar(text)  # parse_when words it with the horizon it knows
        if unit in ("years", "months"):
            if amount != int(amount):
                raise WhenError(
                    _("“{text}”: use whole months or years, or say it in days, e.g. “in 45 days”.").format(text=text),
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


_Handler = Callable[[re.Match[str]], bool | None]


class _Extraction:
    """One pass of the recognisers over normalised text. Each step applies some recognisers in a fixed order;
    each recogniser fills the reading and cuts out what it understood, leaving :data:`GAP`."""

    def __init__(self, g: Grammar, r: Reading, date_order: str) -> None:
        self.g, self.r, self.date_order = g, r, date_order

    @staticmethod
    def run(rx: re.Pattern[str] | None, handler: _Handler, s: str) -> str:
        """Apply ``handler`` to each match and cut the match out, unless the handler returns False."""
        if rx is None:
            return s

        def sub(m: re.Match[str]) -> str:
            return m[0] if handler(m) is False else GAP

        return rx.sub(sub, s)

    # --- durations: "in 2 hours", "2 hours from now", "2 hours ago", "hace 2 horas", or the whole text "2 hours"

    def durations(self, s: str) -> str:
        g, run = self.g, self.run
        s = run(g.dur_prefix, self._duration, s)
        s = run(g.dur_suffix, self._duration, s)
        s = run(g.dur_ago_suffix, self._duration_ago, s)
        s = run(g.dur_ago_prefix, self._duration_ago, s)
        whole = s.replace("|", " ").strip()
        if g.dur_bare.match(whole) and not re.fullmatch(r"[0-9]+\s*h(?:[0-9]{1,2})?", whole):
            s = run(g.dur_bare, self._duration, whole)
        return s

    def _duration(self, m: re.Match[str]) -> None:
        _add_duration(self.r, m["body"], self.g, m[0])

    def _duration_ago(self, m: re.Match[str]) -> None:
        _add_duration(self.r, m["body"], self.g, m[0])
        self.r.past = True

    # --- days and parts of the day

    def days(self, s: str) -> str:
        g, run = self.g, self.run
        # "pasado mañana" before "mañana"; the Spanish parts of day ("de la mañana") before the day "mañana"
        s = run(g.rx_day_pod, self._day_pod, s)
        s = run(g.rx_day_long, self._day, s)
        s = run(g.rx_pod, self._pod, s)
        return run(g.rx_day, self._day, s)

    def _day_pod(self, m: re.Match[str]) -> None:
        r = self.r
        offset, pod = self.g.day_pod[phrase_key(m[0])]
        if offset is not None:
            r.set_day(offset, m[0])
        if pod == "night" and offset == 0:
            r.tonight = True
        r.set_pod(pod, m[0])

    def _day(self, m: re.Match[str]) -> None:
        self.r.set_day(self.g.day_words[phrase_key(m[0])], m[0])

    def _pod(self, m: re.Match[str]) -> None:
        self.r.set_pod(self.g.pods[phrase_key(m[0])], m[0])

    # --- weekdays

    def weekdays(self, s: str) -> str:
        return self.run(self.g.rx_weekday, self._weekday, s)

    def _weekday(self, m: re.Match[str]) -> None:
        r, g = self.r, self.g
        if r.weekday is not None:
            raise WhenError(
                _("I found two weekdays, “{first}” and “{second}”. Type one, e.g. “sat 02:00”.").format(
                    first=r.weekday_text, second=m[0]
                ),
                reason="conflict",
            )
        r.weekday = g.weekdays[m["wd"]]
        mode = "bare"
        if m["pre"]:
            mode = g.wd_pre[phrase_key(m["pre"])]
        if m.groupdict().get("post"):
            mode = g.wd_post[phrase_key(m["post"])]
        r.weekday_mode, r.weekday_text = mode, m[0]

    # --- dates written with words or as ISO year-month-day (numeric day/month dates are read with the times)

    def dates(self, s: str) -> str:
        g, run = self.g, self.run
        s = run(RX_YMD, self._ymd, s)
        s = run(g.rx_month_day, self._month_day, s)
        s = run(g.rx_day_month, self._month_day, s)
        return run(g.rx_dom, self._dom, s)

    def _ymd(self, m: re.Match[str]) -> None:
        self.r.set_date(int(m["y"]), int(m["mo"]), int(m["d"]), m[0])

    def _month_day(self, m: re.Match[str]) -> None:
        year = int(m["year"]) if m["year"] else None
        self.r.set_date(year, self.g.months[m["mon"]], int(m["day"]), m[0].strip())

    def _dom(self, m: re.Match[str]) -> None:
        r = self.r
        if r.date_parts is not None or r.dom is not None:
            raise WhenError(
                _("I found two dates in “{text}”. Type one, e.g. “Mar 20 09:00”.").format(text=m[0]), reason="conflict"
            )
        r.dom, r.date_text = int(m["day"]), m[0]

    def _numeric_date(self, m: re.Match[str]) -> bool | None:
        if m["sep"] == "." and m["c"] is None and (len(m["a"]) < 2 or len(m["b"]) < 2):
            return False  # "1.5" is a decimal number, not a date; left for the leftover check
        a, b, c = int(m["a"]), int(m["b"]), m["c"]
        year = None if c is None else (int(c) + 2000 if len(c) == 2 else int(c))
        if self.date_order == "DMY":
            day_, month = a, b
        else:  # MDY, and YMD writes a short date month first
            month, day_ = a, b
        if not 1 <= month <= 12 or not 1 <= day_ <= 31:
            if self.date_order == "DMY":
                message = _(
                    "“{text}” is not a valid date in day/month order. Write the month as a word to be clear, e.g. "
                    "“Mar 10 14:00” or “10 Mar 14:00”, or use “2026-03-10 14:00”."
                )
            else:
                message = _(
                    "“{text}” is not a valid date in month/day order. Write the month as a word to be clear, e.g. "
                    "“Mar 10 14:00” or “10 Mar 14:00”, or use “2026-03-10 14:00”."
                )
            message = message.format(text=m[0])
            if m["sep"] == "." and a <= 23 and b <= 59:
                message += " " + _("For a time, type “{time}”.").format(time=f"{a:02d}:{b:02d}")
            raise WhenError(
                message,
                reason="invalid_date",
            )
        self.r.set_date(year, month, day_, m[0])

    # --- clock times (and numeric dates, after "at 10.30" and before "10:30": "10.03" is a date)

    def times(self, s: str) -> str:
        g, run = self.g, self.run
        s = run(g.rx_at_dot, self._at_dot, s)
        s = run(RX_NUMERIC_DATE, self._numeric_date, s)
        s = run(RX_HHMM, self._hhmm, s)
        s = run(g.rx_at_military, self._military, s)
        s = run(RX_H_MM, self._h_mm, s)
        s = run(RX_H_ONLY, self._h_only, s)
        s = run(RX_AMPM, self._ampm, s)
        s = run(g.rx_noon, self._noon, s)
        s = run(g.rx_midnight, self._midnight, s)
        return run(g.rx_at_hour, self._at_hour, s)

    def _hhmm(self, m: re.Match[str]) -> None:
        h, mi = int(m["h"]), int(m["m"])
        sec = int(m["s"]) if m["s"] else 0
        if h > 23 or mi > 59 or sec > 59:
            raise WhenError(
                _(
                    "“{text}” is not a valid time: hours go from 00 to 23 and minutes from 00 to 59, e.g. “23:00” or "
                    "“00:30”."
                ).format(text=m[0].strip()),
                reason="invalid_time",
            )
        self.r.set_time(h, mi, sec, m["ap"], m[0].strip(), has_minutes=True)

    def _at_dot(self, m: re.Match[str]) -> None:
        h, mi = int(m["h1"] or m["h2"]), int(m["m1"] or m["m2"])
        ap = m["ap"] if m["ap"] in ("am", "pm") else None
        if h > 23 or mi > 59:
            raise WhenError(_("“{text}” is not a valid time; e.g. “14:30”.").format(text=m[0]), reason="invalid_time")
        self.r.set_time(h, mi, 0, ap, m[0].strip(), has_minutes=True)

    def _military(self, m: re.Match[str]) -> None:
        self.r.set_time(int(m["h1"] or m["h2"]), int(m["m1"] or m["m2"]), 0, None, m[0].strip(), has_minutes=True)

    def _h_mm(self, m: re.Match[str]) -> None:
        h, mi = int(m["h"]), int(m["m"])
        if h > 23 or mi > 59:
            raise WhenError(
                _("“{text}” is not a valid time; e.g. “14h30” or “14:30”.").format(text=m[0]), reason="invalid_time"
            )
        self.r.set_time(h, mi, 0, None, m[0].strip(), has_minutes=True, h_only=not m["at"])

    def _h_only(self, m: re.Match[str]) -> None:
        h = int(m["h"])
        if h > 23:
            raise WhenError(
                _("“{text}” is not a valid time; e.g. “14h” or “14:00”.").format(text=m[0]), reason="invalid_time"
            )
        self.r.set_time(h, 0, 0, None, m[0].strip(), has_minutes=True, h_only=not m["at"])

    def _ampm(self, m: re.Match[str]) -> None:
        h = int(m["h"])
        if not 1 <= h <= 12:
            if h <= 23:
                message = _("“{text}” is not a valid time: with am/pm the hour goes from 1 to 12. Type e.g. “{time}”.")
            else:
                message = _(
                    "“{text}” is not a valid time: with am/pm the hour goes from 1 to 12. Type e.g. “11pm” or “23:00”."
                )
            raise WhenError(
                message.format(text=m[0], time=f"{h:02d}:00"),
                reason="invalid_time",
            )
        self.r.set_time(h, 0, 0, m["ap"], m[0], has_minutes=False)

    def _noon(self, m: re.Match[str]) -> None:
        self.r.set_time(12, 0, 0, None, m[0], has_minutes=True)
        self.r.noon = True

    def _midnight(self, m: re.Match[str]) -> None:
        r = self.r
        if r.hour is not None or r.midnight:
            raise WhenError(
                _("I found two times, “{first}” and “{second}”. Type just one, e.g. “00:00”.").format(
                    first=r.time_text, second=m[0]
                ),
                reason="conflict",
            )
        r.midnight, r.time_text = True, m[0]

    def _at_hour(self, m: re.Match[str]) -> None:
        h = int(m["h1"] or m["h2"])
        if h > 24:
            raise WhenError(
                _("“{text}” is not a valid time; hours go from 0 to 23.").format(text=m[0]), reason="invalid_time"
            )
        if h == 24:
            raise WhenError(
                _(
                    "“{text}” is not a valid time; for midnight type “00:00” with the day, e.g. “tomorrow 00:00”."
                ).format(text=m[0]),
                reason="invalid_time",
            )
        self.r.set_time(h, 0, 0, None, m[0], has_minutes=False)

    # --- a month without a day (refused later, with a hint), then what is left

    def month_only(self, s: str) -> str:
        return self.run(self.g.rx_month_only, self._month_only, s)

    def _month_only(self, m: re.Match[str]) -> None:
        self.r.month_only = m[0]

    def leftover(self, s: str) -> list[str]:
        """The tokens no recogniser understood, filler words left out; a lone 1-2 digit number next to a day
        (“tomorrow 5”, “mañana 15”) is the hour."""
        r = self.r
        leftover = [t for t in s.split() if t not in self.g.fillers and t != "|"]
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
                raise WhenError(
                    _("“{hour}” is not a valid hour; hours go from 0 to 23.").format(hour=h), reason="invalid_time"
                )
            r.set_time(h, 0, 0, None, leftover[0], has_minutes=False)
            leftover = []
        return leftover


def extract(s: str, g: Grammar, r: Reading, date_order: str) -> list[str]:
    """Fill ``r`` from ``s`` and return the tokens nothing understood."""
    x = _Extraction(g, r, date_order)
    s = x.durations(s)
    s = x.days(s)
    s = x.weekdays(s)
    s = x.dates(s)
    s = x.times(s)
    s = x.month_only(s)
    return x.leftover(s)
