"""List, look up and refresh operations: the read side of the Control API, with the API's manners.

The API asks that ``update_status=true`` be used sparingly, so refreshes have a per-operation cooldown: within it,
the last refreshed result is served with its age, and concurrent refreshes of one operation share one call.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from bot.clock import Clock, utcnow
from bot.control.client import ControlApiClient
from bot.control.models import Operation
from bot.domain.ids import serial_key

STATUS_SHARE_SECONDS = 1.0  # a status call is joined only this soon after it started (answers stay fresh)


class SharedCalls:
    """Identical calls made at the same moment share one.

    A call is joined only while it is younger than ``max_age`` seconds (``None``: while it runs), so nobody is
    handed the end of a call that started long ago (during an outage, say); when every caller has stopped waiting
    for it, it is cancelled rather than left to run (and retry) for nobody.
    """

    def __init__(self, *, max_age: float | None = None) -> None:
        self.max_age = max_age
        self._calls: dict[str, tuple[asyncio.Future[Operation], float, list[int]]] = {}

    async def run(self, key: str, call: Callable[[], Awaitable[Operation]]) -> Operation:
        now = time.monotonic()
        entry = self._calls.get(key)
        if entry is None or entry[0].done() or (self.max_age is not None and now - entry[1] > self.max_age):
            entry = (asyncio.ensure_future(call()), now, [0])
            self._calls[key] = entry
            entry[0].add_done_callback(lambda future, mine=entry: self._finished(key, mine, future))
        future, _, waiters = entry
        waiters[0] += 1
        try:
            return await asyncio.shield(future)
        finally:
            waiters[0] -= 1
            if waiters[0] == 0 and not future.done():
                future.cancel()

    def _finished(self, key: str, entry: tuple[Any, ...], future: asyncio.Future[Operation]) -> None:
        if self._calls.get(key) is entry:
            del self._calls[key]
        if not future.cancelled():
            future.exception()  # seen: every caller may have given up waiting


class RefreshResult(BaseModel):
    """A refreshed operation, and whether it came from the cooldown cache (and how old it is)."""

    model_config = ConfigDict(frozen=True)

    operation: Operation
    refreshed_at: datetime
    cached: bool
    age_seconds: float


_NUMBER_OR_TEXT = re.compile(r"[0-9]+|[^0-9]+")

#: Where an operation stands in the list: newest created first (its scheduled time when the API gives no
#: ``created_at``), then the later scheduled time, then the higher id (``txn_10`` after ``txn_9``), then the id as
#: text. Every operation has its own place, so a page boundary is never ambiguous.
OrderKey = tuple[datetime, datetime, tuple[tuple[int, int, str], ...], str]


def _natural(operation_id: str) -> tuple[tuple[int, int, str], ...]:
    """``txn_9`` < ``txn_10``: runs of digits compare as numbers, the rest as text."""
    parts = _NUMBER_OR_TEXT.findall(operation_id)
    return tuple((0, int(part), "") if part[0] in "0123456789" else (1, 0, part) for part in parts)


def _order_key(created: datetime, scheduled: datetime, operation_id: str) -> OrderKey:
    return (created, scheduled, _natural(operation_id), operation_id)


def order_key(operation: Operation) -> OrderKey:
    """The operation's place in ``newest_first`` order (descending by this key)."""
    return _order_key(operation.created_at or operation.scheduled_time, operation.scheduled_time, operation.id)


def newest_first(operations: list[Operation]) -> list[Operation]:
    """Newest created first; operations without ``created_at`` sort by their scheduled time. Ties (a batch
    created in the same second, for the same time) go newest id first: see ``order_key``."""
    return sorted(operations, key=order_key, reverse=True)


class ListCursor(BaseModel):
    """A place in the ``newest_first`` list: just after the operation it was taken from.

    Paging by cursor instead of by position means that operations arriving (or leaving) between two pages neither
    repeat nor skip anything: the next page starts after the last one shown, wherever that now is.
    """

    model_config = ConfigDict(frozen=True)

    created: AwareDatetime  # created_at, or the scheduled time when the API gave none (as ``order_key`` uses)
    scheduled: AwareDatetime
    id: str = Field(min_length=1, max_length=200)

    @classmethod
    def after(cls, operation: Operation) -> ListCursor:
        return cls(
            created=operation.created_at or operation.scheduled_time,
            scheduled=operation.scheduled_time,
            id=operation.id,
        )

    def position(self, operations: list[Operation]) -> int:
        """How many of ``operations`` (sorted ``newest_first``) come before the next page: the next page starts
        at this index."""
        key = _order_key(self.created, self.scheduled, self.id)
        return sum(1 for operation in operations if order_key(operation) >= key)


#: A list call in flight: ``ControlApiClient.creates`` when it started, and the call.
_Fetch = tuple[int, asyncio.Future[list[Operation]]]


class OperationsService:
    """Read operations through the Control API client."""

    def __init__(
        self,
        client: ControlApiClient,
        *,
        clock: Clock = utcnow,
        refresh_cooldown: float = 60.0,
        list_cache_seconds: float = 0.0,
    ) -> None:
        self._list_ttl = list_cache_seconds
        self._list_cache: tuple[float, int, list[Operation]] | None = None  # (read at, creates before, list)
        self._list_inflight: _Fetch | None = None
        self._client = client
        self._clock = clock
        self._cooldown = refresh_cooldown
        self._refreshed: dict[str, tuple[Operation, datetime]] = {}
        self._refreshing = SharedCalls()
        self._looking_up = SharedCalls(max_age=STATUS_SHARE_SECONDS)

    async def list(self, *, serial: str | None = None, status: str | None = None) -> list[Operation]:
        """Every operation the token can see, filtered client-side (the API has no filters), newest first."""
        operations = await self._all_operations()
        if serial:
            wanted = serial_key(serial)
            operations = [op for op in operations if serial_key(op.device_serial) == wanted]
        if status:
            wanted = status.casefold()
            operations = [op for op in operations if op.status.casefold() == wanted]
        return newest_first(operations)

    async def _all_operations(self) -> list[Operation]:
        """The whole list, shared: concurrent callers wait for one request, and its answer serves everyone for
        ``list_cache_seconds`` (under load, dozens of people listing at once cost one list call, not dozens).

        Never a list read before the bot's own latest create, though (``ControlApiClient.creates``): neither from
        the cache nor by joining a call still in flight, or ``/headless list`` right after a create would not show
        the operation just created.
        """
        generation = self._client.creates
        now = time.monotonic()
        cached = self._list_cache
        if cached is not None and cached[1] == generation and now - cached[0] < self._list_ttl:
            return cached[2]
        inflight = self._list_inflight
        if inflight is None or inflight[0] != generation:
            inflight = (generation, asyncio.ensure_future(self._client.list_operations()))
            self._list_inflight = inflight

            def done(future: asyncio.Future[list[Operation]], mine: _Fetch = inflight) -> None:
                if self._list_inflight is mine:
                    self._list_inflight = None
                if future.cancelled() or future.exception() is not None or self._list_ttl <= 0:
                    return
                if mine[0] == self._client.creates:  # nothing was created while it was being read
                    self._list_cache = (time.monotonic(), mine[0], future.result())

            inflight[1].add_done_callback(done)
        return list(await asyncio.shield(inflight[1]))

    async def status(self, operation_id: str) -> Operation:
        """One operation with its last known device status (no device query). People asking about the same
        operation at the same moment share one call (each answer is still as fresh as a call of its own)."""
        return await self._looking_up.run(operation_id, lambda: self._client.get_operation(operation_id))

    async def refresh(self, operation_id: str) -> RefreshResult:
        """``update_status=true`` at most once per cooldown per operation; concurrent callers share the call."""
        now = self._clock()
        cached = self._refreshed.get(operation_id)
        if cached is not None:
            age = (now - cached[1]).total_seconds()
            if age < self._cooldown:
                return RefreshResult(operation=cached[0], refreshed_at=cached[1], cached=True, age_seconds=age)
        operation = await self._refreshing.run(
            operation_id, lambda: self._client.get_operation(operation_id, update_status=True)
        )
        refreshed_at = self._clock()
        self._refreshed[operation_id] = (operation, refreshed_at)
        self._forget_old(refreshed_at)
        return RefreshResult(operation=operation, refreshed_at=refreshed_at, cached=False, age_seconds=0.0)

    def _forget_old(self, now: datetime) -> None:
        """Keep the cache bounded: drop entries past their cooldown once it grows."""
        if len(self._refreshed) < 1000:
            return
        for key, (_op, at) in list(self._refreshed.items()):
            if (now - at).total_seconds() >= self._cooldown:
                del self._refreshed[key]
