"""The one source of "now": injected everywhere so tests and the console can control time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The real clock: an aware UTC datetime."""
    return datetime.now(UTC)


class OffsetClock:
    """Real time, moved forward on demand: ``advance(600)`` makes every reader ten minutes later at once.

    The console hands one of these to the bot (``build_runtime(clock=…)``) and to its built-in simulator
    (``SimulatorState(clock=…)``), so after ``/advance`` both agree on "now": a pending request whose time passed
    expires, and "in 5 minutes" is five minutes after the advanced time, which the simulator then accepts.
    """

    def __init__(self, base: Clock = utcnow) -> None:
        self._base = base
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return self._base() + self.offset

    def advance(self, seconds: float) -> datetime:
        """Move "now" forward by ``seconds`` (never back: what happened stays in the past); the new "now"."""
        if not seconds >= 0:
            raise ValueError("time only moves forward")
        self.offset += timedelta(seconds=seconds)
        return self()
