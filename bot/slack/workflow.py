"""The Slack side of scheduling: post the approval request, update it in place, tell the requester.

Services decide; this module shows the decisions. Every Web API failure is logged and survivable: the request
stays in the store in a state someone can act on, and the maintenance loop re-posts what could not be posted.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.control.errors import ControlApiError
from bot.slack import schedule_blocks as sb
from bot.slack.blocks import escape, section
from bot.store.records import ItemState, RequestState, ScheduleRecord

if TYPE_CHECKING:
    from bot.runtime import BotRuntime

log = logging.getLogger("bot.slack.workflow")


class Workflow:
    def __init__(self, runtime: BotRuntime) -> None:
        self.rt = runtime

    @property
    def client(self) -> Any:
        return self.rt.web_client

    async def post(self, channel: str, message: dict[str, Any], **kwargs: Any) -> str | None:
        """``chat.postMessage``; the ``ts`` or ``None`` (logged) when Slack refuses or is unreachable."""
        try:
            response = await self.client.chat_postMessage(channel=channel, **message, **kwargs)
        except SlackApiError as exc:
            log.warning("chat.postMessage to %s failed: %s", channel, exc.response.get("error"))
            return None
        except Exception as exc:  # the network: log, never crash the caller
            log.warning("chat.postMessage to %s failed: %s", channel, type(exc).__name__)
            return None
        return str(response.get("ts"))

    async def update(self, channel: str, ts: str, message: dict[str, Any]) -> bool:
        try:
            await self.client.chat_update(channel=channel, ts=ts, **message)
        except Exception as exc:
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
            log.warning("chat.update of %s/%s failed: %s", channel, ts, error)
            return False
        return True

    async def tell_requester(self, record: ScheduleRecord, text: str) -> None:
        """A direct message (the app's Messages tab) to the person who asked."""
        await self.post(record.requester_id, {"text": text, "blocks": [section(text)]})

    async def post_approval(self, record: ScheduleRecord) -> ScheduleRecord:
        """Post the request to APPROVAL_CHANNEL and remember the message (its thread carries the updates)."""
        channel = self.rt.settings.approval_channel
        if channel is None:
            log.error("request %s needs approval but APPROVAL_CHANNEL is not set", record.id)
            return record
        ts = await self.post(channel, sb.approval_message(record))
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
            await self.post_approval(record)
            return
        if record.state is RequestState.APPROVED:
            if not (record.approval_channel_id and record.approval_ts):
                record = await self.announce(record)
            await self.show_decision(record)
            record = await self.create(record)
        await self.show_outcome(record)

    async def resume(self, record: ScheduleRecord) -> None:
        """An approved request whose creation was interrupted (restart, outage): finish it, then tell."""
        if not any(item.state in (ItemState.WAITING, ItemState.CREATED, ItemState.FAILED) for item in record.items):
            return
        if any(item.state is ItemState.CREATING for item in record.items):
            return  # a POST is in flight here or elsewhere; reconciliation settles it
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
