"""What was read from a phrase: the components the recognisers of :mod:`bot.when.extract` found (a duration, a
time of day, a part of the day, a day, a weekday, a date, a zone), before they are resolved into an instant by
:mod:`bot.when.resolve`.

The setters refuse a second, different value of the same component (“two times”, “different days”).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta, tzinfo

from bot.i18n import _
from bot.when.errors import WhenError


@dataclass
class ZoneFound:
    """A zone the text names: the zone, how to label it, and the words that named it."""

    zone: tzinfo
    label: str
    text: str


@dataclass
class Reading:
    """Components found in the text (all optional)."""

    zone: ZoneFound | None = None
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
                _("I found two times, “{first}” and “{second}”. Type just one, e.g. “tomorrow 02:00”.").format(
                    first=self.time_text, second=text
                ),
                reason="conflict",
            )
        self.hour, self.minute, self.second, self.meridiem = hour, minute, second, meridiem
        self.has_minutes, self.h_only, self.time_text = has_minutes, h_only, text

    def set_day(self, offset: int, text: str) -> None:
        if self.day_offset is not None and self.day_offset != offset:
            raise WhenError(
                _("“{first}” and “{second}” are different days. Type just one, e.g. “tomorrow 02:00”.").format(
                    first=self.day_text, second=text
                ),
                reason="conflict",
            )
        self.day_offset, self.day_text = offset, text

    def set_pod(self, pod: str, text: str) -> None:
        if self.pod is not None and self.pod != pod:
            raise WhenError(
                _(
                    "“{first}” and “{second}” don't go together. Type one time, e.g. “tomorrow 9am” or “mañana a "
                    "las 15:00”."
                ).format(first=self.pod_text, second=text),
                reason="conflict",
            )
        self.pod, self.pod_text = pod, text

    def set_date(self, year: int | None, month: int, day: int, text: str) -> None:
        if self.date_parts is not None or self.dom is not None:
            raise WhenError(
                _("I found two dates, “{first}” and “{second}”. Type one, e.g. “2026-03-07 02:00”.").format(
                    first=self.date_text, second=text
                ),
                reason="conflict",
            )
        self.date_parts, self.date_text = (year, month, day), text
