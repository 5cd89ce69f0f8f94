"""What the services need from the chat side, as protocols: the services say *what* to tell people, the Slack
layer (``bot.slack.messenger``, ``bot.slack.directory``, ``bot.slack.delivery``) says it.

Nothing here knows Slack: no blocks, no mrkdwn, no error codes. A test can hand a service any object with these
methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from bot.domain.changes import OperationChange
from bot.domain.people import Person
from bot.domain.requests import ScheduleRecord


class Directory(Protocol):
    """Who people are (zone, locale) and who may approve."""

    def cached_person(self, user_id: str) -> Person | None: ...

    async def person(self, user_id: str) -> Person: ...

    async def is_approver(self, user_id: str, approvers: list[str]) -> bool: ...

    async def membership(self, group_id: str) -> frozenset[str] | None:
        """A user group's members; ``None`` when they cannot be known (access rules then fail closed)."""
        ...


class Messenger(Protocol):
    """What the approval workflow tells people. Posting methods return the message's reference (its ``ts``), or
    ``None`` when it could not be posted (logged; the maintenance loop tries again)."""

    async def post_approval_request(self, record: ScheduleRecord, channel: str) -> str | None: ...

    async def announce(self, record: ScheduleRecord, channel: str) -> str | None: ...

    async def show_decision(self, record: ScheduleRecord) -> bool: ...

    async def tell_waiting_for_approval(self, record: ScheduleRecord, channel: str) -> None: ...

    async def tell_outcome(self, record: ScheduleRecord) -> None: ...


class RolloutMessenger(Protocol):
    """What a rollout tells people: its one message (posted once, then edited in place), the replies in its thread,
    and direct messages. ``view`` is the rollout with its waves' numbers (``bot.services.rollouts.RolloutView``);
    ``event`` one state change (``RolloutEvent``)."""

    async def post_rollout(self, view: Any, channel: str) -> str | None: ...

    async def show_rollout(self, view: Any) -> bool: ...

    async def tell_rollout_event(self, view: Any, event: Any) -> bool: ...

    async def tell(self, user_id: str, text: str) -> None: ...


class HomeRefresher(Protocol):
    """Told when something a person's App Home shows changed (a request, a rollout, an operation's recorded state).

    ``changed()`` returns at once and never raises: the Slack side re-renders later, throttled. The services call it
    after the change is stored, so a render that follows reads it."""

    def changed(self) -> None: ...


class NoHome:
    """The ``HomeRefresher`` of a process without an App Home (tools, tests of one service): nothing to refresh."""

    def changed(self) -> None:
        return None


class NoticeKind(StrEnum):
    CHANGE = "change"  # one operation changed
    DIGEST = "digest"  # many changes for one destination in one cycle
    OUTAGE = "outage"  # the Control API has been unreachable since ``since``
    RECOVERY = "recovery"  # … and answers again (``since`` → ``until``)


@dataclass(frozen=True)
class Notice:
    """One notification to deliver, before it is worded."""

    kind: NoticeKind
    changes: Sequence[OperationChange] = field(default_factory=tuple)
    mention_oncall: bool = False
    since: datetime | None = None
    until: datetime | None = None
    reason: str = ""


class DeliveryOutcome(StrEnum):
    SENT = "sent"
    CHANNEL_GONE = "channel_gone"  # the channel (or the token for it) refuses: skip it for a while
    REFUSED = "refused"  # this message is refused (bad blocks, thread deleted…): skip the row
    TRANSIENT = "transient"  # the chat service is down or busy: keep pending, stop delivering this cycle


@dataclass(frozen=True)
class Delivery:
    outcome: DeliveryOutcome
    error: str = ""  # the chat service's reason, for the log and the outbox row (never a token)
    rate_limited: int = 0  # rate-limit waits honoured on the way


class NotificationSink(Protocol):
    """Where the notifier's notices go (a channel, or a thread in it)."""

    async def deliver(self, channel: str, thread_ts: str | None, notice: Notice) -> Delivery: ...
