"""Properties of parse_when: whatever a person types, the answer is a safe instant or a WhenError."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.when import WhenError, format_preview, format_relative, parse_when, parse_windows
from tests.support.dst import TRANSITIONS, jump_over, wall_before, wall_readings

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Madrid",
    "America/Costa_Rica",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Pacific/Auckland",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "America/St_Johns",  # -03:30 / -02:30
    "Pacific/Kiritimati",  # +14
    "Pacific/Pago_Pago",  # -11
    "America/Sao_Paulo",  # numeric abbreviation
]

WINDOWS = parse_windows("Sat,Sun 02:00-06:00 America/Costa_Rica; Wed 01:00-03:00 UTC; Fri 22:00-02:00 Europe/Madrid")

TOKENS = [
    # numbers and clock times
    "0", "1", "2", "5", "12", "13", "23", "24", "25", "30", "59", "99", "2026", "1741274400", "1.5",
    "2:30", "02:00", "14:00", "23:59", "24:00", "25:61", "0200", "14h", "2h30", "10/03", "31/04", "10.03",
    "2026-03-08", "2026-11-01T01:30", "2026-03-07T02:00:00-06:00",
    # English
    "at", "in", "on", "the", "next", "this", "coming", "tomorrow", "today", "tonight", "yesterday",
    "day after tomorrow", "am", "pm", "a.m.", "p.m.", "noon", "midnight", "morning", "afternoon", "evening",
    "night", "o'clock", "hours", "hour", "minutes", "min", "days", "weeks", "months", "years", "ago",
    "from now", "and", "a", "an", "half", "monday", "sat", "sun", "friday", "march", "feb", "jan", "20th",
    "1st", "week", "now", "window", "next window", "maintenance",
    # Spanish
    "mañana", "pasado mañana", "hoy", "ayer", "a las", "de la tarde", "de la mañana", "de la noche",
    "de la madrugada", "mediodía", "medianoche", "en", "dentro de", "horas", "minutos", "dos", "media",
    "y", "el", "próximo", "que viene", "lunes", "sábado", "domingo", "marzo", "de", "hace", "la próxima ventana",
    # zones
    "UTC", "Z", "GMT", "UTC+3", "UTC-05:30", "UTC+15", "+02:00", "-0500", "EST", "EDT", "CET", "CEST", "IST",
    "ET", "PT", "America/New_York", "Europe/Madrid", "mars/base",
    # noise
    "reboot", "please", "@", ",", ".", "-", "/", "!", "“", "”", "ñ", "\u200b", "\x00", "１２", "٣",
]  # fmt: skip

nows = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2030, 12, 31),
    timezones=st.just(UTC),
)
zones = st.sampled_from(ZONES)
phrases = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=6).map(" ".join)
glued = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=4).map("".join)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(text: str, tz: str, now: datetime, horizon: timedelta = timedelta(days=365)) -> None:
    try:
        got = parse_when(text, tz=tz, now=now, horizon=horizon, windows=WINDOWS)
    except WhenError as error:
        assert str(error)  # never an empty message
        return
    assert got.tzinfo is UTC
    assert now < got <= now + horizon, (text, tz, now, got)
    # the preview of any accepted instant renders
    assert format_preview(got, tz=tz, now=now)


@SETTINGS
@given(text=st.text(max_size=60), tz=zones, now=nows)
def test_any_text(text: str, tz: str, now: datetime) -> None:
    check(text, tz, now)


@SETTINGS
@given(text=phrases, tz=zones, now=nows)
def test_token_soup(text: str, tz: str, now: datetime) -> None:
    check(text, tz, now)


@SETTINGS
@given(text=glued, tz=zones, now=nows)
def test_glued_tokens(text: str, tz: str, now: datetime) -> None:
    check(text, tz, now)


@SETTINGS
@given(text=phrases, tz=zones, now=nows, days=st.integers(min_value=1, max_value=30))
def test_any_horizon(text: str, tz: str, now: datetime, days: int) -> None:
    check(text, tz, now, timedelta(days=days))


@SETTINGS
@given(now=nows, tz=zones, minutes=st.integers(min_value=1, max_value=365 * 24 * 60))
def test_minutes_are_elapsed_time(now: datetime, tz: str, minutes: int) -> None:
    assert parse_when(f"in {minutes} minutes", tz=tz, now=now) == now + timedelta(minutes=minutes)


@SETTINGS
@given(now=nows, tz=zones, offset=st.integers(min_value=1, max_value=364 * 24 * 3600))
def test_iso_with_offset_is_exact(now: datetime, tz: str, offset: int) -> None:
    instant = (now + timedelta(seconds=offset)).replace(microsecond=0)
    for zone in ("UTC", "Asia/Kolkata", "America/St_Johns"):
        text = instant.astimezone(ZoneInfo(zone)).isoformat()
        assert parse_when(text, tz=tz, now=now) == instant


@SETTINGS
@given(now=nows, tz=zones, offset=st.integers(min_value=2, max_value=364 * 24 * 60))
def test_local_wall_time_round_trips(now: datetime, tz: str, offset: int) -> None:
    """A local "YYYY-MM-DD HH:MM" means that wall time, or is refused if the zone skips or repeats it."""
    instant = (now + timedelta(minutes=offset)).replace(second=0, microsecond=0)
    local = instant.astimezone(ZoneInfo(tz))
    text = local.strftime("%Y-%m-%d %H:%M")
    try:
        got = parse_when(text, tz=tz, now=now)
    except WhenError as error:
        assert error.reason in ("dst_overlap", "past", "now"), (text, error)
        return
    assert got == instant


@SETTINGS
@given(seconds=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_format_relative_never_fails(seconds: float) -> None:
    text = format_relative(timedelta(seconds=seconds))
    assert text == "now" or text.startswith("in ") or text.endswith(" ago")


# --- DST nights in every zone that has them (issue #12, item 2) ----------------------------------------------------


def _expected(zone: ZoneInfo, hm: tuple[int, int], now: datetime, today_only: bool) -> datetime | str:
    """What "at HH:MM" (or "today HH:MM") must give: the first reading after ``now``, or the refusal due.

    Day by day from today: a day whose HH:MM is skipped refuses (dst_gap) while the jump is ahead; a day whose
    HH:MM happens twice with both still ahead refuses (dst_overlap); otherwise the first reading after now.
    """
    today = now.astimezone(zone).date()
    for k in range(1 if today_only else 3):
        wall = datetime.combine(today + timedelta(days=k), time(*hm))
        readings = wall_readings(zone, wall)
        if not readings:
            if jump_over(zone, wall) > now:
                return "dst_gap"
            continue
        ahead = [u for u in readings if u > now]
        if len(ahead) == 2:
            return "dst_overlap"
        if ahead:
            return ahead[0]
    return "past"


near_transition = st.tuples(
    st.sampled_from(TRANSITIONS),
    st.integers(min_value=-26 * 60, max_value=26 * 60),  # now, in minutes from the change
    st.integers(min_value=0, max_value=59),  # now's seconds
    st.one_of(st.integers(min_value=-150, max_value=150), st.none()),  # the time said: near the change, or any
    st.integers(min_value=0, max_value=24 * 60 - 1),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=near_transition, form=st.sampled_from(["at {hm}", "{hm}", "at {ampm}", "today {hm}", "today {ampm}"]))
def test_a_time_of_day_is_its_next_occurrence_in_every_dst_zone(
    case: tuple[tuple[str, datetime], int, int, int | None, int], form: str
) -> None:
    """Said anywhere near a DST change, "at HH:MM" is the first instant after now whose wall time is HH:MM
    (never a day late), or a refusal when that day skips HH:MM or repeats it with both passes ahead.

    Equality with the first instant is stronger than the issue's bound ("never more than 24 h plus the DST
    shift after it"); the expected value is worked out with zoneinfo alone, day by day.
    """
    (name, change), now_minutes, now_seconds, near, anywhen = case
    zone = ZoneInfo(name)
    now = change + timedelta(minutes=now_minutes, seconds=now_seconds)
    if near is None:
        hm = divmod(anywhen, 60)
    else:  # wall times around the change read with the offset before it: covers what is skipped or repeated
        wall = wall_before(zone, change, near)
        hm = (wall.hour, wall.minute)
    if hm == (0, 0) and "ampm" in form:
        hm = (0, 1)  # "12:00am" alone is "midnight", which has its own rule
    h12 = hm[0] % 12 or 12
    text = form.format(hm=f"{hm[0]:02d}:{hm[1]:02d}", ampm=f"{h12}:{hm[1]:02d}{'am' if hm[0] < 12 else 'pm'}")
    expected = _expected(zone, hm, now, today_only=text.startswith("today"))
    try:
        got: datetime | str = parse_when(text, tz=name, now=now)
    except WhenError as error:
        got = error.reason
    if got == "now":  # "today HH:MM" said at HH:MM:00 exactly
        got = "past"
    assert got == expected, (text, name, now, now.astimezone(zone))
