"""Device-local time: ``02:00 device-local`` read in each device zone by ``parse_when_local`` (beside
``parse_when``), windows in device time, the DST rules per zone.

Every expected instant is worked out by hand in the comments (offsets from the tz database), not by the code under
test. The moments used as "now":

  NOW      Fri 6 Mar 2026 15:20Z = 20:50 IST Kolkata = 21:05 NPT Kathmandu = Sat 00:20 JST Tokyo
           = 16:20 CET Madrid = Sat 05:20 Kiritimati (+14) = Fri 04:20 Pago Pago (-11)
  LH_GAP   Sat 3 Oct 2026 00:00Z = 10:30 LHST Lord Howe (+10:30); Sun 4 Oct at 02:00 the clocks go to 02:30 (+11)
  LH_FALL  Sat 4 Apr 2026 00:00Z = 11:00 LHDT Lord Howe (+11); Sun 5 Apr at 02:00 the clocks go back to 01:30
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.settings import SettingsError, load_settings
from bot.when import (
    IfPast,
    LocalFlag,
    LocalWhen,
    WhenError,
    check_window,
    format_windows,
    next_window_start,
    parse_when,
    parse_when_local,
    parse_windows,
    split_device_local,
)

NOW = datetime(2026, 3, 6, 15, 20, tzinfo=UTC)
LH_GAP = datetime(2026, 10, 3, 0, 0, tzinfo=UTC)
LH_FALL = datetime(2026, 4, 4, 0, 0, tzinfo=UTC)

KOLKATA = "Asia/Kolkata"
KATHMANDU = "Asia/Kathmandu"
TOKYO = "Asia/Tokyo"
MADRID = "Europe/Madrid"
NY = "America/New_York"
KIRITIMATI = "Pacific/Kiritimati"
PAGO = "Pacific/Pago_Pago"
LORD_HOWE = "Australia/Lord_Howe"

DEVICE_WINDOWS = parse_windows("daily 01:00-05:00 device")


def z(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(text: str, zones: list[str], now: datetime = NOW, **kw: object) -> LocalWhen:
    return parse_when_local(text, zones, tz=kw.pop("tz", "UTC"), now=now, **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------- the marker


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("02:00 device-local", "02:00"),
        ("tomorrow 02:00 local", "tomorrow 02:00"),
        ("mañana a las 2:00 hora local del equipo", "mañana a las 2:00"),
        ("tomorrow 2am device local", "tomorrow 2am"),
        ("tomorrow 2am Device-Local time", "tomorrow 2am"),
        ("sat 02:00 in local time", "sat 02:00"),
        ("02:00 in the device's local time", "02:00"),
        ("02:00 local time of each device", "02:00"),
        ("02:00 device time", "02:00"),
        ("mañana 2:00 hora local", "mañana 2:00"),
        ("mañana a las 2:00 hora del equipo", "mañana a las 2:00"),
        ("mañana a las 2:00 en la hora local de cada dispositivo", "mañana a las 2:00"),
        ("device-local, tomorrow 02:00", "tomorrow 02:00"),
    ],
)
def test_split_device_local_finds_the_marker_and_takes_it_off(text: str, rest: str) -> None:
    assert split_device_local(text) == (True, rest)


@pytest.mark.parametrize("text", ["tomorrow 2am", "02:00 America/New_York", "tomorrow 2am locally", "next window"])
def test_split_device_local_leaves_other_phrases_alone(text: str) -> None:
    assert split_device_local(text) == (False, text)


def test_next_window_asks_for_device_local_time_only_with_windows_in_device_time() -> None:
    assert split_device_local("next window", windows=DEVICE_WINDOWS) == (True, "next window")
    assert split_device_local("la próxima ventana", windows=DEVICE_WINDOWS).device_local is True
    fixed = parse_windows("Sat,Sun 02:00-06:00 America/Costa_Rica")
    assert split_device_local("next window", windows=fixed).device_local is False
    assert split_device_local("tomorrow 2am", windows=DEVICE_WINDOWS).device_local is False


# ------------------------------------------------------------------------------------- one instant per zone


def test_half_and_quarter_hour_offsets_tomorrow_is_tomorrow_there() -> None:
    result = local("tomorrow 02:00 device-local", [KOLKATA, KATHMANDU])
    # Kathmandu Sat 7 Mar 02:00 +05:45 = Fri 20:15Z; Kolkata Sat 7 Mar 02:00 +05:30 = Fri 20:30Z; earliest first
    assert result.zones == (KATHMANDU, KOLKATA)
    assert result.instant(KATHMANDU) == z(2026, 3, 6, 20, 15)
    assert result.instant(KOLKATA) == z(2026, 3, 6, 20, 30)
    assert result.earliest == z(2026, 3, 6, 20, 15)
    assert result.latest == z(2026, 3, 6, 20, 30)
    for t in result.times:
        assert (t.local.date().isoformat(), f"{t.local:%H:%M}") == ("2026-03-07", "02:00")
        assert t.flags == frozenset() and t.notes == () and not t.flagged
    assert result.flagged == ()
    assert result.text == "tomorrow 02:00"


def test_kiritimati_and_pago_pago_same_wall_time_different_utc_dates() -> None:
    result = local("2026-03-10 02:00 local", [PAGO, KIRITIMATI])
    # Kiritimati Tue 10 Mar 02:00 +14 = Mon 9 Mar 12:00Z; Pago Pago Tue 10 Mar 02:00 -11 = Tue 10 Mar 13:00Z
    assert result.instants() == {KIRITIMATI: z(2026, 3, 9, 12, 0), PAGO: z(2026, 3, 10, 13, 0)}
    assert [t.local.replace(tzinfo=None) for t in result.times] == [datetime(2026, 3, 10, 2, 0)] * 2
    assert result.instant(PAGO) - result.instant(KIRITIMATI) == timedelta(hours=25)


def test_tomorrow_in_kiritimati_and_pago_pago_are_different_dates() -> None:
    result = local("tomorrow 02:00 local", [KIRITIMATI, PAGO])
    # Kiritimati is already on Sat 7 Mar (05:20): tomorrow is Sun 8 Mar 02:00 +14 = Sat 7 Mar 12:00Z
    # Pago Pago is on Fri 6 Mar (04:20): tomorrow is Sat 7 Mar 02:00 -11 = Sat 7 Mar 13:00Z
    assert result.for_zone(KIRITIMATI).local.date().isoformat() == "2026-03-08"
    assert result.for_zone(PAGO).local.date().isoformat() == "2026-03-07"
    assert result.instants() == {KIRITIMATI: z(2026, 3, 7, 12, 0), PAGO: z(2026, 3, 7, 13, 0)}


def test_spanish_phrase_with_its_marker() -> None:
    result = local("mañana a las 2:00 hora local del equipo", [MADRID, KOLKATA], tz=MADRID)
    # Kolkata Sat 7 Mar 02:00 +05:30 = Fri 20:30Z; Madrid Sat 7 Mar 02:00 +01:00 = Sat 01:00Z
    assert result.instants() == {KOLKATA: z(2026, 3, 6, 20, 30), MADRID: z(2026, 3, 7, 1, 0)}


def test_zones_are_read_once_each_and_looked_up_by_name() -> None:
    result = local("tomorrow 02:00 local", [KOLKATA, KOLKATA, KATHMANDU, KOLKATA])
    assert result.zones == (KATHMANDU, KOLKATA)
    with pytest.raises(KeyError, match="Asia/Tokyo"):
        result.instant(TOKYO)


def test_numeric_dates_follow_the_persons_date_order() -> None:
    # 10/03: 3 Oct for a person in New York (MDY), 10 Mar for one in Madrid (DMY); read at 02:00 in Kolkata
    assert local("10/03 02:00 local", [KOLKATA], tz=NY).instant(KOLKATA) == z(2026, 10, 2, 20, 30)
    assert local("10/03 02:00 local", [KOLKATA], tz=MADRID).instant(KOLKATA) == z(2026, 3, 9, 20, 30)


# ------------------------------------------------------------------------------------------------------ DST


def test_lord_howe_skipped_half_hour_moves_to_the_first_minute_after_and_is_flagged() -> None:
    result = local("tomorrow 02:15 device-local", [LORD_HOWE, KOLKATA], now=LH_GAP)
    lh = result.for_zone(LORD_HOWE)
    # 02:15 does not exist on Sun 4 Oct: the clocks go from 02:00 (+10:30) to 02:30 (+11) at Sat 15:30Z
    assert lh.instant == z(2026, 10, 3, 15, 30)
    assert f"{lh.local:%H:%M}" == "02:30"
    assert lh.flags == {LocalFlag.GAP_MOVED}
    assert lh.notes == (
        "02:15 does not exist on Sun 4 Oct 2026 in Australia/Lord_Howe (the clocks jump forward 30 min): "
        "moved to 02:30, the first minute after the jump.",
    )
    # the other zone of the fleet is not affected: Sun 4 Oct 02:15 +05:30 = Sat 20:45Z
    assert result.for_zone(KOLKATA).instant == z(2026, 10, 3, 20, 45)
    assert result.flagged == (lh,)
    # a person in Lord Howe typing the same is asked to choose instead
    with pytest.raises(WhenError) as info:
        parse_when("tomorrow 02:15", tz=LORD_HOWE, now=LH_GAP)
    assert info.value.reason == "dst_gap"


def test_lord_howe_repeated_half_hour_takes_the_first_pass_and_is_flagged() -> None:
    result = local("tomorrow 01:45 local", [LORD_HOWE], now=LH_FALL)
    lh = result.for_zone(LORD_HOWE)
    # 01:45 happens at +11 (Sat 14:45Z) and again at +10:30 (Sat 15:15Z): the first
    assert lh.instant == z(2026, 4, 4, 14, 45)
    assert lh.local.utcoffset() == timedelta(hours=11)
    assert lh.flags == {LocalFlag.REPEATED_FIRST}
    assert "happens twice on Sun 5 Apr 2026 in Australia/Lord_Howe" in lh.notes[0]
    assert "(UTC+11:00)" in lh.notes[0]
    with pytest.raises(WhenError) as info:
        parse_when("tomorrow 01:45", tz=LORD_HOWE, now=LH_FALL)
    assert info.value.reason == "dst_overlap"


def test_new_york_spring_forward_hour() -> None:
    # Sun 8 Mar 2026 02:30 does not exist in New York: 02:00 EST → 03:00 EDT at 07:00Z
    t = local("2026-03-08 02:30 local", [NY]).for_zone(NY)
    assert (t.instant, f"{t.local:%H:%M}", t.flags) == (z(2026, 3, 8, 7, 0), "03:00", {LocalFlag.GAP_MOVED})
    assert "(the clocks jump forward 1 h)" in t.notes[0]


# ---------------------------------------------------------------------------------------------------- if_past


def test_if_past_next_day_moves_only_the_zones_where_it_has_passed() -> None:
    result = local("02:00 device-local", [KOLKATA, TOKYO])
    # Tokyo is at Sat 00:20: 02:00 is still ahead today, Sat 02:00 +09 = Fri 17:00Z
    # Kolkata is at Fri 20:50: 02:00 has passed, so Sat 02:00 +05:30 = Fri 20:30Z, flagged
    assert result.instants() == {TOKYO: z(2026, 3, 6, 17, 0), KOLKATA: z(2026, 3, 6, 20, 30)}
    assert result.for_zone(TOKYO).flags == frozenset()
    kolkata = result.for_zone(KOLKATA)
    assert kolkata.flags == {LocalFlag.NEXT_DAY}
    assert kolkata.notes == ("02:00 has already passed today in Asia/Kolkata: moved to tomorrow there, Sat 7 Mar.",)
    assert local("02:00 local", [KOLKATA], if_past=IfPast.NEXT_DAY) == local("02:00 local", [KOLKATA])


def test_if_past_refuse_names_the_zones() -> None:
    with pytest.raises(WhenError) as info:
        local("02:00 device-local", [KOLKATA, TOKYO, KATHMANDU], if_past="refuse")
    assert info.value.reason == "past_in_zones"
    message = str(info.value)
    assert "02:00 has already passed today in 2 zones (Asia/Kathmandu, Asia/Kolkata)" in message
    assert "Asia/Tokyo" not in message
    assert "“tomorrow 02:00 device-local”" in message
    # where it has not passed anywhere, refuse changes nothing
    assert local("02:00 local", [TOKYO], if_past=IfPast.REFUSE).instant(TOKYO) == z(2026, 3, 6, 17, 0)
    # a named day is never moved: tomorrow is tomorrow
    assert local("tomorrow 02:00 local", [KOLKATA], if_past="refuse").instant(KOLKATA) == z(2026, 3, 6, 20, 30)


def test_a_named_day_already_past_in_some_zones_is_refused_naming_them() -> None:
    with pytest.raises(WhenError) as info:
        local("today 16:00 local", [KOLKATA, MADRID, "UTC"])
    # 16:00 today: past in Kolkata (20:50) and Madrid (16:20), ahead in UTC (15:20)
    assert info.value.reason == "past"
    assert str(info.value).startswith("That time does not work in 2 of the 3 zones (Asia/Kolkata, Europe/Madrid).")
    assert str(info.value).endswith("e.g. “tomorrow 16:00 device-local”.")  # the suggestion keeps the marker


# ---------------------------------------------------------------------------------------------------- horizon


def test_horizon_applies_in_each_zone() -> None:
    # tomorrow 02:00: Kiritimati Sat 7 Mar 12:00Z (20 h 40 min ahead), Pago Pago Sat 13:00Z (21 h 40 min ahead)
    ok = local("tomorrow 02:00 local", [KIRITIMATI, PAGO], horizon=timedelta(hours=22))
    assert ok.zones == (KIRITIMATI, PAGO)
    with pytest.raises(WhenError) as info:
        local("tomorrow 02:00 local", [KIRITIMATI, PAGO], horizon=timedelta(hours=21))
    assert info.value.reason == "beyond_horizon"
    assert str(info.value).startswith("That time does not work in 1 of the 2 zones (Pacific/Pago_Pago).")
    with pytest.raises(WhenError, match=r"^In Pacific/Pago_Pago: .* is more than 21 h ahead"):
        local("tomorrow 02:00 local", [PAGO], horizon=timedelta(hours=21))


# --------------------------------------------------------------------------------------------- windows in device time


def test_device_windows_parse_and_print() -> None:
    (window,) = DEVICE_WINDOWS
    assert window.is_device and window.zone == "device"
    assert format_windows(DEVICE_WINDOWS) == "Mon-Sun 01:00-05:00 device"
    assert parse_windows(format_windows(DEVICE_WINDOWS)) == DEVICE_WINDOWS
    assert window.in_zone(KOLKATA).zone == KOLKATA
    with pytest.raises(ValueError, match="in device time"):
        _ = window.tzinfo
    with pytest.raises(ValueError, match="or device"):
        parse_windows("daily 01:00-05:00 devices")


def test_next_window_gives_one_instant_per_zone() -> None:
    result = local("next window", [TOKYO, MADRID, KOLKATA], windows=DEVICE_WINDOWS)
    # Tokyo (Sat 00:20): Sat 01:00 +09 = Fri 16:00Z; Kolkata (Fri 20:50): Sat 01:00 +05:30 = Fri 19:30Z;
    # Madrid (Fri 16:20): Sat 01:00 +01 = Sat 00:00Z
    assert result.zones == (TOKYO, KOLKATA, MADRID)
    assert result.instants() == {
        TOKYO: z(2026, 3, 6, 16, 0),
        KOLKATA: z(2026, 3, 6, 19, 30),
        MADRID: z(2026, 3, 7, 0, 0),
    }
    assert result.flagged == ()
    assert local("la próxima ventana", [MADRID], windows=DEVICE_WINDOWS).instant(MADRID) == z(2026, 3, 7, 0, 0)


def test_next_window_inside_a_device_window_is_the_next_one() -> None:
    # Tokyo at Sat 7 Mar 02:00 JST (Fri 17:00Z) is inside 01:00-05:00: the next is Sun 8 Mar 01:00 JST = Sat 16:00Z
    now = z(2026, 3, 6, 17, 0)
    assert local("next window", [TOKYO], now=now, windows=DEVICE_WINDOWS).instant(TOKYO) == z(2026, 3, 7, 16, 0)
    assert next_window_start(now, DEVICE_WINDOWS, device_zone=TOKYO) == z(2026, 3, 7, 16, 0)


def test_device_window_starting_in_a_skipped_half_hour_is_flagged() -> None:
    windows = parse_windows("daily 02:00-04:00 device")
    lh = local("next window", [LORD_HOWE], now=LH_GAP, windows=windows).for_zone(LORD_HOWE)
    # Sat 3 Oct 10:30 local: the next window is Sun 4 Oct 02:00, skipped: it starts at the jump, 02:30 (Sat 15:30Z)
    assert (lh.instant, f"{lh.local:%H:%M}", lh.flags) == (z(2026, 10, 3, 15, 30), "02:30", {LocalFlag.GAP_MOVED})


def test_device_window_starting_in_a_repeated_half_hour_is_flagged() -> None:
    windows = parse_windows("daily 01:30-04:00 device")
    lh = local("next window", [LORD_HOWE], now=LH_FALL, windows=windows).for_zone(LORD_HOWE)
    # Sun 5 Apr 01:30 happens at +11 (Sat 14:30Z) and at +10:30 (Sat 15:00Z): the window starts at the first
    assert (lh.instant, lh.flags) == (z(2026, 4, 4, 14, 30), {LocalFlag.REPEATED_FIRST})


def test_check_window_uses_the_devices_zone() -> None:
    at = z(2026, 3, 6, 20, 0)  # Kolkata Sat 01:30 (inside), Madrid Fri 21:00 (outside)
    inside = check_window(at, DEVICE_WINDOWS, "block", device_zone=KOLKATA)
    assert inside.inside and not inside.blocked
    assert inside.message == "Inside maintenance window Mon-Sun 01:00-05:00 Asia/Kolkata."
    outside = check_window(at, DEVICE_WINDOWS, "block", device_zone=MADRID)
    assert not outside.inside and outside.blocked
    assert outside.next_start == z(2026, 3, 7, 0, 0)  # Sat 01:00 CET


def test_check_window_without_a_device_zone_leaves_device_windows_out() -> None:
    at = z(2026, 3, 6, 20, 0)
    check = check_window(at, DEVICE_WINDOWS, "block")
    assert (check.inside, check.blocked, check.needs_approval) == (False, False, False)
    assert check.message == "The maintenance windows are in each device's own time zone; they are checked per device."
    mixed = parse_windows("daily 01:00-05:00 device; Fri 19:00-21:00 UTC")
    assert check_window(at, mixed, "block").inside is True  # the UTC window applies as before
    assert check_window(z(2026, 3, 6, 22, 0), mixed, "block").blocked is True


def test_parse_when_next_window_with_only_device_windows_says_what_to_type() -> None:
    with pytest.raises(WhenError) as info:
        parse_when("next window", tz=MADRID, now=NOW, windows=DEVICE_WINDOWS)
    assert info.value.reason == "device_windows"
    assert "“next window device-local”" in str(info.value)


# ------------------------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize("text", ["02:00 UTC device-local", "tomorrow 2am America/New_York local",
                                  "2026-03-07T02:00Z local"])  # fmt: skip
def test_a_phrase_naming_its_own_zone_is_refused(text: str) -> None:
    with pytest.raises(WhenError) as info:
        local(text, [KOLKATA])
    assert info.value.reason == "device_zone_conflict"


def test_refusals_of_the_phrase_itself_are_parse_whens() -> None:
    with pytest.raises(WhenError) as info:
        local("at 5 local", [KOLKATA, MADRID])
    assert info.value.reason == "ambiguous_hour"
    assert "Asia/Kolkata" not in str(info.value)
    with pytest.raises(WhenError) as info:
        local("device-local", [KOLKATA])
    assert info.value.reason in ("not_understood", "empty")


def test_programming_errors() -> None:
    with pytest.raises(ValueError, match="at least one zone"):
        local("02:00 local", [])
    with pytest.raises(ValueError):
        local("02:00 local", ["Mars/Olympus"])
    with pytest.raises(TypeError):
        local("02:00 local", KOLKATA)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        local("02:00 local", [KOLKATA], if_past="later")


# --------------------------------------------------------------------------------------------------- settings


def test_settings_device_local_if_past_and_zone_default(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("DEVICE_LOCAL_IF_PAST", "DEVICE_ZONE_DEFAULT"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert (settings.device_local_if_past, settings.device_zone_default) == (IfPast.NEXT_DAY, None)
    monkeypatch.setenv("DEVICE_LOCAL_IF_PAST", "refuse")
    monkeypatch.setenv("DEVICE_ZONE_DEFAULT", "Asia/Kathmandu")
    settings = load_settings()
    assert (settings.device_local_if_past, settings.device_zone_default) == (IfPast.REFUSE, "Asia/Kathmandu")
    monkeypatch.setenv("DEVICE_ZONE_DEFAULT", "Mars/Olympus")
    monkeypatch.setenv("DEVICE_LOCAL_IF_PAST", "later")
    with pytest.raises(SettingsError) as info:
        load_settings()
    problems = "\n".join(info.value.problems)
    assert "DEVICE_ZONE_DEFAULT: expected an IANA time zone" in problems
    assert "DEVICE_LOCAL_IF_PAST" in problems
