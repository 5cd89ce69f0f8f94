"""The one-line preview of a parsed time: local time, UTC time, distance from now and, when windows are configured,
whether it falls in one.

Above both :mod:`bot.when.format` and :mod:`bot.when.windows` (it needs ``in_window``, and ``check_window`` needs
``format_local``), so neither has to import the other's caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.i18n import _
from bot.when.format import format_local, format_relative, utc_time, zone_abbr
from bot.when.windows import MaintenanceWindow, in_window
from bot.when.zones import resolve_zone


def format_preview(
    when: datetime,
    *,
    tz: str,
    now: datetime,
    windows: Sequence[MaintenanceWindow] | None = None,
) -> str:
    """``Sat 7 Mar 02:00 CST · 08:00 UTC · in 16 h 40 min`` (local time, UTC time, distance from ``now``).

    The UTC part shows its own day when the UTC date differs from the local date
    (``Fri 6 Mar 20:00 CST · Sat 7 Mar 02:00 UTC · …``), and is left out when the local time already is UTC
    (``Sat 7 Mar 16:06 UTC · in 1 d 1 h``); years appear only when not the current year. When
    ``windows`` is non-empty, `` · in maintenance window`` or `` · outside maintenance windows`` is appended
    (use :func:`check_window` for the full sentence and the policy).
    """
    zone = resolve_zone(tz)
    local = when.astimezone(zone)
    parts = [format_local(when, zone, ref=now)]
    if not (local.utcoffset() == timedelta(0) and zone_abbr(local) == "UTC"):
        parts.append(utc_time(when, local.date(), now.astimezone(zone).year))
    text = " · ".join([*parts, format_relative(when - now)])
    if windows:
        text += " · " + (_("in maintenance window") if in_window(when, windows) else _("outside maintenance windows"))
    return text
