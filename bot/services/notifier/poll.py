"""Poll and diff: one ``list_operations()``, diffed against the states recorded after the previous poll, recorded
with the outbox rows it routes in ONE transaction (a crash before the commit loses nothing: the next poll finds the
same change). After a complete poll, recorded operations the list lacks are marked missing and, after
``NOTIFIER_FORGET_AFTER_DAYS``, forgotten. A failed poll records the outage (and, once it has lasted a poll interval,
queues the "unreachable" alert); the first poll after it queues the recovery message.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot import faultpoints
from bot.control.client import ControlApiClient, OperationList
from bot.control.errors import ControlApiError
from bot.domain.changes import KnownState, NewNotification, diff_operations
from bot.metrics import Metrics
from bot.services.notifier.report import (
    BASELINE_KEY,
    KIND_OUTAGE,
    KIND_RECOVERY,
    OUTAGE_ALERTED_KEY,
    OUTAGE_REASON_KEY,
    OUTAGE_SINCE_KEY,
    CycleReport,
    parse_time,
    reason_of,
)
from bot.services.notifier.route import Router
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger("bot.notifier")


class Poller:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        control: ControlApiClient,
        router: Router,
        *,
        metrics: Metrics | None,
        poll_interval: float,
        forget_after: timedelta,
    ) -> None:
        self.settings = settings
        self.store = store
        self.control = control
        self.router = router
        self.metrics = metrics
        self.poll_interval = poll_interval
        self.forget_after = forget_after

    async def poll(self, now: datetime, report: CycleReport) -> None:
        """List, diff and record (or record the outage); ``report`` says what happened."""
        try:
            operations = await self.control.list_operations()
        except ControlApiError as exc:
            report.ok = False
            report.error = reason_of(exc)
            await self._record_outage(report.error, now)
            return
        await faultpoints.reached(faultpoints.NOTIFY_AFTER_POLL)
        report.operations = len(operations)
        # Not an ``OperationList``: nothing vouches that the list is complete, so nothing is missing.
        report.complete = isinstance(operations, OperationList) and operations.complete
        known = await self._record_changes(operations, now, report)
        if report.complete:
            await self._note_missing(operations, known, now, report)

    async def _record_changes(
        self, operations: Sequence[Any], now: datetime, report: CycleReport
    ) -> dict[str, KnownState]:
        """Diff, route and record one poll; returns the states known before it."""
        meta = await self.store.notifier_meta()
        known = await self.store.operation_states()
        baseline = not meta.get(BASELINE_KEY)
        diff = diff_operations(operations, known, now=now, baseline=baseline, history_before=now - self.forget_after)
        report.baseline = baseline
        if diff.history:
            log.info(
                "%d operation(s) seen for the first time were scheduled more than %d days ago: recorded silently "
                "(listed again after being forgotten, or newly visible)",
                diff.history,
                self.forget_after.days,
            )
        report.recorded = len(diff.states)
        report.changes = len(diff.changes)
        notes: list[NewNotification] = []
        updates: dict[str, Any] = {}
        if baseline:
            updates[BASELINE_KEY] = now.isoformat()
            log.info("notifier baseline: %d operations recorded silently", len(diff.states))
        if meta.get(OUTAGE_SINCE_KEY):
            notes.extend(self._recovery(meta, now))
            updates.update({OUTAGE_SINCE_KEY: None, OUTAGE_ALERTED_KEY: None, OUTAGE_REASON_KEY: None})
        if diff.changes:
            notes.extend(await self.router.route(diff.changes))
        report.queued = len(notes)
        if diff.states or notes or updates:
            await self.store.record_notifier_cycle(states=diff.states, notifications=notes, meta=updates, at=now)
        if self.metrics is not None:
            for change in diff.changes:
                self.metrics.notifier_events.labels(change.kind.value).inc()
        return known

    async def _note_missing(
        self, operations: OperationList, known: dict[str, KnownState], now: datetime, report: CycleReport
    ) -> None:
        """After a complete poll: mark the recorded operations it lacks, clear those listed again, forget those
        missing too long. Set arithmetic here, so the database only sees the few rows that change (a quiet poll:
        one small select, no write)."""
        listed = operations.listed_ids()
        try:
            missing = await self.store.missing_operations()
            newly_missing = known.keys() - listed - missing.keys()
            listed_again = missing.keys() & listed
            cutoff = now - self.forget_after
            forget = any(since < cutoff for op_id, since in missing.items() if op_id not in listed)
            if not (newly_missing or listed_again or forget):
                return
            report.missing, report.listed_again, report.forgotten = await self.store.note_missing_operations(
                missing=sorted(newly_missing),
                listed_again=sorted(listed_again),
                forget_before=cutoff if forget else None,
                at=now,
            )
        except Exception as exc:  # housekeeping must never break a cycle; the next complete poll does it again
            log.warning("noting operations missing from the list failed: %s", type(exc).__name__)
            return
        if report.missing:
            log.info("%d recorded operation(s) no longer in the Control API's list", report.missing)
        if report.forgotten:
            log.info("forgot %d operation(s) missing from the list for more than %d days", report.forgotten,
                     self.forget_after.days)  # fmt: skip

    async def _record_outage(self, reason: str, now: datetime) -> None:
        meta = await self.store.notifier_meta()
        since = parse_time(meta.get(OUTAGE_SINCE_KEY))
        updates: dict[str, Any] = {}
        if since is None:
            since = now
            updates.update({OUTAGE_SINCE_KEY: now.isoformat(), OUTAGE_REASON_KEY: reason})
            log.warning("Control API unreachable (%s); backing off, notifications wait", reason)
        notes: list[NewNotification] = []
        if not meta.get(OUTAGE_ALERTED_KEY) and (now - since).total_seconds() >= self.poll_interval:
            updates[OUTAGE_ALERTED_KEY] = True
            channel = self.settings.notify_channel
            if channel:
                notes.append(
                    NewNotification(
                        dedupe_key=f"outage:{since.isoformat()}:down:{channel}",
                        operation_id=None,
                        channel_id=channel,
                        thread_ts=None,
                        kind=KIND_OUTAGE,
                        payload={"since": since.isoformat(), "reason": reason},
                    )
                )
        if updates or notes:
            await self.store.record_notifier_cycle(notifications=notes, meta=updates, at=now)

    def _recovery(self, meta: dict[str, Any], now: datetime) -> list[NewNotification]:
        since = parse_time(meta.get(OUTAGE_SINCE_KEY)) or now
        minutes = (now - since).total_seconds() / 60
        log.info("Control API answering again after %.1f min", minutes)
        channel = self.settings.notify_channel
        if not (meta.get(OUTAGE_ALERTED_KEY) and channel):
            return []
        return [
            NewNotification(
                dedupe_key=f"outage:{since.isoformat()}:up:{channel}",
                operation_id=None,
                channel_id=channel,
                thread_ts=None,
                kind=KIND_RECOVERY,
                payload={"since": since.isoformat(), "until": now.isoformat()},
            )
        ]
