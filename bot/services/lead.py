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
    return (
        f"{understood} is only {format_relative(when - now, suffix=False)} away; an operation must be scheduled "
        f"more than {format_relative(lead, suffix=False)} ahead, so there is time to create it. "
        f"Type a later time, e.g. “in {_suggestion(lead)}”."
    )


def creation_time(devices: int, rate_per_minute: float) -> timedelta:
    """How long creating ``devices`` operations takes at ``rate_per_minute`` (the first at once)."""
    return timedelta(seconds=max(0, devices - 1) * 60.0 / rate_per_minute)


def creation_note(devices: int, rate_per_minute: float) -> str:
    """Why a big request needs more lead: its creation is paced (``CREATE_RATE_PER_MINUTE``)."""
    took = format_relative(creation_time(devices, rate_per_minute), suffix=False)
    return f"Creating {devices:,} operations at {rate_per_minute:g} a minute takes about {took}."


def moved_problem(text: str, now_means: datetime, shown: datetime, now: datetime, *, tz: str) -> str:
    """A relative time that means another minute at Submit than the one the preview showed."""
    return (
        f"“{text}” now means {format_preview(now_means, tz=tz, now=now)}, not {format_local(shown, tz, ref=now)} "
        "as the preview showed. Check the new time and press Submit again to schedule it."
    )


def _suggestion(lead: timedelta) -> str:
    """A round time comfortably past the lead: 5 min for the default minute, twice the lead beyond that."""
    minutes = max(5, 2 * math.ceil(lead.total_seconds() / 60))
    return f"{minutes} min" if minutes < 120 else f"{math.ceil(minutes / 60)} hours"
