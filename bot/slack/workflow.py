"""The Slack side of scheduling: post the approval request, update it in place, tell the requester.

Services decide; this module shows the decisions. Every Web API failure is logged and survivable: the request
stays in the store in a state someone can act on, and the maintenance loop re-posts what could not be posted.

The listeners (after a click) and the maintenance loop (every few seconds), in this process or in another
replica, may all want to act on one request; per request, one of them at a time does, and each re-reads the request
first, so a slow Slack never gets the same approval message (or announcement, or outcome) twice. "One at a time" is
an asyncio lock inside the process plus a lease in the database across processes (``Store.take_lease``, renewed
while held, expiring after ``REQUEST_LEASE_SECONDS`` if its holder dies).
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
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.clock import utcnow
from bot.control.errors import ControlApiError
from bot.domain.requests import ItemState, RequestState, ScheduleRecord
from bot.slack import schedule_blocks as sb
from bot.slack.blocks import escape, section

if TYPE_CHECKING:
    from bot.runtime import BotRuntime

log = logging.getLogger("bot.slack.workflow")

CLICK_WAIT_SECONDS = 5.0  # a click's follow-up waits this long for another process to finish with the request
MAX_RETRY_WAIT_SECONDS = 5.0  # the longest Retry-After honoured inline; longer waits are left to the maintenance loop


def retry_after_seconds(headers: Any, default: float = 1.0) -> float:
    """Slack's ``Retry-After`` (seconds) from response headers of any mapping shape; ``default`` if absent."""
    for key in (headers or {}).keys():
        if str(key).lower() == "retry-after":
            value = headers[key]
            value = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return default
    return default


def _retry_wait(exc: Exception) -> float | None:
    """Seconds to wait before one more attempt of a Web API call that failed with ``exc``; ``None``: do not retry.

    Slack's 429 says how long to wait; a 5xx or a dropped connection gets one quick retry. A refusal (``ok: false``
    with HTTP 200: ``channel_not_found``, ``invalid_auth``…) would only be refused again.
    """
    if not isinstance(exc, SlackApiError):
        return 1.0
    status = getattr(exc.response, "status_code", 200)
    if status == 429:
        wait = retry_after_seconds(getattr(exc.response, "headers", None))
        return wait if wait <= MAX_RETRY_WAIT_SECONDS else None
    return 1.0 if status >= 500 else None


def _error_name(exc: Exception) -> str:
    return str(exc.response.get("error")) if isinstance(exc, SlackApiError) else type(exc).__name__


def _resumable(record: ScheduleRecord) -> bool:
    """An approved request with something left to do, and no POST in flight (reconciliation settles those)."""
    states = {item.state for item in record.items}
    return ItemState.CREATING not in states and bool(states & {ItemState.WAITING, ItemState.CREATED, ItemState.FAILED})


class RequestBusy(Exception):
    """Another bot process is acting on the request; it will finish the job (or its lease runs out)."""


class Workflow:
    def __init__(self, runtime: BotRuntime, *, owner: str | None = None) -> None:
        self.rt = runtime
        self.owner = owner or f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @property
    def client(self) -> Any:
        return self.rt.web_client

    @contextlib.asynccontextmanager
    async def _exclusive(self, request_id: str, *, wait: float = 0.0) -> AsyncIterator[None]:
        """One actor at a time per request: a click's follow-up or a maintenance pass, of any replica.

        Raises ``RequestBusy`` when another process holds the request's lease for longer than ``wait`` seconds.
        """
        lock = self._locks.get(request_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[request_id] = lock
        async with lock:
            seconds = self.rt.settings.request_lease_seconds
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
                    await self.rt.store.drop_lease(request_id, self.owner)
                except Exception as exc:  # the lease runs out by itself; never hide the caller's own error
                    log.warning("could not give back the lease on %s: %s", request_id, type(exc).__name__)

    async def _take_lease(self, request_id: str, seconds: float) -> bool:
        now = utcnow()  # real time, not the runtime's (tests move that one): leases are about processes dying
        return await self.rt.store.take_lease(
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

    async def post(self, channel: str, message: dict[str, Any], **kwargs: Any) -> str | None:
        """``chat.postMessage``; the ``ts`` or ``None`` (logged) when Slack refuses or is unreachable.

        Retried once only after a 429 (nothing was posted); after a 5xx or a dropped connection the message may
        have been posted, so it is not sent again here.
        """
        for attempt in (1, 2):
            try:
                response = await self.client.chat_postMessage(channel=channel, **message, **kwargs)
            except Exception as exc:  # Slack's refusal or the network: log, never crash the caller
                wait = _retry_wait(exc)
                rate_limited = isinstance(exc, SlackApiError) and getattr(exc.response, "status_code", 200) == 429
                log.warning("chat.postMessage to %s failed: %s", channel, _error_name(exc))
                if attempt == 1 and rate_limited and wait is not None:
                    await asyncio.sleep(wait)
                    continue
                return None
            return str(response.get("ts"))
        return None

    async def update(self, channel: str, ts: str, message: dict[str, Any]) -> bool:
        """``chat.update`` (idempotent, so retried once after a 429, a 5xx or a dropped connection)."""
        for attempt in (1, 2):
            try:
                await self.client.chat_update(channel=channel, ts=ts, **message)
            except Exception as exc:
                wait = _retry_wait(exc)
                log.warning("chat.update of %s/%s failed: %s", channel, ts, _error_name(exc))
                if attempt == 1 and wait is not None:
                    await asyncio.sleep(wait)
                    continue
                return False
            return True
        return False

    async def tell_requester(self, record: ScheduleRecord, text: str) -> None:
        """A direct message (the app's Messages tab) to the person who asked."""
        await self.post(record.requester_id, {"text": text, "blocks": [section(text)]})

    async def post_approval(self, record: ScheduleRecord, *, wait: float = 0.0) -> ScheduleRecord:
        """Post the request to APPROVAL_CHANNEL and remember the message (its thread carries the updates).

        Does nothing if the request is no longer pending or its message was posted meanwhile (by a click's
        follow-up or a maintenance pass that got there first).
        """
        try:
            async with self._exclusive(record.id, wait=wait):
                fresh = await self.rt.store.get_request(record.id)
                if fresh is None or fresh.state is not RequestState.PENDING_APPROVAL or fresh.approval_ts is not None:
                    return fresh or record
                return await self._post_approval(fresh)
        except RequestBusy:
            return record  # another replica is posting it

    async def _post_approval(self, record: ScheduleRecord) -> ScheduleRecord:
        channel = self.rt.settings.approval_channel
        if channel is None:
            log.error("request %s needs approval but APPROVAL_CHANNEL is not set", record.id)
            return record
        ts = await self.post(channel, sb.approval_message(record, self_approval=self.rt.settings.allow_self_approval))
        if ts is None:
            return record  # the maintenance loop tries again; the request stays pending and visible in the store
        updated = await self.rt.store.set_approval_message(record.id, channel, ts) or record
        for item in updated.items:
            await self.rt.store.set_item_thread(item.id, channel, ts)
        await self.tell_requester(
            updated,
            f":raised_hand: Your {escape(record.operation_type)} request is waiting for approval in <#{channel}>. "
            "You will hear here when someone decides.",
        )
        return await self.rt.store.get_request(record.id) or updated

    async def show_decision(self, record: ScheduleRecord) -> None:
        """Update the request's message in place (buttons gone, who decided, what was created)."""
        if record.approval_channel_id and record.approval_ts:
            await self.update(record.approval_channel_id, record.approval_ts, sb.decided_message(record))

    async def announce(self, record: ScheduleRecord) -> ScheduleRecord:
        """For a request that needed no approval: a message in its channel, whose thread carries the updates."""
        channel = record.notify_channel_id or record.origin_channel_id
        ts = await self.post(channel, sb.decided_message(record)) if channel else None
        if ts is None or channel is None:
            return record
        updated = await self.rt.store.set_approval_message(record.id, channel, ts) or record
        for item in updated.items:
            await self.rt.store.set_item_thread(item.id, channel, ts)
        return updated

    async def show_outcome(self, record: ScheduleRecord) -> None:
        """Update the request's message and tell the requester how it ended."""
        await self.show_decision(record)
        await self.tell_requester(record, sb.requester_outcome(record))

    async def after_decision(self, record: ScheduleRecord) -> None:
        """What follows a decision that won: create (if approved), update the message, tell the requester."""
        if record.state is RequestState.PENDING_APPROVAL:
            await self.post_approval(record, wait=CLICK_WAIT_SECONDS)
            return
        if record.state is RequestState.APPROVED:
            try:
                async with self._exclusive(record.id, wait=CLICK_WAIT_SECONDS):
                    fresh = await self.rt.store.get_request(record.id)
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
                fresh = await self.rt.store.get_request(record.id)
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
            return await self.rt.scheduling.create_operations(record.id) or record
        except ControlApiError as exc:
            log.warning("creating the operations of %s: %s; will retry", record.id, exc)
            return await self.rt.store.get_request(record.id) or record
