"""The ``Messenger`` port on Slack: what the approval workflow says, rendered and posted through ``web``.

Every Web API failure is logged and survivable: a post that fails returns ``None`` and the request stays in the
store in a state the maintenance loop picks up again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.domain.requests import ScheduleRecord
from bot.i18n import DEFAULT_LANGUAGE, _, use_language
from bot.slack.blocks import scheduling as sb
from bot.slack.blocks.common import Message, escape, section
from bot.slack.web import POST, UPDATE, SlackWeb

log = logging.getLogger("bot.slack.workflow")


class SlackMessenger:
    def __init__(
        self, web: SlackWeb, *, self_approval: bool = False, language_of: Callable[[str], str] | None = None
    ) -> None:
        self.web = web
        self.self_approval = self_approval  # ALLOW_SELF_APPROVAL: the approval message says who may decide
        # A channel's language (CHANNEL_LANGUAGES) or a person's (a DM): what is posted there is worded in it.
        self.language_of = language_of or (lambda _destination: DEFAULT_LANGUAGE)

    async def post(self, channel: str, message: Message) -> str | None:
        """``chat.postMessage``; the ``ts`` or ``None`` (logged) when Slack refuses or is unreachable.

        Tried again only after a 429 (nothing was posted); after a 5xx or a dropped connection the message may
        have been posted, so it is not sent again here (``web.POST``)."""
        result = await self.web.post(channel, message, policy=POST)
        if not result.ok:
            log.warning("chat.postMessage to %s failed: %s", channel, result.error)
            return None
        return str(result.data.get("ts"))

    async def update(self, channel: str, ts: str, message: Message) -> bool:
        """``chat.update`` (idempotent, so tried again after a 429, a 5xx or a dropped connection)."""
        result = await self.web.update(channel, ts, message, policy=UPDATE)
        if not result.ok:
            log.warning("chat.update of %s/%s failed: %s", channel, ts, result.error)
        return result.ok

    async def tell(self, user_id: str, text: str) -> None:
        """A direct message (the app's Messages tab)."""
        await self.post(user_id, {"text": text, "blocks": [section(text)]})

    # ------------------------------------------------------------------ the Messenger port

    async def post_approval_request(self, record: ScheduleRecord, channel: str) -> str | None:
        with use_language(self.language_of(channel)):
            message = sb.approval_message(record, self_approval=self.self_approval)
        return await self.post(channel, message)

    async def announce(self, record: ScheduleRecord, channel: str) -> str | None:
        with use_language(self.language_of(channel)):
            message = sb.decided_message(record)
        return await self.post(channel, message)

    async def show_decision(self, record: ScheduleRecord) -> bool:
        if record.approval_channel_id and record.approval_ts:
            with use_language(self.language_of(record.approval_channel_id)):
                message = sb.decided_message(record)
            return await self.update(record.approval_channel_id, record.approval_ts, message)
        return False

    async def tell_waiting_for_approval(self, record: ScheduleRecord, channel: str) -> None:
        with use_language(self.language_of(record.requester_id)):
            waiting = _(
                "Your {operation_type} request is waiting for approval in {channel}. "
                "You will hear here when someone decides."
            ).format(operation_type=escape(record.operation_type), channel=f"<#{channel}>")
        await self.tell(record.requester_id, f":raised_hand: {waiting}")

    async def tell_outcome(self, record: ScheduleRecord) -> None:
        with use_language(self.language_of(record.requester_id)):
            text = sb.requester_outcome(record)
        await self.tell(record.requester_id, text)
