"""Poll and diff, page by page: the list is streamed (``ControlApiClient.operation_pages``, several pages in flight),
each listed operation is glanced at (``bot.control.glance``) and compared with the print the notifier keeps of it
(``KnownPrints``); only the new and the changed ones are read in full, diffed against their stored state, routed,
and recorded with their outbox rows in ONE transaction per flush (a crash before a commit loses nothing: the next
poll finds the same change; after it, the rows are delivered). Changed operations are gathered over pages and
flushed every ``FLUSH_OPERATIONS`` (a few database round trips each); a quiet poll writes nothing.

After a *complete* poll (every page read, every record named, every page announcing the same ``count`` and that
many operations found), recorded operations the list lacks are marked missing and, after
``NOTIFIER_FORGET_AFTER_DAYS``, forgotten. A poll that fails part way keeps what its earlier pages recorded (real
changes, told once) and marks nothing missing. A failed poll records the outage (and, once it has lasted a poll
interval, queues the "unreachable" alert); the first page read after it queues the recovery message.

No step holds the event loop long: the glance loop, the full reads, the diff and the routing look at a ``Pacer``
every few records and hand the loop back every half millisecond of work (a cycle over 100,000 operations in
``serve`` must not delay Slack's acks), and the store streams what it loads and writes in small statements.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot import faultpoints
from bot.control.client import ControlApiClient
from bot.control.errors import ControlApiError, UnexpectedAnswer
from bot.control.glance import glance
from bot.control.models import Operation
from bot.control.pages import parse_records
from bot.control.stream import Page
from bot.domain.changes import NewNotification, OperationChange, diff_operations
from bot.i18n import N_
from bot.metrics import Metrics
from bot.services.notifier.known import WRITER_KEY, KnownPrints
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
from bot.tasks import Foreground, Pacer

log = logging.getLogger("bot.notifier")

#: Records glanced at between two looks at the clock (``Pacer``: the loop is handed back every half millisecond).
GLANCE_SLICE = 64
#: Records read in full (pydantic), or diffed, between two looks at the clock.
READ_SLICE = 8
#: Changed operations diffed, routed and recorded together (a few database round trips for this many): a quiet
#: page adds a handful, so a 100-page poll with 5 % changes writes a few times, not once per page.
FLUSH_OPERATIONS = 1000


@dataclass
class _Pass:
    """One poll's progress, page after page."""

    now: datetime
    baseline: bool
    history_before: datetime
    listed: set[str] = field(default_factory=set)
    unreadable: set[str] = field(default_factory=set)
    unidentified: int = 0
    count: int | None = None  # what page 1 announced
    counts_agree: bool = True
    history: int = 0
    paged: set[tuple[str, str | None, str]] = field(default_factory=set)  # on-call paged once per thread per poll
    meta: dict[str, Any] = field(default_factory=dict)  # written with the next write of this pass
    pending: list[Operation] = field(default_factory=list)  # read in full, to diff with the next flush
    problems: Counter[str] = field(default_factory=Counter)  # why records could not be read (logged once a poll)
    notes: list[NewNotification] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Does "not listed" prove "not in the list"? Every record named, and as many as every page announced."""
        if self.unidentified or not self.counts_agree:
            return False
        return self.count is None or self.named >= self.count

    @property
    def named(self) -> int:
        """Operations listed (read or unreadable: disjoint sets, see ``Poller._read``), without a union of a
        million ids."""
        return len(self.listed) + len(self.unreadable - self.listed)


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
        foreground: Foreground | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.control = control
        self.router = router
        self.metrics = metrics
        self.poll_interval = poll_interval
        self.forget_after = forget_after
        self.known = KnownPrints(store)
        self.pacer = Pacer(foreground=foreground)

    async def poll(self, now: datetime, report: CycleReport) -> None:
        """Stream, diff and record (or record the outage); ``report`` says what happened."""
        meta = await self.store.notifier_meta()
        await self.known.ensure_fresh(meta)
        run = _Pass(now=now, baseline=not meta.get(BASELINE_KEY), history_before=now - self.forget_after)
        report.baseline = run.baseline
        try:
            await self._poll(run, meta, report)
        finally:
            if run.problems:
                reasons = "; ".join(f"{why} ×{n}" for why, n in run.problems.most_common(3))
                log.warning("%d listed record(s) could not be read as operations (%s); skipped this poll",
                            run.problems.total(), reasons)  # fmt: skip

    async def _poll(self, run: _Pass, meta: dict[str, Any], report: CycleReport) -> None:
        now = run.now
        try:
            pages = self.control.operation_pages(concurrency=self.settings.notifier_page_concurrency)
            async with contextlib.aclosing(pages):
                async for page in pages:
                    if page.number == 1:
                        await faultpoints.reached(faultpoints.NOTIFY_AFTER_POLL)
                        self._answering_again(meta, run)
                    await self._page(page, run, report)
                    if len(run.pending) >= FLUSH_OPERATIONS:
                        await self._flush(run, report)
        except ControlApiError as exc:
            await self._flush(run, report)  # what the pages before the failure said is true: told once
            report.ok = False
            report.error = reason_of(exc)
            report.operations = run.named
            await self._record_outage(report.error, now)
            return
        await self._flush(run, report)
        if run.baseline:
            run.meta[BASELINE_KEY] = now.isoformat()
            log.info("notifier baseline: %d operations recorded silently", report.recorded)
        await self._write(run, [], [])
        if run.history:
            log.info(
                "%d operation(s) seen for the first time were scheduled more than %d days ago: recorded silently "
                "(listed again after being forgotten, or newly visible)",
                run.history,
                self.forget_after.days,
            )
        report.operations = run.named
        report.complete = run.complete
        if report.complete:
            run.listed |= run.unreadable  # few: in place, not a copy of the listed ids
            await self._note_missing(run.listed, now, report)

    async def _page(self, page: Page, run: _Pass, report: CycleReport) -> None:
        """Glance at one page; read in full what is new or changed (diffed, routed and recorded by ``_flush``)."""
        report.pages += 1
        report.pages_ahead += page.fetched_ahead
        if page.count is not None:
            if run.count is None and page.number == 1:
                run.count = page.count
            elif page.count != run.count:
                run.counts_agree = False  # the list changed while it was read: what it lacks proves nothing
        items, known, listed, now = page.items, self.known, run.listed, run.now
        candidates: list[tuple[Any, str | None]] = []  # (record, its id if glanced)
        quiet = 0
        pacer = self.pacer
        for start in range(0, len(items), GLANCE_SLICE):
            await pacer.pause()
            for item in items[start : start + GLANCE_SLICE]:
                seen = glance(item)
                if seen is None:
                    candidates.append((item, None))
                elif seen.id not in listed:  # listed twice (the list shifted while read): the first sighting wins
                    listed.add(seen.id)
                    if known.quiet(seen, now):
                        quiet += 1
                    else:
                        candidates.append((item, seen.id))
                else:
                    quiet += 1
        operations, readable = await self._read(candidates, run)
        report.examined += len(candidates)
        if items and not (quiet or readable):
            raise UnexpectedAnswer(
                N_("its list contains nothing that looks like an operation")
            )  # the outage alert's reason
        run.pending.extend(operations)

    async def _read(self, candidates: Sequence[tuple[Any, str | None]], run: _Pass) -> tuple[list[Operation], int]:
        """The candidates read as full models, each id once per poll, and how many could be read; skipped records
        are noted as ``bot.control.stream.read_all`` notes them (unreadable ids are still listed, a record without
        one is not)."""
        operations: list[Operation] = []
        readable = 0
        for start in range(0, len(candidates), READ_SLICE):
            await self.pacer.pause()
            chunk = candidates[start : start + READ_SLICE]
            glanced = {op_id for _, op_id in chunk if op_id is not None}
            parsed, skipped = parse_records((item for item, _ in chunk), run.problems)
            readable += len(parsed)
            for op in parsed:
                if op.id not in glanced:
                    if op.id in run.listed:
                        continue  # listed twice: the first sighting wins
                    run.listed.add(op.id)
                glanced.discard(op.id)
                operations.append(op)
            for op_id in skipped:
                if op_id is None:
                    run.unidentified += 1
                else:
                    run.unreadable.add(op_id)
        run.unreadable -= run.listed
        return operations, readable

    async def _flush(self, run: _Pass, report: CycleReport) -> None:
        """Diff, route and record the operations read in full since the last flush (one write transaction)."""
        operations, run.pending = run.pending, []
        if not operations:
            return
        known = await self.store.operation_states_for(op.id for op in operations)
        states: list[dict[str, Any]] = []
        changes: list[OperationChange] = []
        for start in range(0, len(operations), READ_SLICE * 4):
            await self.pacer.pause()
            diff = diff_operations(
                operations[start : start + READ_SLICE * 4],
                known,
                now=run.now,
                baseline=run.baseline,
                history_before=run.history_before,
            )
            states += diff.states
            changes += diff.changes
            run.history += diff.history
        report.recorded += len(states)
        report.changes += len(changes)
        notes = await self.router.route(changes, paged=run.paged, pacer=self.pacer) if changes else []
        await self._write(run, states, notes)
        written = {row["operation_id"]: row for row in states}
        for start in range(0, len(operations), GLANCE_SLICE):
            await self.pacer.pause()
            self.known.remember(operations[start : start + GLANCE_SLICE], known, written)
        report.queued += len(notes)
        if self.metrics is not None:
            for change in changes:
                self.metrics.notifier_events.labels(change.kind.value).inc()

    async def _write(self, run: _Pass, states: list[dict[str, Any]], notes: list[NewNotification]) -> None:
        """One transaction: ``states``, ``notes`` and what the pass still has to write (flags, recovery)."""
        notes = [*run.notes, *notes]
        meta = dict(run.meta)
        if not (states or notes or meta):
            return
        token = self.known.next_token() if states else None
        if token is not None:
            meta[WRITER_KEY] = token
        await self.store.record_notifier_cycle(states=states, notifications=notes, meta=meta, at=run.now)
        run.notes.clear()
        run.meta.clear()
        if token is not None:
            self.known.committed(token)

    def _answering_again(self, meta: dict[str, Any], run: _Pass) -> None:
        """The API answers: after an outage, clear it and queue the recovery message (with the pass's first write)."""
        if not meta.get(OUTAGE_SINCE_KEY):
            return
        since = parse_time(meta.get(OUTAGE_SINCE_KEY)) or run.now
        log.info("Control API answering again after %.1f min", (run.now - since).total_seconds() / 60)
        run.meta.update({OUTAGE_SINCE_KEY: None, OUTAGE_ALERTED_KEY: None, OUTAGE_REASON_KEY: None})
        channel = self.settings.notify_channel
        if meta.get(OUTAGE_ALERTED_KEY) and channel:
            run.notes.append(
                NewNotification(
                    dedupe_key=f"outage:{since.isoformat()}:up:{channel}",
                    operation_id=None,
                    channel_id=channel,
                    thread_ts=None,
                    kind=KIND_RECOVERY,
                    payload={"since": since.isoformat(), "until": run.now.isoformat()},
                )
            )

    async def _note_missing(self, listed: set[str], now: datetime, report: CycleReport) -> None:
        """After a complete poll: mark the recorded operations it lacks, clear those listed again, forget those
        missing too long. Set arithmetic here, so the database only sees the few rows that change (a quiet poll:
        two small indexed selects, no write)."""
        try:
            missing = await self.store.missing_operations()
            recorded = await self._unlisted(listed) | (await self.store.unpolled_operation_ids() - listed)
            newly_missing = recorded - missing.keys()
            listed_again = missing.keys() & listed
            cutoff = now - self.forget_after
            forget = [op_id for op_id, since in missing.items() if op_id not in listed and since < cutoff]
            if not (newly_missing or listed_again or forget):
                return
            report.missing, report.listed_again, report.forgotten = await self.store.note_missing_operations(
                missing=sorted(newly_missing),
                listed_again=sorted(listed_again),
                forget_before=cutoff if forget else None,
                at=now,
            )
            self.known.forget(forget)
        except Exception as exc:  # housekeeping must never break a cycle; the next complete poll does it again
            log.warning("noting operations missing from the list failed: %s", type(exc).__name__)
            return
        if report.missing:
            log.info("%d recorded operation(s) no longer in the Control API's list", report.missing)
        if report.forgotten:
            log.info("forgot %d operation(s) missing from the list for more than %d days", report.forgotten,
                     self.forget_after.days)  # fmt: skip

    async def _unlisted(self, listed: set[str]) -> set[str]:
        """The recorded operations ``listed`` lacks, in slices (a million ids: no single step over a few ms)."""
        ids = list(self.known.ids())
        unlisted: set[str] = set()
        for start in range(0, len(ids), GLANCE_SLICE * 25):
            unlisted.update([op_id for op_id in ids[start : start + GLANCE_SLICE * 25] if op_id not in listed])
            await asyncio.sleep(0)
        return unlisted

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
