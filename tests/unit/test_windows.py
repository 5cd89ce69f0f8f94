"""Maintenance windows: parsing MAINTENANCE_WINDOWS, membership, the next start, and the policy check.

Window times are wall times in the window's zone. Reference: Fri 6 Mar 2026 15:20Z = 09:20 CST (Costa Rica, UTC-6,
no DST). New York springs forward Sun 8 Mar 02:00 EST -> 03:00 EDT and falls back Sun 1 Nov 02:00 EDT -> 01:00 EST;
Madrid springs forward Sun 29 Mar 02:00 CET -> 03:00 CEST.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.when import (
    WINDOWS_EXAMPLE,
    MaintenanceWindow,
    WindowCheck,
    WindowPolicy,
    check_window,
    current_or_next_window,
    format_windows,
    in_window,
    next_window_start,
    parse_when,
    parse_windows,
)
from tests.support.dst import TRANSITIONS, wall_before, wall_readings

NOW = datetime(2026, 3, 6, 15, 20, tzinfo=UTC)  # Friday
SPEC = "Sat,Sun 02:00-06:00 America/Costa_Rica; Wed 01:00-03:00 UTC"


def z(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- parsing ---------------------------------------------------------------------------------------------------


def test_parse_the_documented_example() -> None:
    weekend, wednesday = parse_windows(SPEC)
    assert weekend == MaintenanceWindow(frozenset({5, 6}), time(2, 0), time(6, 0), "America/Costa_Rica")
    assert wednesday == MaintenanceWindow(frozenset({2}), time(1, 0), time(3, 0), "UTC")
    assert format_windows([weekend, wednesday]) == SPEC


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [
        ("Mon-Fri 22:00-02:00 UTC", "Mon-Fri 22:00-02:00 UTC"),
        ("fri-mon 01:00-02:00 europe/madrid", "Mon,Fri-Sun 01:00-02:00 Europe/Madrid"),  # wraps over the week
        ("Saturday, Sunday 2:00 - 6:00 America/Costa_Rica", "Sat,Sun 02:00-06:00 America/Costa_Rica"),
        ("daily 03:00-04:00 UTC", "Mon-Sun 03:00-04:00 UTC"),
        ("Sun 00:00-24:00 UTC", "Sun 00:00-24:00 UTC"),  # a whole day
        ("Tue,Thu 23:30-00:30 Asia/Tokyo\nSat 01:00-02:00 UTC", "Tue,Thu 23:30-00:30 Asia/Tokyo; Sat 01:00-02:00 UTC"),
        ("Wed 01:00-03:00 utc;", "Wed 01:00-03:00 UTC"),  # trailing separator
    ],
)
def test_parse_forms(spec: str, canonical: str) -> None:
    windows = parse_windows(spec)
    assert format_windows(windows) == canonical
    assert parse_windows(format_windows(windows)) == windows  # the canonical form parses back


@pytest.mark.parametrize("spec", [None, "", "   ", " ; \n ; "])
def test_empty_spec_means_no_windows(spec: str | None) -> None:
    assert parse_windows(spec) == []


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ("Sat,Sun 2:00-6 UTC", "'6'"),  # the end time
        ("Sta 02:00-03:00 UTC", "'sta'"),  # a day
        ("Sat 02:00-03:00", "form 'DAYS HH:MM-HH:MM ZONE'"),  # no zone
        ("Sat 02:00-03:00 Mars/Base", "'Mars/Base'"),  # the zone
        ("Sat 25:00-03:00 UTC", "'25:00'"),  # the start time
        ("Sat 02:00-02:00 UTC", "both 02:00"),  # no length
        ("Sat 24:00-03:00 UTC", "24:00"),  # a start at 24:00
        ("Sat,Sun 02:00-06:00 UTC; Wed 1-3 UTC", "window 2"),  # says which item
        ("Mon-Tue-Wed 01:00-02:00 UTC", "'mon-tue-wed'"),
    ],
)
def test_parse_errors_name_the_bad_part(spec: str, names: str) -> None:
    with pytest.raises(ValueError, match="Maintenance window") as exc:
        parse_windows(spec)
    message = str(exc.value)
    assert names in message
    assert WINDOWS_EXAMPLE in message  # shows the expected form


@pytest.mark.parametrize(
    ("days", "start", "end", "zone"),
    [
        (frozenset(), time(1), time(2), "UTC"),
        (frozenset({7}), time(1), time(2), "UTC"),
        (frozenset({1}), time(1), time(2), "Mars/Base"),
        (frozenset({1}), time(2), time(2), "UTC"),
    ],
)
def test_window_validates_itself(days: frozenset[int], start: time, end: time, zone: str) -> None:
    with pytest.raises(ValueError):
        MaintenanceWindow(days, start, end, zone)


# --- membership --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "inside"),
    [
        (z(2026, 3, 7, 7, 59), False),  # Sat 01:59 CST
        (z(2026, 3, 7, 8, 0), True),  # Sat 02:00 CST: the start is inside
        (z(2026, 3, 7, 11, 59), True),  # Sat 05:59 CST
        (z(2026, 3, 7, 12, 0), False),  # Sat 06:00 CST: the end is outside
        (z(2026, 3, 8, 9, 0), True),  # Sun 03:00 CST
        (z(2026, 3, 9, 9, 0), False),  # Mon 03:00 CST: Monday is not listed
        (z(2026, 3, 11, 2, 0), True),  # Wed 02:00 UTC
        (NOW, False),
    ],
)
def test_in_window(instant: datetime, inside: bool) -> None:
    windows = parse_windows(SPEC)
    assert (in_window(instant, windows) is not None) is inside


@pytest.mark.parametrize(
    ("instant", "inside"),
    [
        (z(2026, 3, 6, 21, 59), False),  # Fri 21:59
        (z(2026, 3, 6, 22, 0), True),  # Fri 22:00: starts on Friday
        (z(2026, 3, 6, 23, 30), True),
        (z(2026, 3, 7, 1, 59), True),  # Sat 01:59: still Friday's window
        (z(2026, 3, 7, 2, 0), False),  # Sat 02:00: ended
        (z(2026, 3, 7, 23, 0), False),  # Saturday night: Saturday is not listed
        (z(2026, 3, 6, 1, 0), False),  # Fri 01:00: Thursday is not listed
    ],
)
def test_window_crossing_midnight(instant: datetime, inside: bool) -> None:
    windows = parse_windows("Fri 22:00-02:00 UTC")
    assert (in_window(instant, windows) is not None) is inside


def test_window_over_spring_forward_is_shorter() -> None:
    # Sun 01:00-04:00 New York on 8 Mar: 01:00 EST = 06:00Z to 04:00 EDT = 08:00Z (two real hours)
    windows = parse_windows("Sun 01:00-04:00 America/New_York")
    occ = current_or_next_window(z(2026, 3, 7, 12, 0), windows)
    assert occ is not None
    assert (occ.start, occ.end) == (z(2026, 3, 8, 6, 0), z(2026, 3, 8, 8, 0))
    assert in_window(z(2026, 3, 8, 7, 30), windows) is not None
    assert in_window(z(2026, 3, 8, 8, 0), windows) is None
    # a week later the offset is EDT: 01:00 EDT = 05:00Z
    assert next_window_start(z(2026, 3, 8, 8, 0), windows) == z(2026, 3, 15, 5, 0)


def test_window_starting_in_the_gap_starts_at_the_jump() -> None:
    # 02:30 does not exist on 8 Mar in New York: the window opens when the clocks jump over it, 03:00 EDT = 07:00Z
    # (issue #12 item 12 changed this from 03:30 EDT: at 03:15 EDT the clock reads a time inside 02:30-05:00)
    windows = parse_windows("Sun 02:30-05:00 America/New_York")
    assert next_window_start(z(2026, 3, 7, 12, 0), windows) == z(2026, 3, 8, 7, 0)
    assert in_window(z(2026, 3, 8, 6, 59), windows) is None
    assert in_window(z(2026, 3, 8, 7, 0), windows) is not None
    # Madrid: 02:00 does not exist on 29 Mar; the window opens at 03:00 CEST = 01:00Z, closes 04:00 CEST = 02:00Z
    madrid = parse_windows("Sun 02:00-04:00 Europe/Madrid")
    occ = current_or_next_window(z(2026, 3, 28, 12, 0), madrid)
    assert occ is not None
    assert (occ.start, occ.end) == (z(2026, 3, 29, 1, 0), z(2026, 3, 29, 2, 0))


def test_window_over_fall_back_uses_the_first_occurrence() -> None:
    # Sun 1 Nov: 01:30 happens twice; the window starts at the first (01:30 EDT = 05:30Z), ends 03:00 EST = 08:00Z
    windows = parse_windows("Sun 01:30-03:00 America/New_York")
    occ = current_or_next_window(z(2026, 10, 31, 12, 0), windows)
    assert occ is not None
    assert (occ.start, occ.end) == (z(2026, 11, 1, 5, 30), z(2026, 11, 1, 8, 0))


def test_window_ending_in_the_gap_ends_at_the_jump() -> None:
    # Sun 01:00-02:30 on 14 Mar 2027: 01:00 EST = 06:00Z until the clocks jump over 02:30 at 07:00Z
    windows = parse_windows("Sun 01:00-02:30 America/New_York")
    occ = current_or_next_window(z(2027, 3, 13, 12, 0), windows)
    assert occ is not None
    assert (occ.start, occ.end) == (z(2027, 3, 14, 6, 0), z(2027, 3, 14, 7, 0))
    assert in_window(z(2027, 3, 14, 7, 15), windows) is None  # 03:15 EDT is not between 01:00 and 02:30


def test_a_window_the_clocks_skip_does_not_take_place() -> None:
    # Sun 02:00-03:00 on 14 Mar 2027 does not exist in New York (02:00 EST -> 03:00 EDT): no window that night;
    # "next window" and "inside a window" agree on the one after, Sun 21 Mar 02:00 EDT = 06:00Z
    windows = parse_windows("Sun 02:00-03:00 America/New_York")
    saturday = z(2027, 3, 13, 12, 0)
    assert next_window_start(saturday, windows) == z(2027, 3, 21, 6, 0)
    assert in_window(z(2027, 3, 14, 7, 0), windows) is None
    start = parse_when("next window", tz="America/New_York", now=saturday, windows=windows)
    assert start == z(2027, 3, 21, 6, 0)
    check = check_window(start, windows, WindowPolicy.BLOCK)
    assert check.inside and not check.blocked
    assert check.window_end == z(2027, 3, 21, 7, 0)
    # a window on every day skips only that night
    daily = parse_windows("daily 02:00-03:00 America/New_York")
    assert next_window_start(saturday, daily) == z(2027, 3, 15, 6, 0)


def test_window_in_the_repeated_hour_is_its_first_pass() -> None:
    # Sun 7 Nov 2027: 01:00-01:30 happens at 05:00Z (EDT) and again at 06:00Z (EST); the window is the first pass
    windows = parse_windows("Sun 01:00-01:30 America/New_York")
    start = parse_when("next window", tz="America/New_York", now=z(2027, 11, 6, 12, 0), windows=windows)
    assert start == z(2027, 11, 7, 5, 0)
    assert check_window(start, windows).inside
    assert in_window(z(2027, 11, 7, 5, 29), windows) is not None
    assert in_window(z(2027, 11, 7, 6, 15), windows) is None  # 01:15 EST, the second pass
    assert next_window_start(z(2027, 11, 7, 5, 0), windows) == z(2027, 11, 14, 6, 0)


# --- next start ----------------------------------------------------------------------------------------------------


def test_next_window_start() -> None:
    windows = parse_windows(SPEC)
    assert next_window_start(NOW, windows) == z(2026, 3, 7, 8, 0)  # Sat 02:00 CST beats Wed 11 Mar 01:00Z
    # inside Saturday's window the next start is Sunday's, strictly after
    assert next_window_start(z(2026, 3, 7, 9, 0), windows) == z(2026, 3, 8, 8, 0)
    # exactly at a start: the next one, strictly after
    assert next_window_start(z(2026, 3, 7, 8, 0), windows) == z(2026, 3, 8, 8, 0)
    # after Sunday's window: Wednesday 01:00 UTC
    assert next_window_start(z(2026, 3, 8, 13, 0), windows) == z(2026, 3, 11, 1, 0)
    # aware instants in any zone are fine
    assert next_window_start(NOW.astimezone(), windows) == z(2026, 3, 7, 8, 0)


def test_no_windows() -> None:
    assert next_window_start(NOW, []) is None
    assert next_window_start(NOW, None) is None
    assert in_window(NOW, []) is None
    assert current_or_next_window(NOW, None) is None


def test_naive_instants_are_refused() -> None:
    with pytest.raises(TypeError):
        in_window(datetime(2026, 3, 7, 8, 0), parse_windows(SPEC))


def test_current_or_next_window() -> None:
    windows = parse_windows(SPEC)
    current = current_or_next_window(z(2026, 3, 7, 9, 0), windows)
    assert current is not None
    assert (current.start, current.end) == (z(2026, 3, 7, 8, 0), z(2026, 3, 7, 12, 0))
    upcoming = current_or_next_window(NOW, windows)
    assert upcoming is not None
    assert upcoming.start == z(2026, 3, 7, 8, 0)
    assert str(upcoming.window) == "Sat,Sun 02:00-06:00 America/Costa_Rica"


# --- policy ------------------------------------------------------------------------------------------------------


def test_check_inside() -> None:
    windows = parse_windows(SPEC)
    result = check_window(z(2026, 3, 7, 9, 0), windows, WindowPolicy.BLOCK)
    assert isinstance(result, WindowCheck)
    assert result.inside
    assert result.window == windows[0]
    assert not result.blocked
    assert not result.needs_approval
    assert result.message == "Inside maintenance window Sat,Sun 02:00-06:00 America/Costa_Rica."
    assert result.window_end == z(2026, 3, 7, 12, 0)
    assert result.next_start == z(2026, 3, 8, 8, 0)


@pytest.mark.parametrize(
    ("policy", "blocked", "needs_approval", "suffix"),
    [
        (WindowPolicy.WARN, False, False, ""),
        (WindowPolicy.REQUIRE_APPROVAL, False, True, " Scheduling outside a window needs an approval."),
        (WindowPolicy.BLOCK, True, False, " Scheduling outside a window is not allowed."),
        ("require-approval", False, True, " Scheduling outside a window needs an approval."),
    ],
)
def test_check_outside(policy: WindowPolicy | str, blocked: bool, needs_approval: bool, suffix: str) -> None:
    result = check_window(NOW, parse_windows(SPEC), policy, tz="America/Costa_Rica")
    assert not result.inside
    assert result.window is None
    assert result.policy == WindowPolicy(policy)
    assert result.blocked is blocked
    assert result.needs_approval is needs_approval
    assert result.next_start == z(2026, 3, 7, 8, 0)
    assert result.message == "Outside every maintenance window; the next one starts Sat 7 Mar 02:00 CST." + suffix


def test_check_message_in_the_persons_zone() -> None:
    result = check_window(NOW, parse_windows(SPEC), tz="Europe/Madrid")
    assert result.message == "Outside every maintenance window; the next one starts Sat 7 Mar 09:00 CET."
    # without tz: the next window's own zone
    result = check_window(NOW, parse_windows(SPEC))
    assert result.message.endswith("Sat 7 Mar 02:00 CST.")


def test_check_without_windows_restricts_nothing() -> None:
    result = check_window(NOW, [], WindowPolicy.BLOCK)
    assert not result.inside
    assert not result.blocked
    assert not result.needs_approval
    assert result.next_start is None
    assert result.message == "No maintenance windows are configured."


def test_policy_values() -> None:
    assert [p.value for p in WindowPolicy] == ["warn", "require-approval", "block"]
    assert WindowPolicy("warn") is WindowPolicy.WARN
    with pytest.raises(ValueError):
        check_window(NOW, parse_windows(SPEC), "sometimes")


# --- every zone's DST nights: one rule for "next window" and "inside a window" (issue #12, item 12) ---------------


def _clock_inside(window: MaintenanceWindow, local: datetime) -> bool:
    """Is the wall clock reading ``local`` inside ``window`` (its day, or the day before for a night window)?"""
    t, wd = local.time(), local.weekday()
    if window.end > window.start:
        return wd in window.days and window.start <= t < window.end
    return (wd in window.days and t >= window.start) or ((wd - 1) % 7 in window.days and t < window.end)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    change=st.sampled_from(TRANSITIONS),
    start_near=st.integers(min_value=-8, max_value=8),  # quarter hours from the change, read before it
    quarters=st.integers(min_value=1, max_value=12),
    daily=st.booleans(),
    now_minutes=st.integers(min_value=-3 * 24 * 60, max_value=24 * 60),
    probe_minutes=st.integers(min_value=-4 * 60, max_value=4 * 60),
)
def test_windows_on_dst_nights_follow_the_wall_clock(
    change: tuple[str, datetime], start_near: int, quarters: int, daily: bool, now_minutes: int, probe_minutes: int
) -> None:
    """Whatever the zone does that night: the next window start is inside a window; and outside a repeated
    hour, an instant is inside exactly when its wall clock reads a time inside the window."""
    name, at = change
    zone = ZoneInfo(name)
    start = wall_before(zone, at, start_near * 15).replace(second=0)
    start = start.replace(minute=start.minute - start.minute % 15)
    end = start + timedelta(minutes=15 * quarters)
    days = frozenset(range(7)) if daily else frozenset({start.weekday()})
    windows = [MaintenanceWindow(days, start.time(), end.time(), name)]

    now = at + timedelta(minutes=now_minutes)
    nxt = next_window_start(now, windows)
    assert nxt is not None and nxt > now
    assert in_window(nxt, windows) is not None, (windows, now, nxt)
    assert check_window(nxt, windows).inside

    probe = at + timedelta(minutes=probe_minutes)
    local = probe.astimezone(zone).replace(tzinfo=None)
    if len(wall_readings(zone, local)) == 1:
        assert (in_window(probe, windows) is not None) is _clock_inside(windows[0], local), (windows, probe, local)
