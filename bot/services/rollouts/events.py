"""The state changes a rollout tells in its thread, once each (``key``: what ``mark_told`` records)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.domain.rollouts import WaveTally

EventKind = Literal[
    "confirmed", "approved", "rejected", "cancelled", "expired", "wave_started", "wave_settled", "promoted", "paused",
    "resumed", "aborted", "completed",
]  # fmt: skip


@dataclass(frozen=True)
class RolloutEvent:
    """One change: its kind, the wave it is about, who did it (``by``: a user id, or ``bot``), why (``reason``).
    ``occurrence`` tells apart changes that may happen more than once (a second pause)."""

    kind: EventKind
    wave: int | None = None
    at: datetime | None = None
    tally: WaveTally | None = None
    by: str | None = None
    reason: str | None = None
    occurrence: int = 0

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.wave or 0}:{self.occurrence}"


__all__ = ["EventKind", "RolloutEvent"]
