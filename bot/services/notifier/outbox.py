"""Outbox: deliver the pending rows, oldest first, grouped by destination, each marked right after Slack took it.

More than ``DIGEST_THRESHOLD`` changes for one destination in a cycle become one digest. A channel the chat
service refuses (``CHANNEL_GONE``) is logged once and skipped for ``UNPOSTABLE_TTL_SECONDS``; a refused message is
skipped; a transient failure leaves the rows pending for the next cycle (given up after ``max_attempts``). Posting
goes through the ``NotificationSink`` port only.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from bot import faultpoints
from bot.clock import Clock
from bot.domain.changes import NotificationRecord, NotificationState, OperationChange
from bot.i18n import N_
from bot.metrics import Metrics
from bot.services.notifier.report import KIND_CHANGE, KIND_OUTAGE, KIND_RECOVERY, CycleReport, count, parse_time
from bot.services.ports import DeliveryOutcome, Notice, NoticeKind, NotificationSink
from bot.store import Store
from bot.tasks import Pacer

log = logging.getLogger("bot.notifier")

MAX_ATTEMPTS = 5  # transient failures of one row before it is given up (logged)
UNPOSTABLE_TTL_SECONDS = 30 * 60.0  # how long a channel the bot cannot post to is skipped without trying
RETENTION = timedelta(days=7)  # delivered / skipped outbox rows are pruned after this
PRUNE_EVERY = timedelta(hours=1)
DELIVERY_BATCH = 5000  # pending rows read per cycle (the rest next cycle)


class Outbox:
    def __init__(
        self,
        store: Store,
        sink: NotificationSink,
        *,
        clock: Clock,
        metrics: Metrics | None,
        digest_threshold: int,
        max_attempts: int = MAX_ATTEMPTS,
        unpostable_ttl: float = UNPOSTABLE_TTL_SECONDS,
        pacer: Pacer | None = None,
    ) -> None:
        self.store = store
        self.pacer = pacer or Pacer()
        self.sink = sink
        self.clock = clock
        self.metrics = metrics
        self.digest_threshold = digest_threshold
        self.max_attempts = max_attempts
        self.unpostable_ttl = unpostable_ttl
        self._unpostable: dict[str, tuple[float, str]] = {}  # channel → (until, error)
        self._reported_channels: set[tuple[str, str]] = set()  # (channel, error) already logged
        self._last_prune: datetime | None = None

    async def deliver(self, report: CycleReport | None = None) -> CycleReport:
        """Post the pending outbox rows, oldest first, grouped by destination (see the module docstring)."""
        report = report if report is not None else CycleReport()
        rows = await self.store.pending_notifications(limit=DELIVERY_BATCH)
        groups: dict[tuple[str, str | None], list[NotificationRecord]] = {}
        for row in rows:
            groups.setdefault((row.channel_id, row.thread_ts), []).append(row)
        for (channel, thread_ts), group in groups.items():
            gone = self._gone(channel)
            if gone is not None:
                await self._finish(group, NotificationState.SKIPPED, report, error=gone)
                continue
            changes = [row for row in group if row.kind == KIND_CHANGE]
            others = [row for row in group if row.kind != KIND_CHANGE]
            for row in others:
                if not await self._deliver_rows(channel, thread_ts, [row], self._notice(row), report):
                    return report
            if len(changes) > self.digest_threshold:
                notice = Notice(
                    NoticeKind.DIGEST,
                    changes=await self._read_changes(changes),
                    mention_oncall=any(row.payload.get("mention") for row in changes),
                )
                if not await self._deliver_rows(channel, thread_ts, changes, notice, report, digest=True):
                    return report
                continue
            for row in changes:
                if self._gone(channel) is not None:
                    await self._finish([row], NotificationState.SKIPPED, report, error=self._gone(channel))
                    continue
                if not await self._deliver_rows(channel, thread_ts, [row], self._notice(row), report):
                    return report
        return report

    async def _read_changes(self, rows: list[NotificationRecord]) -> list[OperationChange]:
        """The changes of a digest's rows (thousands after a fleet-wide change), read a few at a time."""
        changes: list[OperationChange] = []
        for start in range(0, len(rows), 32):
            await self.pacer.pause()
            changes.extend(OperationChange.from_payload(row.payload) for row in rows[start : start + 32])
        return changes

    def _notice(self, row: NotificationRecord) -> Notice:
        payload = row.payload
        if row.kind == KIND_OUTAGE:
            since = parse_time(payload.get("since")) or self.clock()
            return Notice(NoticeKind.OUTAGE, since=since, reason=str(payload.get("reason") or N_("no answer")))
        if row.kind == KIND_RECOVERY:
            until = parse_time(payload.get("until")) or self.clock()
            return Notice(NoticeKind.RECOVERY, since=parse_time(payload.get("since")) or until, until=until)
        return Notice(
            NoticeKind.CHANGE,
            changes=(OperationChange.from_payload(payload),),
            mention_oncall=bool(payload.get("mention")),
        )

    async def _deliver_rows(
        self,
        channel: str,
        thread_ts: str | None,
        rows: list[NotificationRecord],
        notice: Notice,
        report: CycleReport,
        *,
        digest: bool = False,
    ) -> bool:
        """Deliver one notice standing for ``rows`` and record the outcome; ``False``: stop delivering now."""
        delivery = await self.sink.deliver(channel, thread_ts, notice)
        outcome, error = delivery.outcome, delivery.error
        if delivery.rate_limited:
            report.rate_limited += delivery.rate_limited
            count(self.metrics, "notifications", "rate_limited", delivery.rate_limited)
        if outcome is DeliveryOutcome.SENT:
            await faultpoints.reached(faultpoints.NOTIFY_AFTER_POST)
            report.posts += 1
            if digest:
                report.digests += 1
                count(self.metrics, "notifications", "digest")
            await self._finish(rows, NotificationState.SENT, report)
            return True
        if outcome is DeliveryOutcome.CHANNEL_GONE:
            self._mark_gone(channel, error)
            await self._finish(rows, NotificationState.SKIPPED, report, error=error)
            return True
        if outcome is DeliveryOutcome.REFUSED:
            log.warning("Slack refused a notification for %s (%s); skipped", channel, error)
            await self._finish(rows, NotificationState.SKIPPED, report, error=error)
            return True
        given_up = await self.store.note_delivery_failure(
            [row.id for row in rows], error, give_up_after=self.max_attempts, at=self.clock()
        )
        report.deferred += len(rows) - len(given_up)
        report.skipped += len(given_up)
        if given_up:
            log.error("giving up on %d notification(s) to %s after %d attempts (%s)", len(given_up), channel,
                      self.max_attempts, error)  # fmt: skip
            count(self.metrics, "notifications", "given_up", len(given_up))
        log.warning("Slack unavailable (%s); pending notifications wait for the next cycle", error)
        return False

    async def _finish(
        self, rows: list[NotificationRecord], state: NotificationState, report: CycleReport, *, error: str | None = None
    ) -> None:
        if not rows:
            return
        await self.store.finish_notifications([row.id for row in rows], state.value, at=self.clock(), error=error)
        if state is NotificationState.SENT:
            report.sent += len(rows)
            count(self.metrics, "notifications", "sent", len(rows))
        else:
            report.skipped += len(rows)
            count(self.metrics, "notifications", "skipped", len(rows))

    def _gone(self, channel: str) -> str | None:
        """The error of a channel known to be unpostable (still within its TTL), else ``None``."""
        entry = self._unpostable.get(channel)
        if entry is None:
            return None
        until, error = entry
        if time.monotonic() >= until:
            del self._unpostable[channel]
            return None
        return error

    def _mark_gone(self, channel: str, error: str) -> None:
        self._unpostable[channel] = (time.monotonic() + self.unpostable_ttl, error)
        if (channel, error) not in self._reported_channels:
            self._reported_channels.add((channel, error))
            log.warning(
                "cannot post notifications to channel %s (%s); skipping it (invite the bot or fix the channel)",
                channel,
                error,
            )

    async def prune(self, now: datetime) -> None:
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        try:
            removed = await self.store.prune_notifications(now - RETENTION)
        except Exception as exc:  # housekeeping must never break a cycle
            log.warning("pruning old notifications failed: %s", type(exc).__name__)
            return
        if removed:
            log.info("pruned %d delivered notifications older than %d days", removed, RETENTION.days)
