"""DST changes of every IANA zone, worked out with zoneinfo alone (not with the code under test).

``TRANSITIONS`` lists (zone, instant the UTC offset changes) for 2026–2028; property tests pick "now" and the
times people say around them, so the repeated and skipped hours of every zone that has them get exercised.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones


def offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta(0)


@functools.cache
def transitions(start: datetime, end: datetime) -> tuple[tuple[str, datetime], ...]:
    """(zone, instant the offset changes) for every IANA zone, found by weekly steps then bisection."""
    found: list[tuple[str, datetime]] = []
    for name in sorted(available_timezones()):
        zone = ZoneInfo(name)
        at, before = start, offset(zone, start)
        while at < end:
            nxt = at + timedelta(days=7)
            after = offset(zone, nxt)
            if after != before:
                lo, hi = at, nxt
                while hi - lo > timedelta(seconds=1):
                    mid = lo + timedelta(seconds=(hi - lo).total_seconds() // 2)  # whole seconds
                    lo, hi = (mid, hi) if offset(zone, mid) == before else (lo, mid)
                found.append((name, hi))
            at, before = nxt, after
    return tuple(found)


TRANSITIONS = transitions(datetime(2026, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC))


def wall_readings(zone: ZoneInfo, wall: datetime) -> list[datetime]:
    """Every instant whose wall time in ``zone`` is ``wall``: zoneinfo's two folds, kept if they round-trip."""
    out = {wall.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1)}
    return sorted(u for u in out if u.astimezone(zone).replace(tzinfo=None) == wall)


def jump_over(zone: ZoneInfo, wall: datetime) -> datetime:
    """The instant the clocks jump over a skipped ``wall``: the first minute at which they show a later time."""
    u = min(wall.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1))
    while u.astimezone(zone).replace(tzinfo=None) < wall:
        u += timedelta(minutes=1)
    return u


def wall_before(zone: ZoneInfo, change: datetime, minutes: int) -> datetime:
    """The wall time ``minutes`` from ``change`` read with the offset before it: around a change this walks
    through the times the clocks skip or repeat."""
    return (change + timedelta(minutes=minutes)).replace(tzinfo=None) + offset(zone, change - timedelta(seconds=1))
