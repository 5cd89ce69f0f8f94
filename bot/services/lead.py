"""How close to its scheduled time an operation may still be decided, and the words when it is too close.

An operation is created when its request is decided (Confirm, Submit, Approve). A decision that comes after the
scheduled time, or closer to it than ``MIN_LEAD_SECONDS``, would create an operation in the past (or one the
device cannot be told about in time): the request expires instead. The form refuses such times before anything
is stored, so a person meets the expiry only when a decision comes late.

Relative times ("in 5 minutes") are read again at Submit; the instant the form previewed travels with the form,
and ``same_minute`` tells whether the reading at Submit still shows what the person saw.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from bot.i18n import _, ngettext
from bot.when import format_local, format_preview, format_relative


def same_minute(a: datetime, b: datetime) -> bool:
    """Would a preview (which shows hours and minutes) show ``a`` and ``b`` alike?"""
    return a.replace(second=0, microsecond=0) == b.replace(second=0, microsecond=0)


def too_close(scheduled_time: datetime, now: datetime, lead: timedelta) -> bool:
    """Is it too late, at ``now``, to decide an operation scheduled for ``scheduled_time``?"""
    return scheduled_time - now < lead


def form_problem(when: datetime, now: datetime, lead: timedelta, *, tz: str) -> str | None:
    """What the form says about a time too close to be decided and created; ``None`` when it is far enough.

    At least ``lead`` ahead, strictly: a Submit's decision comes a moment after its validation.
    """
    if lead <= timedelta(0) or when - now > lead:
        return None
    understood = format_local(when, tz, ref=now)
    return _(
        "{understood} is only {distance} away; an operation must be scheduled more than {lead} ahead, so there is "
        "time to create it. Type a later time, e.g. “{suggestion}”."
    ).format(
        understood=understood,
        distance=format_relative(when - now, suffix=False),
        lead=format_relative(lead, suffix=False),
        suggestion=_suggestion(lead),
    )


def creation_time(devices: int, rate_per_minute: float) -> timedelta:
    """How long creating ``devices`` operations takes at ``rate_per_minute`` (the first at once)."""
    return timedelta(seconds=max(0, devices - 1) * 60.0 / rate_per_minute)


def creation_note(devices: int, rate_per_minute: float) -> str:
    """Why a big request needs more lead: its creation is paced (``CREATE_RATE_PER_MINUTE``)."""
    took = format_relative(creation_time(devices, rate_per_minute), suffix=False)
    return ngettext(
        "Creating {count} operation at {rate} a minute takes about {took}.",
        "Creating {count} operations at {rate} a minute takes about {took}.",
        devices,
    ).format(count=f"{devices:,}", rate=f"{rate_per_minute:g}", took=took)


def moved_problem(text: str, now_means: datetime, shown: datetime, now: datetime, *, tz: str) -> str:
    """A relative time that means another minute at Submit than the one the preview showed."""
    return _(
        "“{text}” now means {now_means}, not {shown} as the preview showed. Check the new time and press Submit "
        "again to schedule it."
    ).format(text=text, now_means=format_preview(now_means, tz=tz, now=now), shown=format_local(shown, tz, ref=now))


def _suggestion(lead: timedelta) -> str:
    """A round time comfortably past the lead, as one would type it: "in 5 min" for the default minute, twice the
    lead beyond that."""
    minutes = max(5, 2 * math.ceil(lead.total_seconds() / 60))
    if minutes < 120:
        return _("in {count} min").format(count=minutes)
    hours = math.ceil(minutes / 60)
    return ngettext("in {count} hour", "in {count} hours", hours).format(count=hours)
