"""parse_when: a table of phrases with the instant a person means, reasoned by hand.

Every expected value is a UTC literal with the reasoning in the comment, never dateparser's output.
Reference instants (2026):
  NOW        Fri 6 Mar 15:20Z = 10:20 EST New York = 16:20 CET Madrid = 09:20 CST Costa Rica
             = Sat 7 Mar 00:20 JST Tokyo = 20:50 IST Kolkata = 05:20 HST Honolulu = Sat 7 Mar 04:20 NZDT Auckland
  New York:  DST starts Sun 8 Mar 02:00 EST -> 03:00 EDT (07:00Z); ends Sun 1 Nov 02:00 EDT -> 01:00 EST (06:00Z)
  Madrid:    DST starts Sun 29 Mar 02:00 CET -> 03:00 CEST (01:00Z); ends Sun 25 Oct 03:00 CEST -> 02:00 CET (01:00Z)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.when import (
    MaintenanceWindow,
    WhenError,
    date_order_for_locale,
    default_date_order,
    format_preview,
    format_relative,
    parse_when,
    parse_windows,
)

NOW = datetime(2026, 3, 6, 15, 20, tzinfo=UTC)  # Friday
SAT_NY = datetime(2026, 3, 7, 15, 0, tzinfo=UTC)  # Sat 7 Mar 10:00 EST, the day before NY springs forward
NY_NIGHT = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)  # Sun 8 Mar 01:30 EST, 30 min before the jump
NY_FALL = datetime(2026, 10, 31, 15, 0, tzinfo=UTC)  # Sat 31 Oct 11:00 EDT, the day before NY falls back
MAD_SPRING = datetime(2026, 3, 28, 9, 0, tzinfo=UTC)  # Sat 28 Mar 10:00 CET, the day before Madrid springs
MAD_FALL = datetime(2026, 10, 24, 9, 0, tzinfo=UTC)  # Sat 24 Oct 11:00 CEST, the day before Madrid falls back
INSIDE = datetime(2026, 3, 7, 9, 0, tzinfo=UTC)  # Sat 7 Mar 03:00 CST, inside the Costa Rica window

NY = "America/New_York"
MAD = "Europe/Madrid"
CR = "America/Costa_Rica"
TOKYO = "Asia/Tokyo"

WINDOWS = parse_windows("Sat,Sun 02:00-06:00 America/Costa_Rica; Wed 01:00-03:00 UTC")


def z(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# (text, tz, now, expected UTC instant) — the comment says what the person means
CASES: list[tuple[str, str, datetime, datetime]] = [
    # --- relative: hours/minutes are elapsed time, days/weeks/months keep the wall clock -----------------------
    ("in 2 hours", NY, NOW, z(2026, 3, 6, 17, 20)),  # 15:20Z + 2 h
    ("in 90 minutes", NY, NOW, z(2026, 3, 6, 16, 50)),  # + 1 h 30
    ("in 30 min", "UTC", NOW, z(2026, 3, 6, 15, 50)),  # + 30 min
    ("in 1h30", NY, NOW, z(2026, 3, 6, 16, 50)),  # compact 1 h 30 min
    ("in an hour and a half", NY, NOW, z(2026, 3, 6, 16, 50)),  # 1.5 h
    ("2 hours from now", NY, NOW, z(2026, 3, 6, 17, 20)),  # suffix form
    ("2 hours", NY, NOW, z(2026, 3, 6, 17, 20)),  # a bare duration points forward
    ("in 5 min", "UTC", NOW, z(2026, 3, 6, 15, 25)),  # + 5 min
    ("in 2 days", NY, NOW, z(2026, 3, 8, 14, 20)),  # Fri 10:20 EST -> Sun 10:20 EDT (wall clock over the jump)
    ("in 2 days", "UTC", NOW, z(2026, 3, 8, 15, 20)),  # no DST: exactly 48 h
    ("in 1 week", NY, NOW, z(2026, 3, 13, 14, 20)),  # Fri 13 Mar 10:20 EDT
    ("in 1 month", NY, NOW, z(2026, 4, 6, 14, 20)),  # Mon 6 Apr 10:20 EDT
    ("in 2 days at 3pm", NY, NOW, z(2026, 3, 8, 19, 0)),  # Sun 8 Mar 15:00 EDT
    ("in 24 hours", NY, SAT_NY, z(2026, 3, 8, 15, 0)),  # elapsed: Sun 11:00 EDT (the day had 23 h)
    ("in 1 day", NY, SAT_NY, z(2026, 3, 8, 14, 0)),  # wall clock: Sun 10:00 EDT
    ("in 1 hour", NY, NY_NIGHT, z(2026, 3, 8, 7, 30)),  # 01:30 EST + 1 h = 03:30 EDT
    ("in 24 hours", NY, NY_FALL, z(2026, 11, 1, 15, 0)),  # elapsed: Sun 10:00 EST (the day had 25 h)
    ("in 1 day", NY, NY_FALL, z(2026, 11, 1, 16, 0)),  # wall clock: Sun 11:00 EST
    ("in 2 days", MAD, MAD_SPRING, z(2026, 3, 30, 8, 0)),  # Sat 10:00 CET -> Mon 10:00 CEST
    # --- time of day: the next occurrence ----------------------------------------------------------------------
    ("at 2am", NY, NOW, z(2026, 3, 7, 7, 0)),  # said at 10:20: tomorrow 02:00 EST
    ("at 11am", NY, NOW, z(2026, 3, 6, 16, 0)),  # still ahead today: 11:00 EST
    ("at 10am", NY, NOW, z(2026, 3, 7, 15, 0)),  # 10:00 has passed (10:20): tomorrow 10:00 EST
    ("14:00", NY, NOW, z(2026, 3, 6, 19, 0)),  # today 14:00 EST
    ("09:15", NY, NOW, z(2026, 3, 7, 14, 15)),  # passed: tomorrow 09:15 EST
    ("2:30 p.m.", NY, NOW, z(2026, 3, 6, 19, 30)),  # today 14:30 EST
    ("noon", NY, NOW, z(2026, 3, 6, 17, 0)),  # today 12:00 EST
    ("midnight", NY, NOW, z(2026, 3, 7, 5, 0)),  # the next 00:00: Sat 00:00 EST
    ("12am", NY, NOW, z(2026, 3, 7, 5, 0)),  # 12am alone is the next midnight too
    ("mediodía", CR, NOW, z(2026, 3, 6, 18, 0)),  # noon, not "medio día" (half a day): 12:00 CST
    ("at 23", NY, NOW, z(2026, 3, 7, 4, 0)),  # 23 can only be 23:00: today 23:00 EST
    ("at 0200", NY, NOW, z(2026, 3, 7, 7, 0)),  # military time 02:00 EST tomorrow
    ("tomorrow 14h", NY, NOW, z(2026, 3, 7, 19, 0)),  # Sat 14:00 EST
    ("tomorrow 14h30", NY, NOW, z(2026, 3, 7, 19, 30)),  # Sat 14:30 EST
    ("tonight at 11", NY, NOW, z(2026, 3, 7, 4, 0)),  # tonight makes 11 pm: Fri 23:00 EST
    ("tomorrow at 9am", NY, NOW, z(2026, 3, 7, 14, 0)),  # Sat 09:00 EST
    ("tomorrow at 9am", NY, SAT_NY, z(2026, 3, 8, 13, 0)),  # Sun 09:00 EDT (dateparser alone says 14:00Z)
    ("tomorrow afternoon at 3", NY, NOW, z(2026, 3, 7, 20, 0)),  # Sat 15:00 EST
    ("tomorrow at 3 in the afternoon", NY, NOW, z(2026, 3, 7, 20, 0)),  # Sat 15:00 EST
    ("today at 5pm", NY, NOW, z(2026, 3, 6, 22, 0)),  # Fri 17:00 EST
    ("day after tomorrow at 08:00", NY, NOW, z(2026, 3, 8, 12, 0)),  # Sun 08:00 EDT
    ("Tomorrow @ 2AM", NY, NOW, z(2026, 3, 7, 7, 0)),  # case and @ don't matter
    ("“tomorrow 2am”", NY, NOW, z(2026, 3, 7, 7, 0)),  # smart quotes pasted from Slack
    # --- weekdays ------------------------------------------------------------------------------------------------
    ("friday 10pm", NY, NOW, z(2026, 3, 7, 3, 0)),  # today is Friday and 22:00 is ahead: tonight
    ("friday 9am", NY, NOW, z(2026, 3, 13, 13, 0)),  # 09:00 today has passed: Fri 13 Mar 09:00 EDT
    ("sat 02:00", NY, NOW, z(2026, 3, 7, 7, 0)),  # Sat 7 Mar 02:00 EST
    ("next sat 4am", NY, NOW, z(2026, 3, 7, 9, 0)),  # next = first Saturday after today: Sat 7 Mar 04:00 EST
    ("next friday 10:00", NY, NOW, z(2026, 3, 13, 14, 0)),  # first Friday after today: 13 Mar 10:00 EDT
    ("monday 9am", NY, NOW, z(2026, 3, 9, 13, 0)),  # Mon 9 Mar 09:00 EDT
    ("this sunday 06:00", NY, NOW, z(2026, 3, 8, 10, 0)),  # Sun 8 Mar 06:00 EDT
    ("on wednesday at 15:30", NY, NOW, z(2026, 3, 11, 19, 30)),  # Wed 11 Mar 15:30 EDT
    # --- absolute dates ------------------------------------------------------------------------------------------
    ("March 10 at 3pm", NY, NOW, z(2026, 3, 10, 19, 0)),  # Tue 10 Mar 15:00 EDT
    ("10 March 14:00", MAD, NOW, z(2026, 3, 10, 13, 0)),  # 14:00 CET
    ("10/03 14:00", MAD, NOW, z(2026, 3, 10, 13, 0)),  # Madrid writes day/month: 10 Mar 14:00 CET
    ("10/03 14:00", NY, NOW, z(2026, 10, 3, 18, 0)),  # New York writes month/day: 3 Oct 14:00 EDT
    ("the 20th at 9am", NY, NOW, z(2026, 3, 20, 13, 0)),  # this month's 20th, 09:00 EDT
    ("Jan 5 09:00", NY, NOW, z(2027, 1, 5, 14, 0)),  # 5 Jan has passed this year: 2027, 09:00 EST
    ("2026-03-07 02:00", NY, NOW, z(2026, 3, 7, 7, 0)),  # naive ISO-like: New York wall time
    ("2026-12-24 18:00", MAD, NOW, z(2026, 12, 24, 17, 0)),  # 18:00 CET
    ("2026-03-07t09:00", NY, NOW, z(2026, 3, 7, 14, 0)),  # lower-case T
    ("Mar 6 2027 10:00", NY, NOW, z(2027, 3, 6, 15, 0)),  # 40 min inside the 365-day horizon
    # --- ISO 8601 with an offset: that exact instant ----------------------------------------------------------
    ("2026-03-07T02:00:00-06:00", NY, NOW, z(2026, 3, 7, 8, 0)),
    ("2026-03-07T08:00:00Z", MAD, NOW, z(2026, 3, 7, 8, 0)),
    ("2026-03-07T02:00:00.5+01:00", NY, NOW, datetime(2026, 3, 7, 1, 0, 0, 500000, tzinfo=UTC)),
    # --- a zone in the phrase: the whole phrase is read in that zone ---------------------------------------------
    ("tomorrow 14:30 UTC", NY, NOW, z(2026, 3, 7, 14, 30)),  # UTC's tomorrow is Sat 7 Mar
    ("14:00 UTC+3", NY, NOW, z(2026, 3, 7, 11, 0)),  # 18:20 at +3: tomorrow 14:00+03
    ("09:00 EST", MAD, NOW, z(2026, 3, 7, 14, 0)),  # 10:20 at -5 (passed): Sat 09:00-05
    ("tomorrow 9am America/Costa_Rica", NY, NOW, z(2026, 3, 7, 15, 0)),  # Sat 09:00 CST (-6)
    ("16:00 CET", NY, NOW, z(2026, 3, 7, 15, 0)),  # 16:20 at +1 (passed): Sat 16:00+01
    ("14:00 +02:00", MAD, NOW, z(2026, 3, 7, 12, 0)),  # 17:20 at +2 (passed): Sat 14:00+02
    ("0200Z", NY, NOW, z(2026, 3, 7, 2, 0)),  # military UTC
    ("tomorrow 9am ET", MAD, SAT_NY, z(2026, 3, 8, 13, 0)),  # ET follows New York's DST: Sun 09:00 EDT
    ("tomorrow 14:00 europe/madrid", NY, NOW, z(2026, 3, 7, 13, 0)),  # IANA name in any case: 14:00 CET
    ("tomorrow 2am IST", NY, NOW, z(2026, 3, 6, 20, 30)),  # IST = India +05:30: Sat 02:00 IST
    # --- Spanish -------------------------------------------------------------------------------------------------
    ("mañana a las 15:00", MAD, NOW, z(2026, 3, 7, 14, 0)),  # Sat 15:00 CET
    ("mañana a las 3 de la tarde", MAD, NOW, z(2026, 3, 7, 14, 0)),  # de la tarde = pm
    ("el lunes a las 9:00", MAD, NOW, z(2026, 3, 9, 8, 0)),  # Mon 9 Mar 09:00 CET
    ("pasado mañana a las 10:00", MAD, NOW, z(2026, 3, 8, 9, 0)),  # Sun 8 Mar 10:00 CET
    ("el próximo sábado a las 02:00", MAD, NOW, z(2026, 3, 7, 1, 0)),  # Sat 7 Mar 02:00 CET
    ("en 2 horas", MAD, NOW, z(2026, 3, 6, 17, 20)),
    ("en dos horas", MAD, NOW, z(2026, 3, 6, 17, 20)),  # number word
    ("dentro de media hora", MAD, NOW, z(2026, 3, 6, 15, 50)),
    ("en 1 hora y 30 minutos", MAD, NOW, z(2026, 3, 6, 16, 50)),
    ("mañana a mediodía", MAD, NOW, z(2026, 3, 7, 11, 0)),  # Sat 12:00 CET
    ("hoy a las 22:00", MAD, NOW, z(2026, 3, 6, 21, 0)),  # Fri 22:00 CET
    ("a las 9 de la noche", MAD, NOW, z(2026, 3, 6, 20, 0)),  # 21:00 CET tonight
    ("mañana a las 2 de la madrugada", MAD, NOW, z(2026, 3, 7, 1, 0)),  # Sat 02:00 CET
    ("esta noche a las 11", MAD, NOW, z(2026, 3, 6, 22, 0)),  # 23:00 CET
    ("medianoche", MAD, NOW, z(2026, 3, 6, 23, 0)),  # the next 00:00 CET (Sat)
    ("10 de marzo a las 14:00", MAD, NOW, z(2026, 3, 10, 13, 0)),
    ("sábado a las 10:00", CR, NOW, z(2026, 3, 7, 16, 0)),  # Sat 10:00 CST
    ("el sábado que viene a las 10:00", CR, NOW, z(2026, 3, 7, 16, 0)),  # first Saturday after today
    ("sabado 10:00", CR, NOW, z(2026, 3, 7, 16, 0)),  # accents optional
    # --- DST: valid wall times around the changes ---------------------------------------------------------------
    ("sunday 3:30am", NY, NOW, z(2026, 3, 8, 7, 30)),  # after the jump: 03:30 EDT
    ("sunday 1:30am", NY, NOW, z(2026, 3, 8, 6, 30)),  # before the jump: 01:30 EST
    ("tomorrow at 1:30am EDT", NY, NY_FALL, z(2026, 11, 1, 5, 30)),  # first 01:30 (EDT, -4)
    ("tomorrow at 1:30am EST", NY, NY_FALL, z(2026, 11, 1, 6, 30)),  # second 01:30 (EST, -5)
    ("sunday 1:30am -04:00", NY, NY_FALL, z(2026, 11, 1, 5, 30)),  # an offset also picks one
    ("tomorrow at 9am", NY, NY_FALL, z(2026, 11, 1, 14, 0)),  # Sun 09:00 EST
    ("mañana a las 9:00", MAD, MAD_SPRING, z(2026, 3, 29, 7, 0)),  # Sun 09:00 CEST
    ("mañana a las 03:30", MAD, MAD_SPRING, z(2026, 3, 29, 1, 30)),  # 03:30 CEST exists
    ("en 24 horas", MAD, MAD_SPRING, z(2026, 3, 29, 9, 0)),  # elapsed: Sun 11:00 CEST
    ("mañana a las 02:30 CEST", MAD, MAD_FALL, z(2026, 10, 25, 0, 30)),  # first 02:30
    ("mañana a las 02:30 CET", MAD, MAD_FALL, z(2026, 10, 25, 1, 30)),  # second 02:30
    # --- the local date differs from the UTC date ---------------------------------------------------------------
    ("tomorrow 9am", TOKYO, NOW, z(2026, 3, 8, 0, 0)),  # it is already Saturday in Tokyo: Sun 09:00 JST
    ("today 9am", TOKYO, NOW, z(2026, 3, 7, 0, 0)),  # Tokyo's today is Sat 7 Mar
    ("at 9am", TOKYO, NOW, z(2026, 3, 7, 0, 0)),  # next 09:00 JST
    ("sat 10:00", TOKYO, NOW, z(2026, 3, 7, 1, 0)),  # today (Saturday) 10:00 JST is ahead
    ("friday 10:00", TOKYO, NOW, z(2026, 3, 13, 1, 0)),  # Friday has passed in Tokyo: 13 Mar
    ("tomorrow 8pm", "Pacific/Honolulu", NOW, z(2026, 3, 8, 6, 0)),  # Sat 20:00 HST = Sun 06:00Z
    ("tomorrow 2am", "Pacific/Auckland", NOW, z(2026, 3, 7, 13, 0)),  # Sun 8 Mar 02:00 NZDT (+13)
    ("tomorrow 9am", "Asia/Kolkata", NOW, z(2026, 3, 7, 3, 30)),  # Sat 09:00 IST (+05:30)
]


@pytest.mark.parametrize(("text", "tz", "now", "expected"), CASES, ids=[f"{c[0]}|{c[1]}" for c in CASES])
def test_phrase(text: str, tz: str, now: datetime, expected: datetime) -> None:
    got = parse_when(text, tz=tz, now=now)
    assert got == expected
    assert got.tzinfo is UTC
    assert now < got <= now + timedelta(days=365)


def test_table_is_big_enough() -> None:
    assert len(CASES) >= 100


def test_date_order_can_be_passed() -> None:
    # a Slack user in New York whose locale writes day/month
    got = parse_when("10/03 14:00", tz=NY, now=NOW, date_order="DMY")
    assert got == z(2026, 3, 10, 18, 0)  # 10 Mar 14:00 EDT


def test_date_order_helpers() -> None:
    assert default_date_order(NY) == "MDY"
    assert default_date_order("America/Indiana/Indianapolis") == "MDY"
    assert default_date_order(MAD) == "DMY"
    assert default_date_order(CR) == "DMY"
    assert date_order_for_locale("en-US") == "MDY"
    assert date_order_for_locale("en_GB") == "DMY"
    assert date_order_for_locale("es-LA") == "DMY"
    assert date_order_for_locale("ja-JP") == "YMD"
    assert date_order_for_locale(None) is None
    assert date_order_for_locale("") is None


# --- maintenance windows in phrases ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        ("next maintenance window", NOW, z(2026, 3, 7, 8, 0)),  # Sat 02:00 CST
        ("next window", NOW, z(2026, 3, 7, 8, 0)),
        ("in the next window", NOW, z(2026, 3, 7, 8, 0)),
        ("la próxima ventana", NOW, z(2026, 3, 7, 8, 0)),
        ("próxima ventana de mantenimiento", NOW, z(2026, 3, 7, 8, 0)),
        ("next window", INSIDE, z(2026, 3, 8, 8, 0)),  # inside Saturday's window: the next one is Sunday's
    ],
)
def test_next_window(text: str, now: datetime, expected: datetime) -> None:
    assert parse_when(text, tz=CR, now=now, windows=WINDOWS) == expected


def test_next_window_without_windows() -> None:
    for windows in (None, []):
        with pytest.raises(WhenError) as exc:
            parse_when("next window", tz=CR, now=NOW, windows=windows)
        assert exc.value.reason == "no_windows"
        assert "No maintenance windows are configured" in str(exc.value)
        assert "“" in str(exc.value)  # an example of what to type instead


# --- rejections ------------------------------------------------------------------------------------------------

# (text, tz, now, reason, a phrase the message must contain)
REJECTIONS: list[tuple[str, str, datetime, str, str]] = [
    ("", NY, NOW, "empty", "e.g."),
    ("   ", NY, NOW, "empty", "e.g."),
    ("asdf qwerty", NY, NOW, "not_understood", "e.g."),
    ("reboot the gateway", NY, NOW, "not_understood", "e.g."),
    ("reboot tomorrow at 2am", NY, NOW, "not_understood", "reboot"),
    ("next week 3pm", NY, NOW, "vague", "next monday"),
    ("yesterday 3pm", NY, NOW, "past", "in the past"),
    ("2 hours ago", NY, NOW, "past", "in the past"),
    ("hace 2 horas", MAD, NOW, "past", "in the past"),
    ("today at 9am", NY, NOW, "past", "1 h 20 min ago"),
    ("this friday 9am", NY, NOW, "past", "in the past"),
    ("2026-03-01 10:00", NY, NOW, "past", "in the past"),
    ("2026-03-06T15:19:00Z", NY, NOW, "past", "1 min ago"),
    ("now", NY, NOW, "now", "in 5 min"),
    ("ahora", MAD, NOW, "now", "in 5 min"),
    ("in 0 minutes", NY, NOW, "now", "in 5 min"),
    ("2026-03-06T15:20:00Z", NY, NOW, "now", "in 5 min"),
    ("tomorrow", NY, NOW, "no_time", "Sat 7 Mar"),
    ("monday", NY, NOW, "no_time", "Mon 9 Mar"),
    ("March 10", NY, NOW, "no_time", "Tue 10 Mar"),
    ("2026-03-10", NY, NOW, "no_time", "Tue 10 Mar"),
    ("mañana", MAD, NOW, "no_time", "Sat 7 Mar"),
    ("el lunes", MAD, NOW, "no_time", "Mon 9 Mar"),
    ("tomorrow morning", NY, NOW, "vague", "09:00"),
    ("tonight", NY, NOW, "vague", "e.g."),
    ("5", NY, NOW, "bare_number", "05:00, 17:00 or in 5 hours"),
    ("1741274400", NY, NOW, "bare_number", "e.g."),
    ("2026", NY, NOW, "bare_number", "e.g."),
    ("14.30", MAD, NOW, "bare_number", "14:30"),
    ("March", NY, NOW, "month_only", "e.g."),
    ("at 2", NY, NOW, "ambiguous_hour", "02:00 or 14:00"),
    ("tomorrow at 5", NY, NOW, "ambiguous_hour", "05:00 or 17:00"),
    ("a las 3", MAD, NOW, "ambiguous_hour", "03:00 or 15:00"),
    ("mañana a las 3", MAD, NOW, "ambiguous_hour", "03:00 or 15:00"),
    ("2 o'clock", NY, NOW, "ambiguous_hour", "02:00 or 14:00"),
    ("at 12", NY, NOW, "ambiguous_hour", "noon or midnight"),
    ("2h", NY, NOW, "ambiguous_hour", "in 2 hours"),
    ("tomorrow at midnight", NY, NOW, "ambiguous_midnight", "2026-03-08 00:00"),
    ("Feb 30 10:00", NY, NOW, "invalid_date", "no day 30"),
    ("2027-02-29 10:00", NY, NOW, "invalid_date", "no day 29"),
    ("31/04 10:00", MAD, NOW, "invalid_date", "no day 31"),
    ("25/03 10:00", NY, NOW, "invalid_date", "month/day"),
    ("25:00", NY, NOW, "invalid_time", "23:00"),
    ("14:75", NY, NOW, "invalid_time", "23:00"),
    ("13pm", NY, NOW, "invalid_time", "13:00"),
    ("in 2 years", NY, NOW, "beyond_horizon", "365 days"),
    ("in 366 days", NY, NOW, "beyond_horizon", "Sat 6 Mar 2027 10:20 EST"),
    ("Mar 6 2027 10:21", NY, NOW, "beyond_horizon", "365 days"),
    ("2028-01-01 10:00", NY, NOW, "beyond_horizon", "365 days"),
    ("in 99999999999 days", NY, NOW, "beyond_horizon", "e.g."),
    ("tomorrow at 2:30am", NY, SAT_NY, "dst_gap", "does not exist"),
    ("2026-03-08 02:00", NY, NOW, "dst_gap", "2026-03-08 03:00"),
    ("mañana a las 02:30", MAD, MAD_SPRING, "dst_gap", "2026-03-29 03:30"),
    ("tomorrow at 1:30am", NY, NY_FALL, "dst_overlap", "“2026-11-01 01:30 EDT”"),
    ("2026-11-01 01:00", NY, NOW, "dst_overlap", "happens twice"),
    ("mañana a las 02:30", MAD, MAD_FALL, "dst_overlap", "“2026-10-25 02:30 CET”"),
    ("tomorrow 9am Mars/Base", NY, NOW, "unknown_zone", "America/Costa_Rica"),
    ("tomorrow 9am UTC+15", NY, NOW, "unknown_zone", "UTC+14:00"),
    ("tomorrow 9am UTC EST", NY, NOW, "conflict", "two time zones"),
    ("tomorrow monday 9am", NY, NOW, "conflict", "Sat 7 Mar is a Saturday"),
    ("2am 3pm", NY, NOW, "conflict", "two times"),
    ("in 2 hours at 3pm", NY, NOW, "conflict", "don't go together"),
    ("3am in the afternoon", NY, NOW, "conflict", "don't go together"),
    ("in 5", NY, NOW, "missing_unit", "in 5 min"),
    ("tomorrow at 12am", NY, NOW, "ambiguous_midnight", "2026-03-07 00:00"),
    ("noon tonight", NY, NOW, "conflict", "don't go together"),
    ("14h de la noche", MAD, NOW, "conflict", "don't go together"),
    # known words that don't make a time are not handed to dateparser, which would accept them
    ("and", NY, NOW, "not_understood", "“and”"),
    ("am", NY, NOW, "not_understood", "“am”"),
    ("tomorrow in", NY, NOW, "not_understood", "“in”"),
    ("5 2:30", NY, NOW, "not_understood", "“5”"),
    ("2:30 tomorrow pm", NY, NOW, "not_understood", "“pm”"),
    ("1.5 13:00", NY, NOW, "not_understood", "“1.5”"),
    ("+02:00", NY, NOW, "not_understood", "“+02:00”"),
    ("x" * 300, NY, NOW, "too_long", "e.g."),
]


@pytest.mark.parametrize(("text", "tz", "now", "reason", "hint"), REJECTIONS, ids=[r[0][:40] for r in REJECTIONS])
def test_rejection(text: str, tz: str, now: datetime, reason: str, hint: str) -> None:
    with pytest.raises(WhenError) as exc:
        parse_when(text, tz=tz, now=now)
    error = exc.value
    assert isinstance(error, ValueError)
    assert error.reason == reason, str(error)
    message = str(error)
    assert hint in message
    # a complete sentence with something to type
    assert message[0].isupper() or message.startswith(("“", "0", "1", "2")), message
    assert message.rstrip().endswith("."), message
    assert "“" in message and "”" in message, message


def test_rejection_says_what_was_understood() -> None:
    with pytest.raises(WhenError) as exc:
        parse_when("yesterday 3pm", tz=NY, now=NOW)
    assert exc.value.understood == "Thu 5 Mar 15:00 EST"
    with pytest.raises(WhenError) as exc:
        parse_when("tomorrow", tz=NY, now=NOW)
    assert exc.value.understood == "Sat 7 Mar"
    with pytest.raises(WhenError) as exc:
        parse_when("tomorrow at 5", tz=NY, now=NOW)
    assert exc.value.understood == "at 5 (05:00 or 17:00)"


def test_horizon_is_configurable_and_inclusive() -> None:
    assert parse_when("in 2 days", tz="UTC", now=NOW, horizon=timedelta(days=2)) == NOW + timedelta(days=2)
    with pytest.raises(WhenError) as exc:
        parse_when("in 3 days", tz="UTC", now=NOW, horizon=timedelta(days=2))
    assert exc.value.reason == "beyond_horizon"
    assert "2 days" in str(exc.value)


def test_languages_restrict_the_vocabulary() -> None:
    assert parse_when("mañana a las 15:00", tz=MAD, now=NOW, languages=("es",)) == z(2026, 3, 7, 14, 0)
    with pytest.raises(WhenError):
        parse_when("mañana a las 15:00", tz=MAD, now=NOW, languages=("en",))
    # language-neutral forms work whatever the languages
    assert parse_when("2026-03-07 15:00", tz=MAD, now=NOW, languages=("fr",)) == z(2026, 3, 7, 14, 0)


def test_other_languages_go_through_dateparser() -> None:
    # French is not in the grammar: dateparser reads it, zoneinfo localises it (Sun 8 Mar 09:00 EDT)
    got = parse_when("demain à 9:00", tz=NY, now=SAT_NY, languages=("en", "es", "fr"))
    assert got == z(2026, 3, 8, 13, 0)
    # elapsed time across the jump: Sat 10:00 EST + 2 h = 17:00Z
    assert parse_when("dans 2 heures", tz=NY, now=SAT_NY, languages=("fr",)) == z(2026, 3, 7, 17, 0)


def test_seconds_of_now_are_kept_by_durations() -> None:
    now = datetime(2026, 3, 6, 15, 20, 37, 123000, tzinfo=UTC)
    assert parse_when("in 5 min", tz="UTC", now=now) == now + timedelta(minutes=5)
    assert parse_when("at 16:00", tz="UTC", now=now) == z(2026, 3, 6, 16, 0)


def test_now_may_be_in_any_zone() -> None:
    from zoneinfo import ZoneInfo

    local_now = NOW.astimezone(ZoneInfo(NY))
    assert parse_when("in 2 hours", tz=NY, now=local_now) == z(2026, 3, 6, 17, 20)


def test_programming_errors_are_not_when_errors() -> None:
    with pytest.raises(TypeError):
        parse_when("in 2 hours", tz=NY, now=datetime(2026, 3, 6, 15, 20))  # naive now
    with pytest.raises(ValueError, match="Unknown IANA time zone") as exc:
        parse_when("in 2 hours", tz="Mars/Base", now=NOW)
    assert not isinstance(exc.value, WhenError)
    with pytest.raises(ValueError, match="date_order"):
        parse_when("in 2 hours", tz=NY, now=NOW, date_order="XYZ")


# --- preview -----------------------------------------------------------------------------------------------------


def test_preview_matches_the_documented_example() -> None:
    when = parse_when("sat 2am", tz=CR, now=NOW)
    assert format_preview(when, tz=CR, now=NOW) == "Sat 7 Mar 02:00 CST · 08:00 UTC · in 16 h 40 min"


def test_preview_shows_the_utc_day_when_it_differs() -> None:
    when = parse_when("friday 10pm", tz=NY, now=NOW)
    assert format_preview(when, tz=NY, now=NOW) == "Fri 6 Mar 22:00 EST · Sat 7 Mar 03:00 UTC · in 11 h 40 min"


def test_preview_shows_the_year_when_not_this_year() -> None:
    when = parse_when("Jan 5 09:00", tz=NY, now=NOW)
    assert format_preview(when, tz=NY, now=NOW) == "Tue 5 Jan 2027 09:00 EST · 14:00 UTC · in 304 d 23 h"


def test_preview_numeric_zone_abbreviation() -> None:
    when = z(2026, 3, 7, 12, 0)
    assert format_preview(when, tz="America/Sao_Paulo", now=NOW) == (
        "Sat 7 Mar 09:00 UTC-03 · 12:00 UTC · in 20 h 40 min"
    )


def test_preview_with_windows() -> None:
    inside = z(2026, 3, 7, 8, 0)
    outside = z(2026, 3, 7, 14, 0)
    assert format_preview(inside, tz=CR, now=NOW, windows=WINDOWS).endswith(" · in maintenance window")
    assert format_preview(outside, tz=CR, now=NOW, windows=WINDOWS).endswith(" · outside maintenance windows")
    assert format_preview(outside, tz=CR, now=NOW, windows=[]) == "Sat 7 Mar 08:00 CST · 14:00 UTC · in 22 h 40 min"


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(hours=16, minutes=40), "in 16 h 40 min"),
        (timedelta(minutes=5), "in 5 min"),
        (timedelta(days=3, hours=2), "in 3 d 2 h"),
        (timedelta(days=3, hours=2, minutes=40), "in 3 d 3 h"),  # rounded to the hour beyond a day
        (timedelta(hours=2), "in 2 h"),
        (timedelta(days=1), "in 1 d"),
        (timedelta(seconds=40), "in 40 s"),
        (timedelta(minutes=59, seconds=40), "in 1 h"),
        (timedelta(minutes=-5), "5 min ago"),
        (timedelta(0), "now"),
    ],
)
def test_format_relative(delta: timedelta, text: str) -> None:
    assert format_relative(delta) == text


def test_maintenance_window_is_a_value() -> None:
    a = parse_windows("Sat,Sun 02:00-06:00 America/Costa_Rica")[0]
    b = MaintenanceWindow(frozenset({5, 6}), a.start, a.end, CR)
    assert a == b
    assert hash(a) == hash(b)


# --- inside a DST night: the next occurrence compares instants, not wall dates (issue #12, item 2) ---------------
# New York 2027: falls back Sun 7 Nov 02:00 EDT -> 01:00 EST (06:00Z), so 01:xx happens at 05:xxZ (EDT, first pass)
# and again at 06:xxZ (EST, second pass); springs forward Sun 14 Mar 02:00 EST -> 03:00 EDT (07:00Z).
FIRST_0045 = z(2027, 11, 7, 4, 45)  # 00:45 EDT: both 01:30s are ahead
FIRST_0145 = z(2027, 11, 7, 5, 45)  # 01:45 EDT, first pass: 01:30 EDT has passed, 01:30 EST is ahead
SECOND_0115 = z(2027, 11, 7, 6, 15)  # 01:15 EST, second pass: 01:30 EST is 15 min ahead
SECOND_0145 = z(2027, 11, 7, 6, 45)  # 01:45 EST, second pass: both 01:30s have passed
SPRING_0045 = z(2027, 3, 14, 5, 45)  # 00:45 EST, before the jump
SPRING_0145 = z(2027, 3, 14, 6, 45)  # 01:45 EST, 15 min before the jump
SPRING_0315 = z(2027, 3, 14, 7, 15)  # 03:15 EDT, after the jump: 02:30 was skipped

DST_NIGHT: list[tuple[str, datetime, datetime | str]] = [
    # both readings ahead: refused, naming both
    ("at 1:30am", FIRST_0045, "dst_overlap"),
    ("today 1:30am", FIRST_0045, "dst_overlap"),
    ("1:30am", FIRST_0045, "dst_overlap"),
    # one reading ahead: that one (never the next day)
    ("at 1:30am", FIRST_0145, z(2027, 11, 7, 6, 30)),
    ("today 1:30am", FIRST_0145, z(2027, 11, 7, 6, 30)),
    ("1:30am", FIRST_0145, z(2027, 11, 7, 6, 30)),
    ("at 1:10am", FIRST_0145, z(2027, 11, 7, 6, 10)),  # 01:10 is behind on the wall, but 01:10 EST is ahead
    ("sun 1:30am", FIRST_0145, z(2027, 11, 7, 6, 30)),  # today, not next Sunday
    ("at 1:30am", SECOND_0115, z(2027, 11, 7, 6, 30)),  # the case: 15 min ahead, not tomorrow
    ("today 1:30am", SECOND_0115, z(2027, 11, 7, 6, 30)),  # was refused as ambiguous
    ("01:30", SECOND_0115, z(2027, 11, 7, 6, 30)),
    ("2027-11-07 01:30", SECOND_0115, z(2027, 11, 7, 6, 30)),  # the first 01:30 has passed
    ("at 1:50am", SECOND_0115, z(2027, 11, 7, 6, 50)),
    # both passed: tomorrow's for a bare time, the past for today
    ("at 1:30am", SECOND_0145, z(2027, 11, 8, 6, 30)),
    ("1:30am", SECOND_0145, z(2027, 11, 8, 6, 30)),
    ("today 1:30am", SECOND_0145, "past"),
    ("at 1:10am", SECOND_0115, z(2027, 11, 8, 6, 10)),
    # spring forward: a skipped time is refused while its jump is ahead, and behind once it has passed
    ("at 2:30am", SPRING_0045, "dst_gap"),
    ("at 2:30am", SPRING_0145, "dst_gap"),
    ("at 2:30am", SPRING_0315, z(2027, 3, 15, 6, 30)),  # the next 02:30 is Monday's (EDT)
    ("2:30am", SPRING_0315, z(2027, 3, 15, 6, 30)),
    ("today 2:30am", SPRING_0315, "past"),
    ("at 1:30am", SPRING_0145, z(2027, 3, 15, 5, 30)),
    ("at 3:30am", SPRING_0145, z(2027, 3, 14, 7, 30)),
]


@pytest.mark.parametrize(("text", "now", "expected"), DST_NIGHT, ids=[f"{c[0]}@{c[1]:%H:%MZ}" for c in DST_NIGHT])
def test_inside_a_dst_night_the_next_occurrence_is_taken(text: str, now: datetime, expected: datetime | str) -> None:
    if isinstance(expected, datetime):
        assert parse_when(text, tz=NY, now=now) == expected
        return
    with pytest.raises(WhenError) as exc:
        parse_when(text, tz=NY, now=now)
    assert exc.value.reason == expected, str(exc.value)


def test_a_refused_repeated_time_names_both_readings() -> None:
    with pytest.raises(WhenError) as exc:
        parse_when("at 1:30am", tz=NY, now=FIRST_0045)
    message = str(exc.value)
    assert "“2027-11-07 01:30 EDT” (the first, 05:30 UTC)" in message
    assert "“2027-11-07 01:30 EST” (the second, 06:30 UTC)" in message


def test_a_skipped_time_suggests_only_times_still_ahead() -> None:
    with pytest.raises(WhenError) as exc:
        parse_when("at 2:30am", tz=NY, now=SPRING_0045)
    assert "“2027-03-14 01:30” or “2027-03-14 03:30”" in str(exc.value)
    with pytest.raises(WhenError) as exc:
        parse_when("at 2:30am", tz=NY, now=SPRING_0145)  # 01:30 EST is 15 min ago
    assert "Type “2027-03-14 03:30” instead." in str(exc.value)
    assert "01:30" not in str(exc.value)


def test_a_skipped_midnight_suggests_each_time_on_its_own_day() -> None:
    # Santiago springs forward Sat 5 Sep 2026 24:00 -04 -> Sun 6 Sep 01:00 -03: 00:30 is skipped;
    # 30 min before the jump is Saturday 23:30, 30 min after it Sunday 01:30
    with pytest.raises(WhenError) as exc:
        parse_when("tomorrow 00:30", tz="America/Santiago", now=z(2026, 9, 5, 12, 0))
    assert exc.value.reason == "dst_gap"
    assert "“2026-09-05 23:30” or “2026-09-06 01:30”" in str(exc.value)


def test_utc_times_in_a_refusal_carry_their_own_day() -> None:
    # Auckland falls back Sun 5 Apr 2026 03:00 NZDT -> 02:00 NZST; 02:30 is Saturday 13:30Z and 14:30Z
    with pytest.raises(WhenError) as exc:
        parse_when("tomorrow 2:30am", tz="Pacific/Auckland", now=z(2026, 4, 3, 21, 0))
    assert "(the first, Sat 4 Apr 13:30 UTC)" in str(exc.value)
    assert "(the second, Sat 4 Apr 14:30 UTC)" in str(exc.value)


# --- the horizon and the suggestions that go with it (issue #12, items 9 and 15) ---------------------------------


@pytest.mark.parametrize("days", [1, 2, 3, 5, 30, 365])
def test_horizon_refusal_names_its_number_and_suggests_a_time_inside_it(days: int) -> None:
    horizon = timedelta(days=days)
    with pytest.raises(WhenError) as exc:
        parse_when(f"in {days + 1} days", tz=NY, now=NOW, horizon=horizon)
    message = str(exc.value)
    assert exc.value.reason == "beyond_horizon"
    assert f"more than {days} day{'s' if days > 1 else ''} ahead" in message
    suggestion = message.rsplit("e.g. “", 1)[1].split("”")[0]
    assert NOW < parse_when(suggestion, tz=NY, now=NOW, horizon=horizon) <= NOW + horizon, suggestion


@pytest.mark.parametrize("days", [1, 2, 365])
def test_a_duration_too_large_to_compute_suggests_a_time_inside_the_horizon(days: int) -> None:
    horizon = timedelta(days=days)
    for text in ("in 99999999999 days", "in 9999999999 seconds"):
        with pytest.raises(WhenError) as exc:
            parse_when(text, tz=NY, now=NOW, horizon=horizon)
        message = str(exc.value)
        assert exc.value.reason == "beyond_horizon"
        assert f"within the next {days} day" in message
        suggestion = message.rsplit("e.g. “", 1)[1].split("”")[0]
        assert NOW < parse_when(suggestion, tz=NY, now=NOW, horizon=horizon) <= NOW + horizon, suggestion


def test_past_refusal_suggests_a_time_inside_the_horizon() -> None:
    # "yesterday 23:00" said at 10:20: tomorrow 23:00 is 36 h 40 min away, beyond a 1-day horizon
    with pytest.raises(WhenError) as exc:
        parse_when("yesterday 23:00", tz=NY, now=NOW, horizon=timedelta(days=1))
    suggestion = str(exc.value).rsplit("e.g. “", 1)[1].split("”")[0]
    assert NOW < parse_when(suggestion, tz=NY, now=NOW, horizon=timedelta(days=1)) <= NOW + timedelta(days=1)
    with pytest.raises(WhenError) as exc:
        parse_when("yesterday 3pm", tz=NY, now=NOW)
    assert "e.g. “tomorrow 15:00”" in str(exc.value)  # inside the default horizon: the same clock time


def test_an_invalid_date_names_the_year_it_would_be_read_in() -> None:
    # said on 6 Mar 2026: February has passed, so "Feb 30" would be next February's
    with pytest.raises(WhenError) as exc:
        parse_when("Feb 30 10:00", tz=NY, now=NOW)
    assert "February 2027 has no day 30 (it has 28 days)" in str(exc.value)
    with pytest.raises(WhenError) as exc:
        parse_when("Feb 30 10:00", tz=NY, now=z(2026, 1, 10, 12, 0))  # in January: this February
    assert "February 2026 has no day 30" in str(exc.value)
    with pytest.raises(WhenError) as exc:
        parse_when("30/02 10:00", tz=MAD, now=NOW)
    assert "February 2027 has no day 30" in str(exc.value)


def test_preview_for_a_utc_person_shows_utc_once() -> None:
    when = z(2026, 3, 7, 16, 6)
    assert format_preview(when, tz="UTC", now=NOW) == "Sat 7 Mar 16:06 UTC · in 1 d 1 h"
    assert format_preview(when, tz="Etc/UTC", now=NOW) == "Sat 7 Mar 16:06 UTC · in 1 d 1 h"
    # another zone at offset zero still says which UTC time it is
    assert format_preview(when, tz="Europe/London", now=NOW) == "Sat 7 Mar 16:06 GMT · 16:06 UTC · in 1 d 1 h"
