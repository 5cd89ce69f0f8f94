"""Device-local time: ``02:00 device-local`` is one instant per device zone, read by :func:`parse_when` itself.

``split_device_local`` tells whether a phrase asks for device-local time (the markers ``device-local``,
``device local``, ``device time``, ``local time``, ``local``, ``hora local``, ``hora local del equipo``,
``hora del equipo``…) and gives the phrase without the marker; ``next window`` asks for it too when a maintenance
window is in device time (``daily 01:00-05:00 device``).

``parse_when_local`` reads the phrase in each distinct zone with the reading of :func:`parse_when` (the same
grammar, the same checks: future, within the horizon), the date also in that zone (``tomorrow`` is tomorrow
there). Unlike a person's own time, a device zone's DST night never refuses the phrase (a fleet request must not
fail for one zone) and is never silent: a time the clocks skip moves to the first valid minute after the jump
(``gap-moved``), a repeated one takes its first pass (``repeated-first``). A time of day without a date that has
already passed today in a zone is tomorrow there (``next-day``), or refused with ``if_past=refuse``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Final, NamedTuple
from zoneinfo import ZoneInfo

from bot.i18n import _
from bot.when.device import IfPast, LocalFlag, LocalWhen, ZoneTime
from bot.when.errors import WhenError
from bot.when.format import day_label, format_relative, offset_text, wall_day
from bot.when.grammar import compile_grammar, normalise
from bot.when.parse import DEFAULT_HORIZON, make_context, read_when
from bot.when.resolve import Ctx
from bot.when.vocabulary import DEFAULT_LANGUAGES
from bot.when.windows import MaintenanceWindow, has_device_windows
from bot.when.zones import LocalNotes, default_date_order, resolve_zone

_APOSTROPHE = r"(?:'s|’s|s'|s’)?"
_DEVICE_EN = rf"devices?{_APOSTROPHE}"
_DEVICE_ES = r"(?:equipos?|dispositivos?)"
_OF_DEVICE_ES = rf"de(?:l|\s+(?:los|las|cada))?\s+{_DEVICE_ES}"
_MARKERS: Final[tuple[str, ...]] = (
    # English: device-local (time), device local, the device's local time, device time, local time (of the device)
    rf"(?:in\s+)?(?:the\s+|each\s+)?(?:{_DEVICE_EN}[\s-]*local|local[\s-]+device)(?:\s+times?)?",
    rf"(?:in\s+)?(?:the\s+|each\s+)?local\s+times?(?:\s+of\s+(?:the\s+|each\s+)?{_DEVICE_EN})?",
    rf"(?:in\s+)?(?:the\s+|each\s+)?{_DEVICE_EN}\s+times?",
    # Spanish: hora local (del equipo), hora del equipo / dispositivo
    rf"(?:en\s+)?(?:la\s+)?hora\s+local(?:\s+{_OF_DEVICE_ES})?",
    rf"(?:en\s+)?(?:la\s+)?hora\s+{_OF_DEVICE_ES}",
    r"local",
)
_RX_MARKER: Final[re.Pattern[str]] = re.compile(r"(?<![\w/-])(?:" + "|".join(_MARKERS) + r")(?![\w/-])", re.IGNORECASE)
_RX_SPACES: Final[re.Pattern[str]] = re.compile(r"\s+")
#: Refusals that depend on the zone the phrase is read in; any other refusal is the phrase's, in every zone.
_ZONE_REASONS: Final[frozenset[str]] = frozenset({"past", "now", "beyond_horizon"})
_LISTED_ZONES: Final[int] = 5


class DeviceLocalSplit(NamedTuple):
    """Does the phrase ask for device-local time, and the phrase without the marker."""

    device_local: bool
    text: str


def split_device_local(
    text: str,
    *,
    windows: Sequence[MaintenanceWindow] | None = None,
    languages: Sequence[str] = DEFAULT_LANGUAGES,
) -> DeviceLocalSplit:
    """``tomorrow 02:00 local`` → ``(True, "tomorrow 02:00")``; ``tomorrow 02:00`` → ``(False, "tomorrow 02:00")``.

    ``next window`` (in ``languages``) asks for device-local time when one of ``windows`` is in device time.
    """
    stripped, count = _RX_MARKER.subn(" ", text)
    if count:
        return DeviceLocalSplit(True, _RX_SPACES.sub(" ", stripped).strip(" ,;"))
    if has_device_windows(windows):
        g = compile_grammar(tuple(dict.fromkeys(languages)) or DEFAULT_LANGUAGES)
        if g.next_window is not None and g.next_window.match(normalise(text)):
            return DeviceLocalSplit(True, text.strip())
    return DeviceLocalSplit(False, text.strip())


def parse_when_local(
    text: str,
    zones: Iterable[str],
    *,
    tz: str,
    now: datetime,
    languages: Sequence[str] = DEFAULT_LANGUAGES,
    horizon: timedelta = DEFAULT_HORIZON,
    date_order: str | None = None,
    windows: Sequence[MaintenanceWindow] | None = None,
    if_past: IfPast | str = IfPast.NEXT_DAY,
) -> LocalWhen:
    """The instant ``text`` means in each distinct IANA zone of ``zones`` (the devices' zones), earliest first.

    ``text`` may carry the device-local marker (it is taken off). ``tz`` is the person's zone: numeric dates
    follow its ``date_order`` when none is given. ``windows`` in device time are placed in each zone (``next
    window``). Raises ``WhenError`` when the phrase is refused: in every zone (not understood, ambiguous…), or in
    some (past, beyond ``horizon``, or already past today with ``if_past=refuse``: the zones are named). A
    phrase that names a zone of its own (``02:00 UTC device-local``) is refused. ``ValueError``/``TypeError``
    for programming errors (no zones, an unknown zone, naive ``now``…).
    """
    policy = IfPast(if_past)
    names = _distinct_zones(zones)
    phrase = split_device_local(text).text or text
    base = make_context(
        tz=tz, now=now, languages=languages, horizon=horizon,
        date_order=date_order or default_date_order(tz), windows=windows,
    )  # fmt: skip
    times: list[ZoneTime] = []
    failures: list[tuple[str, WhenError]] = []
    for name in names:
        zone = resolve_zone(name)
        ctx = replace(base, user_zone=zone, user_tz=zone.key, notes=LocalNotes())
        try:
            instant = read_when(phrase, ctx)
        except WhenError as exc:
            if exc.reason not in _ZONE_REASONS:
                raise
            failures.append((zone.key, exc))
            continue
        times.append(_zone_time(zone, instant, ctx))
    if failures:
        raise _zones_error(failures, len(names))
    refused = sorted((t for t in times if LocalFlag.NEXT_DAY in t.flags), key=lambda t: (t.instant, t.zone))
    if refused and policy is IfPast.REFUSE:
        raise _past_today_error(phrase, refused)
    return LocalWhen(phrase, tuple(times))


def _distinct_zones(zones: Iterable[str]) -> list[str]:
    if isinstance(zones, str):
        raise TypeError("zones is an iterable of IANA zone names, not one name")
    names = list(dict.fromkeys(resolve_zone(z).key for z in zones))
    if not names:
        raise ValueError("parse_when_local needs at least one zone")
    return names


def _zone_time(zone: ZoneInfo, instant: datetime, ctx: Ctx) -> ZoneTime:
    """The zone's instant, with a flag and a sentence for each adjustment the reading made."""
    notes = ctx.notes
    assert notes is not None
    local = instant.astimezone(zone)
    flags: list[LocalFlag] = []
    sentences: list[str] = []
    if notes.gap_from is not None:
        before = (instant - timedelta(microseconds=1)).astimezone(zone)
        jump = format_relative((local.utcoffset() or timedelta()) - (before.utcoffset() or timedelta()), suffix=False)
        flags.append(LocalFlag.GAP_MOVED)
        sentences.append(
            _(
                "{asked} does not exist on {day} in {zone} (the clocks jump forward {jump}): moved to {taken}, the "
                "first minute after the jump."
            ).format(
                asked=f"{notes.gap_from:%H:%M}",
                day=wall_day(notes.gap_from),
                zone=zone.key,
                jump=jump,
                taken=f"{local:%H:%M}",
            )
        )
    if notes.repeated:
        flags.append(LocalFlag.REPEATED_FIRST)
        sentences.append(
            _(
                "{time} happens twice on {day} in {zone} (the clocks go back that night): the first one is taken "
                "({offset})."
            ).format(time=f"{local:%H:%M}", day=wall_day(local), zone=zone.key, offset=offset_text(local))
        )
    if notes.next_day:
        flags.append(LocalFlag.NEXT_DAY)
        sentences.append(
            _("{time} has already passed today in {zone}: moved to tomorrow there, {day}.").format(
                time=f"{local:%H:%M}", zone=zone.key, day=day_label(local.date(), ctx.now.astimezone(zone).year)
            )
        )
    return ZoneTime(zone.key, local, instant.astimezone(UTC), frozenset(flags), tuple(sentences))


def _zone_list(zones: Sequence[str]) -> str:
    shown = ", ".join(zones[:_LISTED_ZONES])
    more = len(zones) - _LISTED_ZONES
    return _("{zones} and {count} more").format(zones=shown, count=more) if more > 0 else shown


def _zones_error(failures: list[tuple[str, WhenError]], total: int) -> WhenError:
    """The phrase works in some zones, not in others (past there, beyond the horizon): name them."""
    zone, first = failures[0]
    if total == 1:
        return WhenError(
            _("In {zone}: {message}").format(zone=zone, message=first.message),
            understood=first.understood,
            reason=first.reason,
        )
    failed = [z for z, _exc in failures]
    if len(failed) == total:
        message = _("That time does not work in any of the zones ({zones}). In {zone}: {message}")
    else:
        message = _("That time does not work in {count} of the {total} zones ({zones}). In {zone}: {message}")
    return WhenError(
        message.format(count=len(failed), total=total, zones=_zone_list(failed), zone=zone, message=first.message),
        understood=first.understood,
        reason=first.reason,
    )


def _past_today_error(phrase: str, refused: list[ZoneTime]) -> WhenError:
    """``if_past=refuse``: a time of day already past today in some zones is not moved to tomorrow."""
    zones = [t.zone for t in refused]
    hm = f"{refused[0].local:%H:%M}"
    if len(zones) == 1:
        where = _("in {zone}").format(zone=zones[0])
        message = _(
            "{time} has already passed today in {zone}, and device-local times are not moved to the next day "
            "here. Name the day, e.g. “tomorrow {time} device-local”."
        )
    else:
        where = _("in {count} zones ({zones})").format(count=len(zones), zones=_zone_list(zones))
        message = _(
            "{time} has already passed today in {count} zones ({zones}), and device-local times are not moved to "
            "the next day here. Name the day, e.g. “tomorrow {time} device-local”."
        )
    return WhenError(
        message.format(time=hm, zone=zones[0], count=len(zones), zones=_zone_list(zones)),
        understood=f"{phrase} ({where})",
        reason="past_in_zones",
    )
