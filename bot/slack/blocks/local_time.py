"""Block Kit text for device-local times: the preview per zone, and a request's instants once stored.

Pure functions. The zone's own wall time is written out; the reader's own time is Slack's date token (each reader
sees it in their zone), with UTC beside it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from bot.domain.requests import ScheduleRecord
from bot.i18n import DEFAULT_LANGUAGE, _, babel_locale, current_language, ngettext
from bot.services.device_time import ZoneGroup
from bot.slack.blocks.common import escape, slack_date

ZONES_SHOWN = 8  # zones listed in a preview; the rest are counted
INSTANTS_SHOWN = 8  # distinct instants listed on a stored request


def _devices(count: int) -> str:
    return ngettext("{count} device", "{count} devices", count).format(count=f"{count:,}")


def _wall(local: datetime) -> str:
    """``Sat 07 Mar 02:00``: a zone's own wall time (day and month names in the reader's language)."""
    language = current_language()
    if language == DEFAULT_LANGUAGE:
        return f"{local:%a %d %b %H:%M}"
    from babel.dates import format_datetime  # lazily, as bot.when.format does

    return format_datetime(local, "EEE dd MMM HH:mm", tzinfo=local.tzinfo, locale=babel_locale(language))


def zone_lines(groups: Sequence[ZoneGroup]) -> list[str]:
    """One line per zone, earliest first: the zone, how many devices, the time there, the reader's time (and UTC);
    each DST move or next-day move flagged ⚠ with its sentence; a zone outside the windows in device time too."""
    lines: list[str] = []
    for group in groups[:ZONES_SHOWN]:
        flag = " :warning:" if group.notes or group.outside else ""
        line = _("*{zone}* · {devices} · {local} there · your time {your_time}").format(
            zone=escape(group.zone), devices=_devices(group.devices), local=_wall(group.local),
            your_time=slack_date(group.instant),
        )  # fmt: skip
        lines.append(f"• {line}{flag}")
        lines += [f"      :warning: {escape(note)}" for note in group.notes]
        if group.outside and group.window:
            lines.append(f"      :warning: {escape(group.window)}")
    if len(groups) > ZONES_SHOWN:
        rest = groups[ZONES_SHOWN:]
        more = _("… and {count} more zones ({devices})").format(
            count=len(rest), devices=_devices(sum(g.devices for g in rest))
        )
        lines.append(f"• {more}")
    return lines


def when_line(record: ScheduleRecord) -> str:
    """``*When*`` of a stored request: its time, or — device-local — each distinct instant with its devices."""
    zone = escape(record.requester_tz)
    counts = Counter(item.scheduled_time for item in record.items)
    if len(counts) <= 1:
        return _("*When* {time} (requester's zone: {zone})").format(time=slack_date(record.scheduled_time), zone=zone)
    instants = sorted(counts.items())
    lines = [
        _("*When* on each device's clock, {count} different times (requester's zone: {zone}):").format(
            count=len(instants), zone=zone
        )
    ]
    lines += [f"• {slack_date(at)} · {_devices(n)}" for at, n in instants[:INSTANTS_SHOWN]]
    if len(instants) > INSTANTS_SHOWN:
        rest = instants[INSTANTS_SHOWN:]
        more = _("… and {count} more times ({devices})").format(
            count=len(rest), devices=_devices(sum(n for _at, n in rest))
        )
        lines.append(f"• {more}")
    return "\n".join(lines)


__all__ = ["when_line", "zone_lines"]
