"""What a person's App Home holds: pure queries over the bot's own database (no Control API call, no Slack).

``HomeService.facts(user_id, is_approver=…)`` answers, for one reader, the home's sections: what they may decide,
their own requests, what is scheduled in the next 24 hours (operations as the notifier last recorded them, rollout
waves to come), the active rollouts and the failures of the last 24 hours; each a ``Page`` (up to a few items and
how many there are in all). The parts every reader shares are read once per change (``HomeChanges.generation``)
and reused for everyone's render, so re-rendering a hundred homes after one change reads them once.

``HomeChanges`` is the ``HomeRefresher`` the services are handed: they call ``changed()`` after a change is stored;
the Slack side (``bot.slack.home``) subscribes and re-publishes the homes, throttled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from bot.clock import Clock, utcnow
from bot.domain.home import KnownOperation
from bot.domain.requests import RequestState, ScheduleRecord
from bot.domain.rollout_records import RolloutRecord
from bot.domain.rollouts import RolloutState
from bot.domain.statuses import is_failure
from bot.services.rollouts import RolloutsService, RolloutView
from bot.services.scheduling import SchedulingService
from bot.settings import Settings
from bot.store import Store
from bot.when.windows import MaintenanceWindow

log = logging.getLogger("bot.home")

T = TypeVar("T")

WAITING_SHOWN = 5
YOURS_SHOWN = 5
UPCOMING_SHOWN = 10
ROLLOUTS_SHOWN = 3
FAILURES_SHOWN = 5
HORIZON = timedelta(hours=24)
RECENT_REQUESTS = timedelta(days=7)  # "your requests": the undecided ones and those of the last week
SHARED_MAX_AGE = 5.0  # seconds a shared snapshot is reused when nothing changed (time moves the 24 h windows)
_ROLLOUTS_READ = 50
#: Rollouts whose waves are still to come or running ("active" on the home; pending approval is "waiting").
ACTIVE_ON_HOME = (
    RolloutState.SCHEDULED, RolloutState.RUNNING, RolloutState.SOAKING, RolloutState.WAITING_PROMOTE,
    RolloutState.PAUSED,
)  # fmt: skip
_YOURS_OPEN = (RequestState.DRAFT, RequestState.PENDING_APPROVAL, RequestState.APPROVED)


@dataclass(frozen=True)
class Page(Generic[T]):
    """Up to a few items of a section, and how many there are in all (the rest is "more")."""

    items: tuple[T, ...] = ()
    total: int = 0

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.items))


@dataclass(frozen=True)
class Waiting:
    """Something the reader may decide now: a request or a rollout to approve, or a rollout to promote."""

    request: ScheduleRecord | None = None
    rollout: RolloutRecord | None = None

    @property
    def promote(self) -> bool:
        return self.rollout is not None and self.rollout.state is RolloutState.WAITING_PROMOTE

    @property
    def since(self) -> datetime:
        record = self.request or self.rollout
        assert record is not None
        return record.updated_at if self.promote else record.created_at


@dataclass(frozen=True)
class Upcoming:
    """Something due in the next 24 hours: an operation (as last recorded) or a rollout's next wave."""

    at: datetime
    operation: KnownOperation | None = None
    rollout: RolloutRecord | None = None
    wave: int = 0
    devices: int = 0


@dataclass(frozen=True)
class SharedFacts:
    """The sections every reader sees alike, read once per change."""

    now: datetime
    upcoming: Page[Upcoming]
    rollouts: Page[RolloutView] | None  # None: rollouts are not available in this process
    failures: Page[KnownOperation]
    windows: tuple[MaintenanceWindow, ...]
    pending_rollouts: tuple[RolloutRecord, ...] = ()
    promotable: tuple[RolloutRecord, ...] = ()


@dataclass(frozen=True)
class HomeFacts:
    """One reader's home, before it is rendered."""

    user_id: str
    is_approver: bool
    waiting: Page[Waiting]
    yours: Page[ScheduleRecord]
    shared: SharedFacts

    @property
    def now(self) -> datetime:
        return self.shared.now


class HomeChanges:
    """The ``HomeRefresher`` the services call; the Slack side subscribes. ``generation`` counts the changes."""

    def __init__(self) -> None:
        self.generation = 0
        self._subscribers: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._subscribers.append(listener)

    def changed(self) -> None:
        self.generation += 1
        for listener in self._subscribers:
            try:
                listener()
            except Exception:  # a home is a view: a failure to refresh it never fails the change
                log.exception("home refresh could not be scheduled")


@dataclass
class _Cached:
    generation: int
    at: float
    facts: SharedFacts


@dataclass
class HomeService:
    settings: Settings
    store: Store
    scheduling: SchedulingService
    rollouts: RolloutsService | None
    changes: HomeChanges
    clock: Clock = utcnow
    _cached: _Cached | None = field(default=None, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    shared_reads: int = field(default=0, init=False)  # how many times the shared sections were read (tests, bench)

    async def facts(
        self,
        user_id: str,
        *,
        is_approver: bool,
        approve_types: Collection[str] | None = None,
        may_promote: bool = True,
    ) -> HomeFacts:
        """``user_id``'s home. ``approve_types``: the operation types the access rules let them decide on the Home
        (``None``: every type); ``may_promote``: whether they let them promote a rollout there."""
        shared = await self.shared()
        waiting = await self._waiting(user_id, is_approver, shared, approve_types, may_promote)
        yours, total = await self.store.requests_page(
            requester_id=user_id, undecided_or_since=(_YOURS_OPEN, shared.now - RECENT_REQUESTS), limit=YOURS_SHOWN
        )
        return HomeFacts(user_id, is_approver, waiting, Page(tuple(yours), total), shared)

    async def shared(self) -> SharedFacts:
        """The shared sections, read again only after a change (or ``SHARED_MAX_AGE`` seconds)."""
        async with self._lock:
            cached, generation = self._cached, self.changes.generation
            if cached is not None and cached.generation == generation and time.monotonic() - cached.at < SHARED_MAX_AGE:
                return cached.facts
            facts = await self._read_shared()
            self._cached = _Cached(generation, time.monotonic(), facts)
            return facts

    async def _read_shared(self) -> SharedFacts:
        self.shared_reads += 1
        now = self.clock()
        operations, operations_total = await self.store.upcoming_operations(now, now + HORIZON, limit=UPCOMING_SHOWN)
        failures, failures_total = await self.store.recent_failures(now - HORIZON, limit=FAILURES_SHOWN)
        failures = [op for op in failures if is_failure(op.status)]
        windows = tuple(self.settings.windows)
        if self.rollouts is None:
            upcoming = Page(tuple(Upcoming(at=op.scheduled_time, operation=op) for op in operations), operations_total)
            return SharedFacts(now, upcoming, None, Page(tuple(failures), failures_total), windows)
        wanted = [*ACTIVE_ON_HOME, RolloutState.PENDING_APPROVAL]
        records = await self.store.list_rollouts(wanted, limit=_ROLLOUTS_READ, oldest_first=True)
        active = [r for r in records if r.state in ACTIVE_ON_HOME]
        views = [await self.rollouts.view(record) for record in active[:ROLLOUTS_SHOWN]]
        waves = _next_waves(active, now)
        merged = sorted(
            [*(Upcoming(at=op.scheduled_time, operation=op) for op in operations), *waves], key=lambda u: u.at
        )[:UPCOMING_SHOWN]
        return SharedFacts(
            now=now,
            upcoming=Page(tuple(merged), operations_total + len(waves)),
            rollouts=Page(tuple(views), len(active)),
            failures=Page(tuple(failures), failures_total),
            windows=windows,
            pending_rollouts=tuple(r for r in records if r.state is RolloutState.PENDING_APPROVAL),
            promotable=tuple(r for r in active if r.state is RolloutState.WAITING_PROMOTE),
        )

    async def _waiting(
        self,
        user_id: str,
        is_approver: bool,
        shared: SharedFacts,
        approve_types: Collection[str] | None,
        may_promote: bool,
    ) -> Page[Waiting]:
        """What ``user_id`` may decide now, by the services' own rules (``may_decide``) and the access rules'
        types, oldest first."""
        if not is_approver:
            return Page()
        self_ok = self.settings.allow_self_approval
        requests, total = await self.store.requests_page(
            [RequestState.PENDING_APPROVAL], not_requester_id=None if self_ok else user_id, limit=WAITING_SHOWN,
            oldest_first=True, types=approve_types,
        )  # fmt: skip
        entries = [
            Waiting(request=r) for r in requests if self.scheduling.may_decide(r, user_id, is_approver=True) is None
        ]
        rollouts: list[Waiting] = []
        if self.rollouts is not None:
            for record in shared.pending_rollouts:
                typed_ok = approve_types is None or record.operation_type in approve_types
                if typed_ok and self.rollouts.may(record, user_id, is_approver=True, decision=True) is None:
                    rollouts.append(Waiting(rollout=record))
            for record in shared.promotable if may_promote else ():
                if self.rollouts.may(record, user_id, is_approver=True, decision=False) is None:
                    rollouts.append(Waiting(rollout=record))
        merged = sorted([*entries, *rollouts], key=lambda w: w.since)[:WAITING_SHOWN]
        return Page(tuple(merged), total + len(rollouts))


def _next_waves(rollouts: Sequence[RolloutRecord], now: datetime) -> list[Upcoming]:
    """Each active rollout's next wave, when it is due in the next 24 hours: wave 1 of a scheduled rollout at its
    time, the wave after a soak at the soak's end."""
    found = []
    for record in rollouts:
        at: datetime | None = None
        wave = record.current_wave + 1
        if record.state is RolloutState.SCHEDULED and record.current_wave == 0:
            at = record.scheduled_time
        elif record.state is RolloutState.SOAKING and record.soak_until is not None:
            at = record.soak_until
        if at is None or wave > len(record.plan) or not now <= at < now + HORIZON:
            continue
        found.append(Upcoming(at=at, rollout=record, wave=wave, devices=len(record.plan[wave - 1])))
    return found


__all__ = ["HomeChanges", "HomeFacts", "HomeService", "Page", "SharedFacts", "Upcoming", "Waiting"]
