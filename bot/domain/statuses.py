"""What an operation's status means: has it ended, did it fail. The Control API documents a handful of statuses and
a real service grows new ones without notice, so statuses stay plain strings, compared in one spelling
(``normalize_status``), and an unknown status that sounds like a failure is one.

Domain knowledge, not the API client's: the notifier's diff (``bot.domain.changes``) and the Slack layer's
rendering both ask it.
"""

from __future__ import annotations

#: Statuses the API documents or the simulator produces, in lifecycle order (``cancelled`` last: it is a
#: person's decision and can end any non-terminal state).
KNOWN_STATUSES: tuple[str, ...] = (
    "scheduled",
    "pending",
    "in_progress",
    "completed",
    "failed",
    "expired",
    "cancelled",
)

#: Statuses after which an operation never changes again: watchers stop polling, notifiers announce the end.
TERMINAL_STATUSES: tuple[str, ...] = (
    "completed",
    "succeeded",
    "success",
    "done",
    "failed",
    "error",
    "expired",
    "aborted",
    "timed_out",
    "timeout",
    "rejected",
    "cancelled",
    "canceled",
)

#: Terminal statuses that mean "the operation did not do its job", which is what people get paged about.
#: ``cancelled`` is deliberately *not* a failure: somebody chose it, so it is terminal but not alarming.
#: ``expired`` *is* a failure: the device never came online in time and the work was not done.
FAILURE_STATUSES: tuple[str, ...] = (
    "failed",
    "error",
    "expired",
    "aborted",
    "timed_out",
    "timeout",
    "rejected",
)

# Substrings that mark a status the bot has never seen as a failure (e.g. "firmware_error",
# "aborted_by_device").
_FAILURE_WORDS: tuple[str, ...] = ("fail", "error", "expire", "abort", "timeout", "timed_out", "reject")


def normalize_status(status: str | None) -> str:
    """``" In-Progress "`` → ``"in_progress"``: how statuses are compared, whatever the API's spelling."""
    return str(status or "").strip().casefold().replace("-", "_").replace(" ", "_")


def is_failure(status: str | None) -> bool:
    """Did the operation end badly? Known failure statuses, plus any unknown status that *sounds* like one.

    The heuristic exists so a new failure status from the API still reaches the on-call people instead of
    being silently treated as "still running".
    """
    key = normalize_status(status)
    return key in FAILURE_STATUSES or any(word in key for word in _FAILURE_WORDS)


def is_terminal(status: str | None) -> bool:
    """Will the operation never change again? Known terminal statuses, and anything :func:`is_failure` flags.

    An unknown status that does not look like a failure counts as *not* terminal: polling a little too long is
    cheaper than announcing an end that has not happened.
    """
    key = normalize_status(status)
    return key in TERMINAL_STATUSES or is_failure(key)


__all__ = [
    "FAILURE_STATUSES",
    "KNOWN_STATUSES",
    "TERMINAL_STATUSES",
    "is_failure",
    "is_terminal",
    "normalize_status",
]
