"""Device-local time in a request: ``02:00 device-local`` gives each device the instant 02:00 means in its zone.

``device_times`` reads the phrase once per zone of the request's devices (``bot.when.parse_when_local``: the
DST rules and ``DEVICE_LOCAL_IF_PAST`` are there) and gives each serial its instant. A device without a zone (a
serial the inventory lacks, or no inventory at all) takes ``DEVICE_ZONE_DEFAULT``, or the request is refused with
those devices listed. ``zone_windows`` checks the instants against maintenance windows in device time
(``daily 01:00-05:00 device``), zone by zone.

Slack-agnostic: the preview's words are ``bot.slack.blocks``'; this module returns facts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from bot.i18n import _, ngettext
from bot.services.inputs import InputError
from bot.when import (
    LocalWhen,
    MaintenanceWindow,
    WindowPolicy,
    check_window,
    date_order_for_locale,
    format_local,
    format_preview,
    parse_when_local,
    resolve_zone,
)

SHOWN = 10  # devices named when some have no zone


class ZoneGroup(BaseModel):
    """The devices of one zone and the instant they get: what the preview shows per zone, earliest first."""

    model_config = ConfigDict(frozen=True)

    zone: str
    devices: int
    local: datetime  # the wall time there (aware, in ``zone``)
    instant: datetime  # UTC
    notes: tuple[str, ...] = ()  # one sentence per ⚠ (a DST move, the next day)
    window: str | None = None  # where the instant falls among the windows in device time, when there are some
    outside: bool = False  # outside every window in device time


class DeviceTimes(BaseModel):
    """A device-local request's times: each serial's instant and the zones, earliest first."""

    model_config = ConfigDict(frozen=True)

    text: str  # the phrase without its device-local marker
    item_times: dict[str, datetime]
    groups: tuple[ZoneGroup, ...]

    @property
    def earliest(self) -> datetime:
        return self.groups[0].instant


def device_zones(serials: Sequence[str], zones: Mapping[str, str], default_zone: str | None) -> dict[str, str]:
    """Serial → zone (the inventory's, else ``default_zone``); ``InputError`` listing the devices with none."""
    missing = [serial for serial in serials if serial not in zones]
    if missing and default_zone is None:
        shown = ", ".join(missing[:SHOWN])
        if len(missing) > SHOWN:
            shown = _("{items} and {count} more").format(items=shown, count=f"{len(missing) - SHOWN:,}")
        raise InputError(
            ngettext(
                "Device-local time needs each device's zone, and {count} device has none (not in the inventory): "
                "{devices}. Add them to INVENTORY_FILE with their zone, or ask an admin to set DEVICE_ZONE_DEFAULT.",
                "Device-local time needs each device's zone, and {count} devices have none (not in the inventory): "
                "{devices}. Add them to INVENTORY_FILE with their zone, or ask an admin to set DEVICE_ZONE_DEFAULT.",
                len(missing),
            ).format(count=f"{len(missing):,}", devices=shown)
        )
    return {serial: zones.get(serial) or default_zone or "UTC" for serial in serials}


def device_times(
    text: str,
    zones: Mapping[str, str],
    *,
    tz: str,
    now: datetime,
    languages: Sequence[str],
    horizon: timedelta,
    locale: str | None,
    windows: Sequence[MaintenanceWindow],
    if_past: str,
) -> DeviceTimes:
    """Each serial of ``zones`` (serial → zone) at the instant ``text`` means in its zone. ``WhenError`` when the
    phrase is refused (in every zone, or in some: they are named)."""
    local: LocalWhen = parse_when_local(
        text, zones.values(), tz=tz, now=now, languages=languages, horizon=horizon,
        date_order=date_order_for_locale(locale), windows=windows, if_past=if_past,
    )  # fmt: skip
    counts = Counter(zones.values())
    groups = tuple(
        ZoneGroup(zone=t.zone, devices=counts[t.zone], local=t.local, instant=t.instant, notes=t.notes)
        for t in local.times
    )
    instants = local.instants()
    return DeviceTimes(
        text=local.text, item_times={serial: instants[zone] for serial, zone in zones.items()}, groups=groups
    )


def same_time_groups(when: datetime, zones: Mapping[str, str]) -> tuple[ZoneGroup, ...]:
    """One instant for every device, grouped by zone (to check windows in device time zone by zone)."""
    counts = Counter(zones.values())
    return tuple(
        ZoneGroup(zone=zone, devices=count, local=when.astimezone(resolve_zone(zone)), instant=when)
        for zone, count in sorted(counts.items())
    )


def local_preview(times: DeviceTimes, *, tz: str, now: datetime) -> str:
    """One line for the request: ``device-local, 3 zones: from <first> to <last>`` (the reader's zone)."""
    first, last = times.groups[0], times.groups[-1]
    span = format_preview(first.instant, tz=tz, now=now)
    if last.instant != first.instant:
        span += f" … {format_local(last.instant, tz, ref=now)}"
    flagged = sum(1 for group in times.groups if group.notes)
    line = _("“{text}” on each device's clock, {zones}: {span}").format(
        text=times.text, zones=_zones(len(times.groups)), span=span
    )
    if flagged:
        adjusted = ngettext("{count} zone adjusted (see below)", "{count} zones adjusted (see below)", flagged)
        line += " ⚠ " + adjusted.format(count=flagged)
    return line


def _zones(count: int) -> str:
    """``1 zone``, ``3 zones``."""
    return ngettext("{count} zone", "{count} zones", count).format(count=count)


class WindowCheckFacts(BaseModel):
    """A window check of one instant, in the shape of ``ZoneWindows`` (no zones)."""

    model_config = ConfigDict(frozen=True)

    groups: tuple[ZoneGroup, ...] = ()
    inside: bool
    blocked: bool
    needs_approval: bool
    message: str


class ZoneWindows(BaseModel):
    """The windows in device time, zone by zone: ``blocked`` / ``needs_approval`` when one zone's instant is
    outside and the policy says so; ``message`` one sentence for the whole request."""

    model_config = ConfigDict(frozen=True)

    groups: tuple[ZoneGroup, ...]
    inside: bool
    blocked: bool
    needs_approval: bool
    message: str


def zone_windows(
    groups: Sequence[ZoneGroup], windows: Sequence[MaintenanceWindow], policy: WindowPolicy | str, *, tz: str
) -> ZoneWindows:
    """Check each zone's instant against the windows as they apply in that zone."""
    checked: list[ZoneGroup] = []
    outside: list[str] = []
    blocked = needs_approval = False
    for group in groups:
        check = check_window(group.instant, windows, policy, tz=tz, device_zone=group.zone)
        checked.append(group.model_copy(update={"window": check.message, "outside": not check.inside}))
        if not check.inside:
            outside.append(group.zone)
        blocked |= check.blocked
        needs_approval |= check.needs_approval
    zones = _zones(len(groups))
    if not outside:
        message = _("Inside the maintenance window on each device's clock ({zones}).").format(zones=zones)
    else:
        listed = ", ".join(outside[:5])
        if len(outside) > 5:
            listed = _("{items} and {count} more").format(items=listed, count=len(outside) - 5)
        if len(groups) == 1:
            where = listed
        else:
            where = _("{count} of the {zones} ({listed})").format(count=len(outside), zones=zones, listed=listed)
        message = _("Outside the maintenance window on the devices' clocks in {where}.").format(where=where)
        if blocked:
            message += " " + _("Scheduling outside a window is not allowed.")
        elif needs_approval:
            message += " " + _("Scheduling outside a window needs an approval.")
    return ZoneWindows(
        groups=tuple(checked), inside=not outside, blocked=blocked, needs_approval=needs_approval, message=message
    )


__all__ = [
    "DeviceTimes",
    "WindowCheckFacts",
    "ZoneGroup",
    "ZoneWindows",
    "device_times",
    "device_zones",
    "local_preview",
    "same_time_groups",
    "zone_windows",
]
