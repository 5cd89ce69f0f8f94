"""Block Kit text for device-local times: the preview per zone, and a request's instants once stored.

Pure functions. The zone's own wall time is written out; the reader's own time is Slack's date token (each reader
sees it in their zone), with UTC beside it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from bot.domain.requests import ScheduleRecord
from bot.services.device_time import ZoneGroup
from bot.slack.blocks.common import escape, slack_date

ZONES_SHOWN = 8  # zones listed in a preview; the rest are counted
INSTANTS_SHOWN = 8  # distinct instants listed on a stored request


def _devices(count: int) -> str:
    return f"{count:,} device{'s' if count != 1 else ''}"


def zone_lines(groups: Sequence[ZoneGroup]) -> list[str]:
    """One line per zone, earliest first: the zone, how many devices, the time there, the reader's time (and UTC);
    each DST move or next-day move flagged ⚠ with its sentence; a zone outside the windows in device time too."""
    lines: list[str] = []
    for group in groups[:ZONES_SHOWN]:
        flag = " :warning:" if group.notes or group.outside else ""
        lines.append(
            f"• *{escape(group.zone)}* · {_devices(group.devices)} · {group.local:%a %d %b %H:%M} there · "
            f"your time {slack_date(group.instant)}{flag}"
        )
        lines += [f"      :warning: {escape(note)}" for note in group.notes]
        if group.outside and group.window:
            lines.append(f"      :warning: {escape(group.window)}")
    if len(groups) > ZONES_SHOWN:
        rest = groups[ZONES_SHOWN:]
        lines.append(f"• … and {len(rest)} more zones ({_devices(sum(g.devices for g in rest))})")
    return lines


def when_line(record: ScheduleRecord) -> str:
    """``*When*`` of a stored request: its time, or — device-local — each distinct instant with its devices."""
    zone = f"(requester's zone: {escape(record.requester_tz)})"
    counts = Counter(item.scheduled_time for item in record.items)
    if len(counts) <= 1:
        return f"*When* {slack_date(record.scheduled_time)} {zone}"
    instants = sorted(counts.items())
    lines = [f"*When* on each device's clock, {len(instants)} different times {zone}:"]
    lines += [f"• {slack_date(at)} · {_devices(n)}" for at, n in instants[:INSTANTS_SHOWN]]
    if len(instants) > INSTANTS_SHOWN:
        rest = instants[INSTANTS_SHOWN:]
        lines.append(f"• … and {len(rest)} more times ({_devices(sum(n for _, n in rest))})")
    return "\n".join(lines)


__all__ = ["when_line", "zone_lines"]
