"""After a decision: post the approval request, update it in place, create the operations, tell the requester.

Services decide (``bot.services.scheduling``); this module carries the decisions out, speaking to people only
through the ``Messenger`` port. Every Messenger failure is survivable: the request stays in the store in a state
someone can act on, and the maintenance loop re-posts what could not be posted.

The listeners (after a click) and the maintenance loop (every few seconds), in this process or in another
replica, may all want to act on one request; per request, one of them at a time does, and each re-reads the request
first, so a slow chat service never gets the same approval message (or announcement, or outcome) twice. "One at a
time" is an asyncio lock inside the process plus a lease in the database across processes (``Store.take_lease``,
renewed while held, expiring after ``REQUEST_LEASE_SECONDS`` if its holder dies).

It also holds the rules of a click on an approval message: which button belongs to which request (a very quick click
can race the recording of where the message was posted), and which click is on a superseded copy of the message.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import socket
import uuid
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.clock import utcnow
from bot.control.errors import ControlApiError
from bot.domain.requests import ItemState, RequestState, ScheduleRecord
from bot.services.ports import Messenger
from bot.services.scheduling import SchedulingService
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger("bot.slack.workflow")

CLICK_WAIT_SECONDS = 5.0  # a click's follow-up waits this long for another process to finish with the request
BUTTON_WAITS = 20  # a click on a message whose ts is not recorded yet looks again this often, 0.1 s apart


def _resumable(record: ScheduleRecord) -> bool:
    """An approved request with something left to do, and no POST in flight (reconciliation settles those)."""
    states = {item.state for item in record.items}
    return ItemState.CREATING not in states and bool(states & {ItemState.WAITING, ItemState.CREATED, ItemState.FAILED})


class RequestBusy(Exception):
    """Another bot process is acting on the request; it will finish the job (or its lease runs out)."""


class Verdict(StrEnum):
    """What a click on an approval message's button is on."""

    MATCH = "match"  # the request's own, live approval message
    SUPERSEDED = "superseded"  # an older copy of the request's approval message (posted again after a crash)
    MISMATCH = "mismatch"  # not this request's message (a forged or edited payload, another channel)


@dataclass(frozen=True)
class ButtonCheck:
    verdict: Verdict
    record: ScheduleRecord | None


class Approvals:
    """The approval workflow after each decision, and the maintenance loop's resumption of it."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        scheduling: SchedulingService,
        messenger: Messenger,
        *,
        owner: str | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.scheduling = scheduling
        self.messenger = messenger
        self.owner = owner or f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # ------------------------------------------------------------------ buttons

    async def request_for_button(
        self,
        request_id: str,
        *,
        user_id: str,
        channel_id: str | None,
        message_ts: str | None,
        shows_request: Callable[[str], bool],
    ) -> ButtonCheck:
        """The request a button names, if the button is really on that request's approval message.

        ``shows_request(id)``: does the clicked message show that request id (a copy of its approval message)?
        A mismatch on a known request is audited."""
        record = await self.store.get_request(request_id) if request_id else None
        for _ in range(BUTTON_WAITS):  # a very quick click can race the bot recording where it posted the message
            if record is None or record.approval_ts is not None:
                break
            await asyncio.sleep(0.1)
            record = await self.store.get_request(request_id)
        if (
            record is not None
            and record.approval_ts is not None
            and record.approval_ts == message_ts
            and record.approval_channel_id == channel_id
        ):
            return ButtonCheck(Verdict.MATCH, record)
        if (
            record is not None
            and record.approval_ts is not None
            and record.approval_channel_id == channel_id
            and shows_request(record.id)
        ):
            return ButtonCheck(Verdict.SUPERSEDED, record)
        log.warning("a decision button did not match its request (user %s)", user_id)
        if record is not None:
            await self.scheduling.audit(user_id, "decision_mismatch", record, channel_id=channel_id, outcome="refused")
        return ButtonCheck(Verdict.MISMATCH, record)

    async def request_for_home_button(
        self, request_id: str, *, user_id: str, shows_request: Callable[[str], bool]
    ) -> ButtonCheck:
        """The request a button on a person's App Home names, if that home shows it (``shows_request``); the home
        has no approval message to match, and the decision itself is the same compare-and-set as the channel's."""
        record = await self.store.get_request(request_id) if request_id else None
        if record is not None and shows_request(record.id):
            return ButtonCheck(Verdict.MATCH, record)
        log.warning("a decision button on an App Home did not match its request (user %s)", user_id)
        if record is not None:
            await self.scheduling.audit(user_id, "decision_mismatch", record, outcome="refused")
        return ButtonCheck(Verdict.MISMATCH, record)

    # ------------------------------------------------------------------ one actor at a time

    @contextlib.asynccontextmanager
    async def _exclusive(self, request_id: str, *, wait: float = 0.0) -> AsyncIterator[None]:
        """One actor at a time per request: a click's follow-up or a maintenance pass, of any replica.

        Raises ``RequestBusy`` when another process holds the request's lease for longer than ``wait`` seconds.
        """
        lock = self._locks.get(request_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[request_id] = lock
        if lock.locked():
            # This process is already on it (a creation paced over many minutes): a maintenance pass moves on at
            # once instead of queueing behind it; a click waits ``wait`` seconds at most.
            if wait <= 0:
                raise RequestBusy(request_id)
            try:
                await asyncio.wait_for(lock.acquire(), timeout=wait)
            except TimeoutError:
                raise RequestBusy(request_id) from None
        else:
            await lock.acquire()
        try:
            seconds = self.settings.request_lease_seconds
            deadline = asyncio.get_running_loop().time() + wait
            while not await self._take_lease(request_id, seconds):
                if asyncio.get_running_loop().time() >= deadline:
                    raise RequestBusy(request_id)
                await asyncio.sleep(0.2)
            keeper = asyncio.ensure_future(self._keep_lease(request_id, seconds))
            try:
                yield
            finally:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeper
                try:
                    await self.store.drop_lease(request_id, self.owner)
                except Exception as exc:  # the lease runs out by itself; never hide the caller's own error
                    log.warning("could not give back the lease on %s: %s", request_id, type(exc).__name__)
        finally:
            lock.release()

    async def _take_lease(self, request_id: str, seconds: float) -> bool:
        now = utcnow()  # real time, not the runtime's (tests move that one): leases are about processes dying
        return await self.store.take_lease(
            request_id, self.owner, at=now, until=now + datetime.timedelta(seconds=seconds)
        )

    async def _keep_lease(self, request_id: str, seconds: float) -> None:
        """Renew the lease while the work goes on (a creation of many devices can outlast one lease)."""
        while True:
            await asyncio.sleep(seconds / 3)
            try:
                await self._take_lease(request_id, seconds)
            except Exception as exc:
                log.warning("could not renew the lease on %s: %s", request_id, type(exc).__name__)

    async def post_approval(self, record: ScheduleRecord, *, wait: float = 0.0) -> ScheduleRecord:
        """Post the request to APPROVAL_CHANNEL and remember the message (its thread carries the updates).

        Does nothing if the request is no longer pending or its message was posted meanwhile (by a click's
        follow-up or a maintenance pass that got there first).
        """
        try:
            async with self._exclusive(record.id, wait=wait):
                fresh = await self.store.get_request(record.id)
                if fresh is None or fresh.state is not RequestState.PENDING_APPROVAL or fresh.approval_ts is not None:
                    return fresh or record
                return await self._post_approval(fresh)
        except RequestBusy:
            return record  # another replica is posting it

    async def _post_approval(self, record: ScheduleRecord) -> ScheduleRecord:
        channel = self.settings.approval_channel
        if channel is None:
            log.error("request %s needs approval but APPROVAL_CHANNEL is not set", record.id)
            return record
        ts = await self.messenger.post_approval_request(record, channel)
        if ts is None:
            return record  # the maintenance loop tries again; the request stays pending and visible in the store
        updated = await self.store.set_approval_message(record.id, channel, ts) or record
        await self.store.set_request_threads(record.id, channel, ts)
        await self.messenger.tell_waiting_for_approval(updated, channel)
        return await self.store.get_request(record.id) or updated

    async def show_decision(self, record: ScheduleRecord) -> None:
        """Update the request's message in place (buttons gone, who decided, what was created)."""
        self.scheduling.home.changed()  # creation progress and outcomes show on the App Homes too
        await self.messenger.show_decision(record)

    async def announce(self, record: ScheduleRecord) -> ScheduleRecord:
        """For a request that needed no approval: a message in its channel, whose thread carries the updates."""
        channel = record.notify_channel_id or record.origin_channel_id
        ts = await self.messenger.announce(record, channel) if channel else None
        if ts is None or channel is None:
            return record
        updated = await self.store.set_approval_message(record.id, channel, ts) or record
        await self.store.set_request_threads(record.id, channel, ts)
        return await self.store.get_request(record.id) or updated

    async def show_outcome(self, record: ScheduleRecord) -> None:
        """Update the request's message and tell the requester how it ended."""
        await self.show_decision(record)
        await self.messenger.tell_outcome(record)

    async def after_decision(self, record: ScheduleRecord) -> None:
        """What follows a decision that won: create (if approved), update the message, tell the requester."""
        if record.state is RequestState.PENDING_APPROVAL:
            await self.post_approval(record, wait=CLICK_WAIT_SECONDS)
            return
        if record.state is RequestState.APPROVED:
            try:
                async with self._exclusive(record.id, wait=CLICK_WAIT_SECONDS):
                    fresh = await self.store.get_request(record.id)
                    if fresh is None:
                        return
                    if fresh.state is not RequestState.APPROVED:
                        # A maintenance pass got here first, created and told the requester; the message is
                        # updated once more so that a refused update on that pass does not leave the buttons.
                        await self.show_decision(fresh)
                        return
                    record = fresh
                    if not (record.approval_channel_id and record.approval_ts):
                        record = await self.announce(record)
                    await self.show_decision(record)
                    record = await self.create(record)
                    await self.show_outcome(record)
            except RequestBusy:
                log.info("request %s is being handled by another process; its maintenance pass finishes it", record.id)
            return
        await self.show_outcome(record)

    async def resume(self, record: ScheduleRecord) -> None:
        """An approved request whose creation was interrupted (restart, outage): finish it, then tell."""
        if not _resumable(record):
            return  # checked again under the lease; this spares the lease's writes for the common case
        try:
            async with self._exclusive(record.id):
                fresh = await self.store.get_request(record.id)
                if fresh is not None and fresh.state is RequestState.APPROVED:
                    await self._resume(fresh)
        except RequestBusy:
            return  # another replica is on it; the next pass looks again

    async def _resume(self, record: ScheduleRecord) -> None:
        if not _resumable(record):
            return
        if not (record.approval_channel_id and record.approval_ts):
            record = await self.announce(record)
        record = await self.create(record)
        if record.state is RequestState.DONE:
            await self.show_outcome(record)

    async def create(self, record: ScheduleRecord) -> ScheduleRecord:
        """Create the request's operations; an unreachable API leaves them waiting for the maintenance loop."""
        try:
            return await self.scheduling.create_operations(record.id, progress=self.show_decision) or record
        except ControlApiError as exc:
            log.warning("creating the operations of %s: %s; will retry", record.id, exc)
            return await self.store.get_request(record.id) or record
