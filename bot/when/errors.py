"""The refusal every part of the time parser raises, and the example every refusal ends with.

The bottom of ``bot.when``: it imports nothing of the package, so every other module can raise ``WhenError``.
"""

from __future__ import annotations

from typing import Final

from bot.i18n import N_

#: What to type, ending every refusal: translated where it is shown (``_(EXAMPLES)``), in the reader's language
#: (the Spanish examples are phrases the Spanish vocabulary reads).
EXAMPLES: Final[str] = N_("“tomorrow 2am”, “sat 02:00”, “in 3 hours” or “2026-03-07 02:00”")


class WhenError(ValueError):
    """The text could not be turned into a safe, future instant.

    ``str(error)`` is the sentence(s) to show the person, always with an example of what to type, in the language
    current where it was raised (:mod:`bot.i18n`: the reader's, set per request).
    ``understood`` is what was read, if anything (e.g. ``"Sat 7 Mar 02:00 CST"``).
    ``reason`` is a short stable code for logs, metrics and tests: ``empty``, ``too_long``,
    ``not_understood``, ``no_time``, ``vague``, ``bare_number``, ``month_only``, ``ambiguous_hour``,
    ``ambiguous_midnight``,
    ``invalid_date``, ``invalid_time``, ``past``, ``now``, ``beyond_horizon``, ``dst_gap``, ``dst_overlap``,
    ``no_windows``, ``unknown_zone``, ``conflict``, ``missing_unit``; for device-local time
    (:func:`bot.when.parse_when_local`) also ``device_windows``, ``device_zone_conflict``, ``past_in_zones``.
    """

    def __init__(self, message: str, *, understood: str | None = None, reason: str = "not_understood") -> None:
        super().__init__(message)
        self.message = message
        self.understood = understood
        self.reason = reason


class TooFar(Exception):
    """A duration too large to compute; ``parse_when`` turns it into a ``beyond_horizon`` refusal."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text
