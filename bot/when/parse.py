"""``parse_when``: the one way the bot turns the text a person typed into a ``scheduled_time``; and ``warm_up``.

The order of the readings: the next maintenance window, "now", ISO 8601, a bare number, then the grammar
(:mod:`bot.when.extract` → :mod:`bot.when.resolve`) and, for a leftover the grammar has never heard of, dateparser
(:mod:`bot.when.fallback`). Every result is checked the same way (:func:`_check`): in the future, within the
horizon.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Final

from bot.i18n import _
from bot.when.errors import EXAMPLES, TooFar, WhenError
from bot.when.extract import extract, pop_zone
from bot.when.fallback import dateparser_settings, load_dateparser, read_with_dateparser
from bot.when.format import day_label, format_local, format_relative
from bot.when.grammar import RX_ISO, RX_NUMBER, RX_SPACES, Grammar, compile_grammar, normalise
from bot.when.reading import Reading
from bot.when.refusals import horizon_example, horizon_text, not_understood, too_far
from bot.when.resolve import Ctx, localize, resolve_reading, time_of_day, valid_date
from bot.when.vocabulary import DEFAULT_LANGUAGES
from bot.when.windows import MaintenanceWindow, has_device_windows, next_window
from bot.when.zones import (
    LocalNotes,
    default_date_order,
    iana_lower_map,
    offset_zone,
    resolve_zone,
    wall_reached,
    wall_readings,
)

DEFAULT_HORIZON: Final[timedelta] = timedelta(days=365)
MAX_TEXT_LENGTH: Final[int] = 200


def _past_example(instant: datetime, ctx: Ctx, zone: tzinfo, *, duration: bool) -> str:
    """What to suggest instead of a past time: the same clock time tomorrow, if that may be scheduled."""
    local = instant.astimezone(zone)
    if local.second == 0 and not duration:
        tomorrow = datetime.combine(ctx.now.astimezone(zone).date() + timedelta(days=1), local.time())
        if ctx.now < wall_reached(tomorrow.replace(microsecond=0), zone) <= ctx.now + ctx.horizon:
            example = _("tomorrow {time} device-local") if ctx.notes is not None else _("tomorrow {time}")
            return example.format(time=f"{local:%H:%M}")
    return _("in 1 hour") if ctx.horizon >= timedelta(hours=2) else horizon_example(ctx.horizon)


def _check(instant: datetime, ctx: Ctx, zone: tzinfo, *, duration: bool = False) -> datetime:
    """Every result passes here: not now, not past, not beyond the horizon."""
    understood = format_local(instant, zone, ref=ctx.now)
    if instant == ctx.now:
        raise WhenError(
            _("That is right now; the bot schedules for a moment in the future. Type e.g. “in 5 min”."),
            understood=understood,
            reason="now",
        )
    if instant < ctx.now:
        ago = format_relative(instant - ctx.now)
        raise WhenError(
            _("{understood} is in the past ({ago}). Type a time in the future, e.g. “{example}”.").format(
                understood=understood, ago=ago, example=_past_example(instant, ctx, zone, duration=duration)
            ),
            understood=understood,
            reason="past",
        )
    limit = ctx.now + ctx.horizon
    if instant > limit:
        raise WhenError(
            _(
                "{understood} is more than {horizon} ahead; the latest you can schedule is {latest}. Pick an "
                "earlier time, e.g. “{example}”."
            ).format(
                understood=understood,
                horizon=horizon_text(ctx.horizon),
                latest=format_local(limit, zone, ref=ctx.now),
                example=horizon_example(ctx.horizon),
            ),
            understood=understood,
            reason="beyond_horizon",
        )
    return instant


def parse_when(
    text: str,
    *,
    tz: str,
    now: datetime,
    languages: Sequence[str] = DEFAULT_LANGUAGES,
    horizon: timedelta = DEFAULT_HORIZON,
    date_order: str | None = None,
    windows: Sequence[MaintenanceWindow] | None = None,
) -> datetime:
    """The instant (aware, UTC) that ``text`` means for a person in zone ``tz`` at ``now``.

    Raises ``WhenError`` (a ``ValueError``) for anything a person typed that is not a safe future instant
    within ``horizon``; ``ValueError``/``TypeError`` for programming errors (naive ``now``, unknown ``tz``,
    bad
    ``date_order``). See the docstring of :mod:`bot.when` for the full semantics.
    """
    ctx = make_context(tz=tz, now=now, languages=languages, horizon=horizon, date_order=date_order, windows=windows)
    return read_when(text, ctx)


def read_when(text: str, ctx: Ctx) -> datetime:
    """What :func:`parse_when` does once its arguments are checked; :func:`bot.when.parse_when_local` reads the
    phrase with it in each device's zone (a context with ``notes``)."""
    s = _normalised(text)
    g = compile_grammar(ctx.languages)

    # 1. the next maintenance window
    if g.next_window is not None and g.next_window.match(s):
        return _check(_next_window(ctx), ctx, ctx.user_zone)

    # 2. "now"
    if g.now_words is not None and g.now_words.match(s):
        raise WhenError(
            _("That is right now; the bot schedules for a moment in the future. Type e.g. “in 5 min”."),
            understood=format_local(ctx.now, ctx.user_zone, ref=ctx.now),
            reason="now",
        )

    # 3. ISO 8601
    iso = RX_ISO.match(s)
    if iso:
        return _check(_iso(iso, ctx), ctx, ctx.user_zone)

    # 4. a bare number
    if re.fullmatch(r"[+-]?[0-9]+(?:[.,][0-9]+)?", s):
        raise _bare_number(text, s)

    # 5. the grammar, and 6. dateparser for what it leaves
    return _read(text, s, g, ctx)


def make_context(
    *,
    tz: str,
    now: datetime,
    languages: Sequence[str],
    horizon: timedelta,
    date_order: str | None,
    windows: Sequence[MaintenanceWindow] | None,
) -> Ctx:
    """The caller's arguments checked (programming errors: ``TypeError``/``ValueError``) and gathered."""
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise TypeError("parse_when needs an aware `now`, e.g. datetime.now(UTC)")
    user_zone = resolve_zone(tz)
    order = (date_order or default_date_order(tz)).upper()
    if order not in ("DMY", "MDY", "YMD"):
        raise ValueError(f"date_order must be 'DMY', 'MDY' or 'YMD', not {date_order!r}")
    if horizon <= timedelta(0):
        raise ValueError("horizon must be positive")
    langs = tuple(dict.fromkeys(languages)) or DEFAULT_LANGUAGES
    return Ctx(now.astimezone(UTC), user_zone, tz, horizon, langs, order,
               tuple(windows) if windows is not None else None)  # fmt: skip


def _normalised(text: str) -> str:
    """The person's text, normalised; refused when empty, too long, or nothing is left of it."""
    if not isinstance(text, str) or not text.strip():
        raise WhenError(_("Please type when, e.g. {examples}.").format(examples=_(EXAMPLES)), reason="empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise WhenError(
            _("That is too long for a time ({count} characters). Type only the time, e.g. {examples}.").format(
                count=len(text), examples=_(EXAMPLES)
            ),
            reason="too_long",
        )
    s = normalise(text)
    if not s:
        raise not_understood(None)
    return s


def _next_window(ctx: Ctx) -> datetime:
    if not ctx.windows:
        raise WhenError(
            _(
                "No maintenance windows are configured, so “next window” has no meaning here. Type a time "
                "instead, e.g. “tomorrow 2am”."
            ),
            reason="no_windows",
        )
    occ = next_window(ctx.now, ctx.windows, device_zone=ctx.user_tz if ctx.notes is not None else None)
    if occ is None:
        if has_device_windows(ctx.windows):
            raise WhenError(
                _(
                    "The maintenance windows are in each device's own time zone, so “next window” is a different "
                    "time for each device. Type “next window device-local”, or a time, e.g. “tomorrow 2am”."
                ),
                reason="device_windows",
            )
        raise not_understood(None)  # pragma: no cover - a configured window always recurs within a week
    if ctx.notes is not None:
        _note_window_start(occ.start, occ.window.start, ctx.user_zone, ctx.notes)
    return occ.start


def _note_window_start(start: datetime, wall_start: time, zone: tzinfo, notes: LocalNotes) -> None:
    """A device window's start on a DST night: skipped (moved to the jump) or repeated (its first pass)."""
    local = start.astimezone(zone)
    wall = datetime.combine(local.date(), wall_start)
    if local.time().replace(tzinfo=None) != wall_start:
        notes.gap_from = wall
    elif len(wall_readings(wall, zone)) == 2:
        notes.repeated = True


def _device_zone_conflict(named: str) -> WhenError:
    """Device-local time is read in each device's zone: a phrase that names a zone of its own contradicts it."""
    return WhenError(
        _(
            "“{zone}” is a time zone, but device-local time is read in each device's own zone. Drop one of them, "
            "e.g. “tomorrow 02:00 device-local” or “tomorrow 02:00 UTC”."
        ).format(zone=named),
        understood=named,
        reason="device_zone_conflict",
    )


def _bare_number(text: str, n: str) -> WhenError:
    """``5``, ``14``, ``1741274400``: a number alone is refused, with the readings it could have."""
    if n.isdigit() and 1 <= int(n) <= 12:
        hint = _("Did you mean {am}, {pm} or in {n} hours? Type e.g. “{pm}” or “in {n} hours”.").format(
            am=f"{int(n):02d}:00", pm=f"{int(n) + 12:02d}:00", n=n
        )
    elif n.isdigit() and int(n) <= 23:
        hint = _("Did you mean {time} or in {n} hours? Type e.g. “{time}” or “in {n} hours”.").format(
            time=f"{int(n):02d}:00", n=n
        )
    elif re.fullmatch(r"([01]?[0-9]|2[0-3])[.,][0-5][0-9]", n):
        hh, mm = re.split(r"[.,]", n)
        hint = _("For a time, type “{time}”, e.g. “tomorrow {time}”.").format(time=f"{int(hh):02d}:{mm}")
    else:
        hint = _("Type a time, e.g. {examples}.").format(examples=_(EXAMPLES))
    return WhenError(
        _("“{text}” is just a number.").format(text=text.strip()) + " " + hint, understood=n, reason="bare_number"
    )


def _read(text: str, s: str, g: Grammar, ctx: Ctx) -> datetime:
    """The grammar reads the phrase; a leftover it cannot place goes to dateparser, if it is worth asking."""
    r = Reading()
    s, r.zone = pop_zone(s)
    if r.zone is not None and ctx.notes is not None:
        raise _device_zone_conflict(r.zone.label)
    zone: tzinfo = r.zone.zone if r.zone else ctx.user_zone
    try:
        leftover = extract(s, g, r, ctx.date_order)
    except TooFar as exc:
        raise too_far(exc.text, ctx.horizon) from None

    if not leftover:
        if r.h_only and not (r.any_day() or r.pod is not None or r.has_duration):
            h, mi = r.hour or 0, r.minute
            dur = _("{hours} hours").format(hours=h) if not mi else f"{h} h {mi} min"
            raise WhenError(
                _("“{text}” could mean {time} or in {duration}. Type “{time}” or “in {duration}”.").format(
                    text=r.time_text, time=f"{h:02d}:{mi:02d}", duration=dur
                ),
                understood=r.time_text,
                reason="ambiguous_hour",
            )
        if not r.any_component():
            raise not_understood(None)
        return _check(resolve_reading(r, ctx), ctx, zone, duration=r.has_duration)

    if g.rx_in_number.match(" ".join(leftover)) or (
        len(leftover) == 2 and leftover[0] in ("in", "en") and leftover[1].replace(".", "").isdigit()
    ):
        raise WhenError(
            _("“{text}” needs a unit, e.g. “in {n} min” or “in {n} hours”.").format(
                text=" ".join(leftover), n=leftover[-1]
            ),
            understood=" ".join(leftover),
            reason="missing_unit",
        )
    if not r.any_component() and all(RX_NUMBER.fullmatch(t) for t in leftover):
        raise WhenError(
            _("“{text}” is just numbers. Type a time, e.g. {examples}.").format(
                text=text.strip(), examples=_(EXAMPLES)
            ),
            reason="bare_number",
        )
    return _with_dateparser(s, leftover, r, g, zone, ctx)


def _with_dateparser(s: str, leftover: list[str], r: Reading, g: Grammar, zone: tzinfo, ctx: Ctx) -> datetime:
    """dateparser, for what the grammar does not know (other languages and phrasings). What the grammar did read
    must still make sense (an ambiguous "at 5" stays ambiguous), and dateparser must agree with it. Only words the
    grammar has never heard of (another language, another phrasing) justify asking it: leftovers made of known
    words and numbers ("and", "tomorrow in", "5 2:30") are just not understood."""
    tod = time_of_day(r)
    if ("week" in leftover or "semana" in leftover) and not r.has_duration:
        raise WhenError(
            _(
                "“{text}” is not a day. Name the day, e.g. “next monday 15:00”, or count the days, e.g. “in 7 days "
                "at 15:00”."
            ).format(text=" ".join(leftover)),
            understood=" ".join(leftover),
            reason="vague",
        )
    if not any(t.isalpha() and len(t) >= 3 and t not in g.known_words for t in leftover):
        raise not_understood(leftover)
    dp_text = RX_SPACES.sub(" ", s.replace("|", " ")).strip()
    instant = read_with_dateparser(dp_text, zone, ctx) if dp_text else None
    if instant is None or not _agrees(r, tod, instant.astimezone(zone), ctx.now.astimezone(zone).date()):
        raise not_understood(leftover if r.any_component() else None)
    return _check(instant, ctx, zone)


def _agrees(r: Reading, tod: time | None, local: datetime, today: date) -> bool:
    """Does dateparser's answer keep what the grammar did read (time, day, weekday, date)?"""
    if tod is not None and (local.hour, local.minute) != (tod.hour, tod.minute):
        return False
    if r.day_offset is not None and local.date() != today + timedelta(days=r.day_offset):
        return False
    if r.weekday is not None and local.weekday() != r.weekday:
        return False
    if r.date_parts is not None:
        year, month, day_ = r.date_parts
        if (local.month, local.day) != (month, day_) or (year is not None and local.year != year):
            return False
    return not (r.dom is not None and local.day != r.dom)


def _iso(m: re.Match[str], ctx: Ctx) -> datetime:
    y, mo, d = int(m["y"]), int(m["mo"]), int(m["d"])
    day = valid_date(y, mo, d, m[0])
    if m["h"] is None:
        label = day_label(day, ctx.now.astimezone(ctx.user_zone).year)
        raise WhenError(
            _("I read “{text}” as {day} but there is no time of day. Add one, e.g. “{text} 02:00”.").format(
                text=m[0], day=label
            ),
            understood=label,
            reason="no_time",
        )
    h, mi, sec = int(m["h"]), int(m["mi"]), int(m["s"] or 0)
    micro = int((m["f"] or "0")[:6].ljust(6, "0"))
    if h > 23 or mi > 59 or sec > 59:
        raise WhenError(
            _("“{text}” has an invalid time: hours go from 00 to 23 and minutes from 00 to 59.").format(text=m[0]),
            reason="invalid_time",
        )
    wall = datetime(y, mo, d, h, mi, sec, micro)
    z = m["z"]
    if z is None:
        return localize(wall, ctx.user_zone, ctx.now, ctx.notes)
    if ctx.notes is not None:
        raise _device_zone_conflict(m[0])
    if z == "z":
        return wall.replace(tzinfo=UTC)
    zm = re.fullmatch(r"([+-])([0-9]{2}):?([0-9]{2})?", z)
    if zm is None:  # pragma: no cover - the regex above only lets these through
        raise not_understood(None)
    return wall.replace(tzinfo=offset_zone(zm[1], zm[2], zm[3], z)).astimezone(UTC)


_WARM_UP_PHRASES: Final[dict[str, str]] = {
    "en": "tomorrow at 2am",
    "es": "mañana a las 15:00",
    "fr": "demain à 15:00",
    "de": "morgen um 15:00",
    "pt": "amanhã às 15:00",
    "it": "domani alle 15:00",
}


def warm_up(languages: Sequence[str] = DEFAULT_LANGUAGES) -> None:
    """Pay dateparser's start-up costs now (import, timezone regexes, language data) instead of on a person's
    first command. Idempotent; call once at bot start with the configured languages.

    Raises ``ValueError`` for a language dateparser doesn't know (a configuration error).
    """
    langs = tuple(dict.fromkeys(languages)) or DEFAULT_LANGUAGES
    dp = load_dateparser()
    iana_lower_map()
    compile_grammar(langs)
    dp.pop_tz("tomorrow at 9 est")
    base = datetime(2026, 3, 6, 10, 20)
    for lang in langs:
        phrase = _WARM_UP_PHRASES.get(lang, "2026-03-07 15:00")
        dp.DateDataParser(languages=[lang], settings=dateparser_settings(base, "DMY")).get_date_data(phrase)
        dp.loader.get_locale(lang)
    dp.DateDataParser(languages=list(langs), settings=dateparser_settings(base, "DMY")).get_date_data("next week 3pm")
    now = datetime(2026, 3, 6, 15, 20, tzinfo=UTC)
    # In the first configured language: with WHEN_LANGUAGES=es an English phrase is (rightly) not understood.
    parse_when(_WARM_UP_PHRASES.get(langs[0], "2026-03-07 15:00"), tz="UTC", now=now, languages=langs)
