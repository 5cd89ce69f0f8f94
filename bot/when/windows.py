"""Maintenance windows: ``MAINTENANCE_WINDOWS`` parsed into weekly windows, whether an instant is inside one,
when the next one starts, and what the window policy says about an instant outside them.

``bot.settings`` imports this module to validate ``MAINTENANCE_WINDOWS``; it needs only zones and formatting, so
loading the settings never compiles the grammar nor imports dateparser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from bot.i18n import _
from bot.when.format import WEEKDAY_ABBR, WEEKDAY_NAME, date_locale, format_local, hm_text, weekday_abbr
from bot.when.zones import lookup_iana, resolve_zone, wall_reached, zoneinfo_or_none

WINDOWS_EXAMPLE: Final[str] = "Sat,Sun 02:00-06:00 America/Costa_Rica; Wed 01:00-03:00 UTC"
#: The zone of a window in device time (``daily 01:00-05:00 device``): each device's own zone.
DEVICE_ZONE: Final[str] = "device"

_DAY_INDEX: Final[dict[str, int]] = {
    **{n.lower(): i for i, n in enumerate(WEEKDAY_ABBR)},
    **{n.lower(): i for i, n in enumerate(WEEKDAY_NAME)},
    "tues": 1,
    "wednes": 2,
    "thur": 3,
    "thurs": 3,
}


@dataclass(frozen=True)
class MaintenanceWindow:
    """A weekly window: on each of ``days`` (0 = Monday … 6 = Sunday) from ``start`` to ``end``, wall time in
    ``zone`` (IANA name), or :data:`DEVICE_ZONE` (``device``): then the window is in each device's own zone, and
    is placed in one with :meth:`in_zone` (or the ``device_zone`` argument of the functions below) before use.

    ``end <= start`` means the window crosses midnight and ends on the next day (``Fri 22:00-02:00`` ends on
    Saturday 02:00); ``start == end`` means 24 hours (written ``00:00-24:00``).

    On a DST night each end of an occurrence is the first instant the zone's clock shows that time or later
    (:func:`wall_reached`): a time the clocks skip is the instant they jump over it, a time they repeat is its
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
        if self.zone != DEVICE_ZONE:
            resolve_zone(self.zone)
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("MaintenanceWindow start/end are naive wall times in the window's zone")
        if self.start == self.end != time(0):
            raise ValueError("MaintenanceWindow start and end must differ (00:00-24:00 is written start=end=00:00)")

    @property
    def is_device(self) -> bool:
        """In device time: each device's own zone."""
        return self.zone == DEVICE_ZONE

    @property
    def tzinfo(self) -> ZoneInfo:
        if self.is_device:
            raise ValueError(f"the window {self} is in device time: place it in a zone first (in_zone)")
        return resolve_zone(self.zone)

    def in_zone(self, zone: str) -> MaintenanceWindow:
        """This window in a device's IANA ``zone`` when it is in device time; a window with a zone of its own is
        unchanged."""
        if not self.is_device:
            return self
        return MaintenanceWindow(self.days, self.start, self.end, resolve_zone(zone).key)

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def occurrence(self, day: date) -> tuple[datetime, datetime]:
        """UTC start and end of the occurrence that starts on local ``day`` (whatever its weekday); ``start ==
        end`` when the clocks skip all of it."""
        zone = self.tzinfo
        start = wall_reached(datetime.combine(day, self.start), zone)
        end_day = day + timedelta(days=1) if self.crosses_midnight else day
        end = wall_reached(datetime.combine(end_day, self.end), zone)
        return start, end

    def __str__(self) -> str:
        """The spec form (``MAINTENANCE_WINDOWS``), English day names: ``Sat,Sun 02:00-06:00 UTC``."""
        end = "24:00" if self.start == self.end == time(0) else hm_text(self.end)
        return f"{_days_text(self.days)} {hm_text(self.start)}-{end} {self.zone}"

    def describe(self) -> str:
        """The window as a reader sees it: the spec form with the day names in the reader's language (``sáb,dom
        02:00-06:00 UTC``); in English exactly ``str(window)``."""
        if date_locale() is None:
            return str(self)
        end = "24:00" if self.start == self.end == time(0) else hm_text(self.end)
        names = tuple(weekday_abbr(i) for i in range(7))
        return f"{_days_text(self.days, names)} {hm_text(self.start)}-{end} {self.zone}"


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


def _days_text(days: Iterable[int], names: Sequence[str] = WEEKDAY_ABBR) -> str:
    ds = sorted(set(days))
    if len(ds) == 7:
        return f"{names[0]}-{names[6]}"
    parts: list[str] = []
    i = 0
    while i < len(ds):
        j = i
        while j + 1 < len(ds) and ds[j + 1] == ds[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{names[ds[i]]}-{names[ds[j]]}")
        else:
            parts.extend(names[k] for k in ds[i : j + 1])
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
    (``Mon-Fri``, ``Fri-Mon`` wraps), or ``daily``. ZONE is an IANA name, ``UTC``, or ``device``: the window
    is in each device's own zone (``daily 01:00-05:00 device``). An empty/blank spec gives ``[]``.
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
                f"Maintenance window {n} ({item!r}): start and end are both {hm_text(start)}; a window needs a "
                f"length (use 00:00-24:00 for a whole day). Expected e.g.: {WINDOWS_EXAMPLE}"
            )
        zone_name = m["zone"]
        if zone_name.lower() == DEVICE_ZONE:
            out.append(MaintenanceWindow(frozenset(days), start, end, DEVICE_ZONE))
            continue
        zone = zoneinfo_or_none(zone_name) or (lookup_iana(zone_name.lower()) if "/" in zone_name else None)
        if zone is None and zone_name.upper() in ("UTC", "Z", "GMT"):
            zone = ZoneInfo("UTC")
        if zone is None:
            raise ValueError(
                f"Maintenance window {n} ({item!r}): unknown time zone {zone_name!r}; "
                f"use an IANA name such as America/Costa_Rica, UTC, or device (each device's own zone). "
                f"Expected e.g.: {WINDOWS_EXAMPLE}"
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


def has_device_windows(windows: Iterable[MaintenanceWindow] | None) -> bool:
    """Is one of the windows in device time?"""
    return any(w.is_device for w in windows or ())


def resolve_windows(windows: Iterable[MaintenanceWindow] | None, device_zone: str | None) -> list[MaintenanceWindow]:
    """The windows as they apply to a device in ``device_zone``: those in device time placed in that zone, the
    others unchanged. Without a ``device_zone`` the windows in device time are left out (they have no zone)."""
    out = []
    for w in windows or ():
        if not w.is_device:
            out.append(w)
        elif device_zone is not None:
            out.append(w.in_zone(device_zone))
    return out


def _aware(instant: datetime, name: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise TypeError(f"{name} must be an aware datetime")
    return instant.astimezone(UTC)


def in_window(
    instant: datetime, windows: Iterable[MaintenanceWindow] | None, *, device_zone: str | None = None
) -> MaintenanceWindow | None:
    """The first window (in configuration order) whose occurrence contains ``instant`` (start inclusive, end
    exclusive), or ``None``. Windows in device time count in ``device_zone`` (left out without one)."""
    occ = _current(_aware(instant, "instant"), resolve_windows(windows, device_zone))
    return occ.window if occ else None


def next_window_start(
    after: datetime, windows: Iterable[MaintenanceWindow] | None, *, device_zone: str | None = None
) -> datetime | None:
    """The earliest window start strictly after ``after`` (aware UTC), or ``None`` without windows. Windows in
    device time count in ``device_zone`` (left out without one).

    If ``after`` is inside a window, this is the start of the *next* occurrence, not of the current one (which
    began in the past). Use :func:`current_or_next_window` to get the current one.
    """
    occ = next_window(after, windows, device_zone=device_zone)
    return occ.start if occ else None


def next_window(
    after: datetime, windows: Iterable[MaintenanceWindow] | None, *, device_zone: str | None = None
) -> WindowOccurrence | None:
    """The occurrence of :func:`next_window_start` (its window says which wall time it was meant to start at)."""
    return _next(_aware(after, "after"), resolve_windows(windows, device_zone))


def current_or_next_window(
    instant: datetime, windows: Iterable[MaintenanceWindow] | None, *, device_zone: str | None = None
) -> WindowOccurrence | None:
    """The occurrence containing ``instant``, else the next one to start; ``None`` without windows."""
    ws = resolve_windows(windows, device_zone)
    instant = _aware(instant, "instant")
    return _current(instant, ws) or _next(instant, ws)


def check_window(
    instant: datetime,
    windows: Sequence[MaintenanceWindow] | None,
    policy: WindowPolicy | str = WindowPolicy.WARN,
    *,
    tz: str | None = None,
    device_zone: str | None = None,
) -> WindowCheck:
    """Is ``instant`` inside a maintenance window, and what does ``policy`` say if not?

    ``message`` is one or two complete sentences, e.g. ``Inside maintenance window Sat,Sun 02:00-06:00
    America/Costa_Rica.`` or ``Outside every maintenance window; the next one starts Sat 7 Mar 02:00 CST.``
    (plus ``Scheduling outside a window needs an approval.`` / ``… is not allowed.`` for those policies).

    Times in the message are shown in ``tz`` (the person's zone) when given, else in the next window's zone.

    Windows in device time (``daily 01:00-05:00 device``) are checked in ``device_zone``, the zone of the device
    the instant is for. Without one they cannot be checked and are left out; when they are all there is, the
    check restricts nothing and says that they are checked per device.
    """
    pol = WindowPolicy(policy)
    instant = _aware(instant, "instant")
    ws = resolve_windows(windows, device_zone)
    if not ws and has_device_windows(windows):
        return WindowCheck(
            False, None, None, pol, False, False,
            _("The maintenance windows are in each device's own time zone; they are checked per device."),
        )  # fmt: skip
    if not ws:
        return WindowCheck(False, None, None, pol, False, False, _("No maintenance windows are configured."))
    current = _current(instant, ws)
    nxt = _next(instant, ws)
    next_start = nxt.start if nxt else None
    if current is not None:
        return WindowCheck(
            True, current.window, next_start, pol, False, False,
            _("Inside maintenance window {window}.").format(window=current.window.describe()), current.end,
        )  # fmt: skip
    if nxt is not None:
        zone = resolve_zone(tz) if tz else nxt.window.tzinfo
        starts = format_local(nxt.start, zone, ref=instant)
        message = _("Outside every maintenance window; the next one starts {start}.").format(start=starts)
    else:  # pragma: no cover - a configured window always recurs within a week
        message = _("Outside every maintenance window.")
    if pol is WindowPolicy.REQUIRE_APPROVAL:
        message += " " + _("Scheduling outside a window needs an approval.")
    elif pol is WindowPolicy.BLOCK:
        message += " " + _("Scheduling outside a window is not allowed.")
    return WindowCheck(
        False, None, next_start, pol, pol is WindowPolicy.BLOCK, pol is WindowPolicy.REQUIRE_APPROVAL, message
    )
