"""The ``RolloutMessenger`` port on Slack: a rollout's one message (posted once, edited in place) and the replies in
its thread, rendered by ``bot.slack.blocks.rollouts`` and sent through the one sender.

The message and its thread are the channel's, read by everyone there: they render in the channel's ``language``
(English unless told), never in that of whoever clicked last (a click re-renders the message) nor in the runner's.
"""

from __future__ import annotations

import logging

from bot.i18n import DEFAULT_LANGUAGE, use_language
from bot.services.rollouts import RolloutEvent, RolloutView
from bot.slack.blocks import rollouts as rb
from bot.slack.blocks.common import Message
from bot.slack.web import POST, UPDATE, SlackWeb

log = logging.getLogger("bot.slack.rollouts")


class SlackRolloutMessenger:
    def __init__(
        self,
        web: SlackWeb,
        *,
        self_approval: bool = False,
        oncall_group: str | None = None,
        language: str = DEFAULT_LANGUAGE,
    ) -> None:
        self.web = web
        self.self_approval = self_approval
        self.oncall_group = oncall_group  # paged once, in the thread reply of an abort
        self.language = language  # the approval channel's: every rollout message and thread reply is rendered in it

    def _message(self, view: RolloutView) -> Message:
        with use_language(self.language):
            return rb.rollout_message(view, self_approval=self.self_approval)

    async def post_rollout(self, view: RolloutView, channel: str) -> str | None:
        result = await self.web.post(channel, self._message(view), policy=POST)
        if not result.ok:
            log.warning("rollout %s: chat.postMessage to %s failed: %s", view.record.id, channel, result.error)
            return None
        return str(result.data.get("ts"))

    async def show_rollout(self, view: RolloutView) -> bool:
        record = view.record
        if not (record.approval_channel_id and record.approval_ts):
            return False
        message = self._message(view)
        result = await self.web.update(record.approval_channel_id, record.approval_ts, message, policy=UPDATE)
        if not result.ok:
            log.warning("rollout %s: chat.update failed: %s", record.id, result.error)
        return result.ok

    async def tell_rollout_event(self, view: RolloutView, event: RolloutEvent) -> bool:
        record = view.record
        if not (record.approval_channel_id and record.approval_ts):
            return False
        with use_language(self.language):
            message: Message = rb.rollout_event_message(view, event, oncall_group=self.oncall_group)
        result = await self.web.post(record.approval_channel_id, message, policy=POST, thread_ts=record.approval_ts)
        if not result.ok:
            log.warning("rollout %s: thread reply %s failed: %s", record.id, event.kind, result.error)
        return result.ok

    async def tell(self, user_id: str, text: str) -> None:
        """A direct message, already in its reader's words (the person who clicked)."""
        await self.web.post(user_id, {"text": text}, policy=POST)


__all__ = ["SlackRolloutMessenger"]
