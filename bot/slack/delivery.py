"""The ``NotificationSink`` port on Slack: a notice rendered with the notification blocks and posted.

Slack's answer becomes a ``DeliveryOutcome`` the notifier acts on: ``SENT``; ``CHANNEL_GONE`` (the bot cannot post
there: skip the channel for a while); ``REFUSED`` (this message: skip the row); ``TRANSIENT`` (Slack's 5xx, the
network, too many 429s: keep the rows for the next cycle). Rate limits are waited out here (``web.NOTIFY``).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.i18n import DEFAULT_LANGUAGE, N_, use_language
from bot.services.ports import Delivery, DeliveryOutcome, Notice, NoticeKind
from bot.slack.blocks import notifications
from bot.slack.blocks.common import Message
from bot.slack.web import NOTIFY, RetryPolicy, SlackWeb


class SlackDelivery:
    def __init__(
        self,
        web: SlackWeb,
        *,
        oncall_group: str | None,
        policy: RetryPolicy = NOTIFY,
        language_of: Callable[[str], str] | None = None,
    ) -> None:
        self.web = web
        self.language_of = language_of or (lambda _destination: DEFAULT_LANGUAGE)  # CHANNEL_LANGUAGES
        self.oncall_group = oncall_group  # ONCALL_GROUP, mentioned in channel messages about failures
        self.policy = policy

    def render(self, notice: Notice) -> Message:
        if notice.kind is NoticeKind.OUTAGE:
            assert notice.since is not None
            return notifications.outage_message(notice.since, notice.reason or N_("no answer"))
        if notice.kind is NoticeKind.RECOVERY:
            assert notice.since is not None and notice.until is not None
            return notifications.recovery_message(notice.since, notice.until)
        if notice.kind is NoticeKind.DIGEST:
            return notifications.digest_message(
                list(notice.changes), oncall_group=self.oncall_group, mention_oncall=notice.mention_oncall
            )
        (change,) = notice.changes
        return notifications.change_message(
            change, oncall_group=self.oncall_group, mention_oncall=notice.mention_oncall
        )

    async def deliver(self, channel: str, thread_ts: str | None, notice: Notice) -> Delivery:
        with use_language(self.language_of(channel)):
            message = self.render(notice)
        result = await self.web.post(
            channel,
            {"text": message["text"], "blocks": message.get("blocks")},
            policy=self.policy,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
        )
        outcome = DeliveryOutcome(result.outcome)
        return Delivery(outcome, "" if outcome is DeliveryOutcome.SENT else result.error, result.rate_limited)
