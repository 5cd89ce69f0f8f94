"""The notifier: a background task that polls the Control API and tells Slack what changed, once each.

One cycle (``Notifier.run_cycle``):

1. **Poll**: one ``list_operations()`` (the list endpoint and its pages; never one request per operation, never
   ``update_status=true``).
2. **Diff** against the states recorded after the previous poll (one bulk select), see
   ``bot.domain.changes``.
3. **Route** each change (bulk look-ups for the changed operations only): an operation the bot created → a reply
   in the thread of its approval / confirmation message (plus, for a failure, a message in that channel, and
   messages in the channel its requester chose for status updates); channels watching it
   (``/headless watch``); ``NOTIFY_CHANNEL`` as ``NOTIFY_SCOPE`` says (``all``, ``bot-created``, ``failures``).
   Failures mention ``ONCALL_GROUP`` in channel messages and carry a Refresh button.
4. **Record**, in ONE transaction: the changed states *and* one outbox row per (change, destination), insert-or-
   ignore on a dedupe key. A crash before the commit loses nothing (the next poll finds the same change); after
   it, the rows are delivered by the next cycle.
5. **Deliver** the pending outbox rows, marking each ``sent`` right after Slack accepted it, so a crash re-sends
   at most the one row whose post was not yet recorded. More than ``DIGEST_THRESHOLD`` changes for one
   destination in a cycle become one digest message. Slack's 429 is honoured (``Retry-After``); a channel the bot
   cannot post to is logged once and its rows are skipped; a 5xx / network error leaves the rows pending for the
   next cycle (given up after ``max_attempts``).

**Forget** (after a *complete* poll only: every page read, every listed record identified): recorded operations
the list no longer has get ``missing_since`` (one UPDATE for them, only the newly missing), those listed again have
it cleared, and rows missing for more than ``NOTIFIER_FORGET_AFTER_DAYS`` are deleted. A failed poll (API error,
page cap, pagination loop) or one with a record that has no usable id marks nothing. An operation listed again
after it was forgotten is a first sighting like any other; scheduled before the retention, it is history and
recorded silently (see ``bot.domain.changes``).

The first cycle on a database with no baseline records every operation silently. When the Control API cannot be
listed, the loop backs off exponentially (``min(interval * 2**n, 15 min)``) but probes the API every poll interval
with one small request (``ControlApiClient.health``), polling as soon as it answers: the list is spared during an
outage, and the recovery is noticed within one interval. ``NOTIFY_CHANNEL`` gets one "unreachable since …" alert
once the outage has lasted a poll interval, and one recovery message when the API answers again (both recorded in
``notifier_meta``, so a restart neither repeats nor forgets them).

Only one process polls: ``run_forever`` holds the store's ``NotifierLease`` (PostgreSQL: a session advisory lock
on a dedicated connection; SQLite: a single process) and checks it before each cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import faultpoints
from bot.clock import Clock, utcnow
from bot.control.client import ControlApiClient, OperationList
from bot.control.errors import ControlApiError, Unauthorized
from bot.domain.changes import (
    BotThread,
    KnownState,
    NewNotification,
    NotificationRecord,
    NotificationState,
    OperationChange,
    diff_operations,
)
from bot.metrics import Metrics
from bot.settings import NotifyScope, Settings
from bot.slack import notify_blocks
from bot.store import NotifierLease, Store

log = logging.getLogger("bot.notifier")

BASELINE_KEY = "baseline_done"
OUTAGE_SINCE_KEY = "outage_since"
OUTAGE_ALERTED_KEY = "outage_alerted"
OUTAGE_REASON_KEY = "outage_reason"

KIND_CHANGE = "change"
KIND_OUTAGE = "outage"
KIND_RECOVERY = "recovery"

MAX_BACKOFF_SECONDS = 15 * 60.0
RETRY_AFTER_CAP_SECONDS = 60.0
MAX_RATE_LIMIT_WAITS = 5  # per post and cycle; then the row waits for the next cycle
MAX_ATTEMPTS = 5  # 5xx / network failures of one row before it is given up (logged)
UNPOSTABLE_TTL_SECONDS = 30 * 60.0  # how long a channel the bot cannot post to is skipped without trying
RETENTION = timedelta(days=7)  # delivered / skipped outbox rows are pruned after this
PRUNE_EVERY = timedelta(hours=1)
DELIVERY_BATCH = 5000  # pending rows read per cycle (the rest next cycle)

#: Slack errors meaning "this channel (or this token, for this channel) cannot be posted to": retrying is useless.
CHANNEL_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "channel_is_archived",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "team_access_not_granted",
        "ekm_access_denied",
        "access_denied",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "org_login_required",
    }
)
#: Slack errors worth another try later (the server's problem, not the message's).
TRANSIENT_ERRORS = frozenset({"fatal_error", "internal_error", "service_unavailable", "request_timeout"})


class PostOutcome(Enum):
    SENT = "sent"
    CHANNEL_GONE = "channel_gone"  # the channel (or the token for it) refuses: skip it for a while
    REFUSED = "refused"  # this message is refused (bad blocks, thread deleted…): skip the row
    TRANSIENT = "transient"  # Slack 5xx, network, too many 429s: keep pending, stop delivering this cycle


@dataclass
class CycleReport:
    """What one cycle did (returned by ``run_cycle``; also logged at DEBUG and counted in metrics)."""

    ok: bool = True  # the Control API answered
    baseline: bool = False  # this poll recorded the baseline silently
    operations: int = 0  # operations listed
    complete: bool = False  # the list was complete (so what it lacks is missing): every page, every record named
    recorded: int = 0  # operation states written
    changes: int = 0  # changes worth a notification
    queued: int = 0  # outbox rows recorded (before de-duplication)
    posts: int = 0  # Slack posts accepted (a digest is one)
    digests: int = 0
    sent: int = 0  # outbox rows marked sent (a digest marks all its rows)
    skipped: int = 0  # outbox rows skipped (unpostable channel, refused, given up)
    deferred: int = 0  # rows left pending for the next cycle after a transient Slack failure
    rate_limited: int = 0  # 429s honoured
    missing: int = 0  # recorded operations newly missing from the list (missing_since set)
    listed_again: int = 0  # operations listed again after missing (missing_since cleared)
    forgotten: int = 0  # operations missing longer than NOTIFIER_FORGET_AFTER_DAYS, their rows deleted
    error: str | None = None  # why the Control API could not be listed
    seconds: float = 0.0
    cpu_seconds: float = 0.0


@dataclass
class _Destination:
    channel: str
    thread_ts: str | None
    mention: bool


class Notifier:
    """Polls, diffs, routes, records and delivers; see the module docstring.

    ``poll_interval`` and ``digest_threshold`` default to the settings (``POLL_INTERVAL_SECONDS``,
    ``DIGEST_THRESHOLD``); tests pass a short interval. ``sleep`` is how the notifier waits for ``Retry-After``
    (tests may record it); ``wait``, if given, how the loop waits between polls and probes (tests move a clock).
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        control: ControlApiClient,
        web_client: AsyncWebClient,
        *,
        clock: Clock = utcnow,
        metrics: Metrics | None = None,
        poll_interval: float | None = None,
        digest_threshold: int | None = None,
        max_backoff: float = MAX_BACKOFF_SECONDS,
        retry_after_cap: float = RETRY_AFTER_CAP_SECONDS,
        max_attempts: int = MAX_ATTEMPTS,
        unpostable_ttl: float = UNPOSTABLE_TTL_SECONDS,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        wait: Callable[[float], Awaitable[Any]] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.control = control
        self.web_client = web_client
        self.clock = clock
        self.metrics = metrics
        self.poll_interval = float(poll_interval if poll_interval is not None else settings.poll_interval_seconds)
        self.digest_threshold = int(digest_threshold if digest_threshold is not None else settings.digest_threshold)
        self.forget_after = timedelta(days=settings.notifier_forget_after_days)
        self.max_backoff = max_backoff
        self.retry_after_cap = retry_after_cap
        self.max_attempts = max_attempts
        self.unpostable_ttl = unpostable_ttl
        self._sleep = sleep
        self._wait_hook = wait
        self._lease: NotifierLease | None = None
        self._cycle_lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unpostable: dict[str, tuple[float, str]] = {}  # channel → (until, error)
        self._reported_channels: set[tuple[str, str]] = set()  # (channel, error) already logged
        self._failures = 0
        self._last_prune: datetime | None = None
        self.last_cycle: CycleReport | None = None
        self.last_cycle_at: datetime | None = None
        self.cycles = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def is_leader(self) -> bool:
        """Does this process hold the notifier lease (and so poll)?"""
        return self._lease is not None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> asyncio.Task[None]:
        """Run ``run_forever`` in the background (idempotent)."""
        if self._task is None or self._task.done():
            self._stopping.clear()
            self._task = asyncio.ensure_future(self.run_forever())
        return self._task

    async def stop(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - a bound on a graceful stop
        """Stop after the current step (cancel it if it takes longer than ``timeout``), release the lease."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None and not task.done():
            done, _ = await asyncio.wait({task}, timeout=timeout)
            if not done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self._drop_lease()

    def health(self) -> dict[str, Any]:
        """For ``/healthz``: cheap, from memory."""
        report = self.last_cycle
        return {
            "running": self.running,
            "leader": self.is_leader,
            "last_cycle_at": self.last_cycle_at.isoformat() if self.last_cycle_at else None,
            "control_api_ok": None if report is None else report.ok,
        }

    def next_delay(self, failures: int) -> float:
        """Seconds to the next poll after ``failures`` consecutive failed polls: the interval, or backoff (capped;
        probes may end it sooner, see ``_until_next_poll``)."""
        if failures <= 0:
            return self.poll_interval
        return min(self.poll_interval * 2 ** min(failures, 30), max(self.max_backoff, self.poll_interval))

    async def run_forever(self) -> None:
        """Leader election + the polling loop; one failing cycle never stops the next. Returns on ``stop()``."""
        try:
            while not self._stopping.is_set():
                if not await self._hold_lease():
                    await self._wait(self.poll_interval)
                    continue
                try:
                    report = await self.run_cycle()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.error("notifier cycle failed", exc_info=exc)
                    self._count("cycles", "error")
                    delay = self.poll_interval
                else:
                    self._failures = 0 if report.ok else self._failures + 1
                    delay = self.next_delay(self._failures)
                await self._until_next_poll(delay)
        finally:
            await self._drop_lease()

    async def _until_next_poll(self, delay: float) -> None:
        """Wait ``delay``. A longer wait than the poll interval is a back-off after failed polls: the Control API
        is then probed every interval (one request, one attempt, one small page) and the wait ends as soon as it
        answers, so the next poll (and the "answering again" message) comes within one interval of the recovery,
        while the full list is not read again during the outage."""
        left = delay
        while left - self.poll_interval > 1e-6 and not self._stopping.is_set():  # (float steps: 0.8 - 3 × 0.2 > 0.2)
            await self._wait(self.poll_interval)
            left -= self.poll_interval
            if self._stopping.is_set() or await self.control.health() == "ok":
                return
        await self._wait(max(0.0, left))

    async def _wait(self, seconds: float) -> None:
        if self._wait_hook is not None:
            await self._wait_hook(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _hold_lease(self) -> bool:
        if self._lease is not None:
            if await self._lease.alive():
                return True
            log.warning("lost the notifier lock (its database connection is gone); polling stops here")
            await self._drop_lease()
        try:
            lease = await self.store.notifier_lease()
        except Exception as exc:  # database down: try again next interval
            log.warning("cannot take the notifier lock: %s", type(exc).__name__)
            return False
        if lease is None:
            return False
        self._lease = lease
        if self.metrics is not None:
            self.metrics.notifier_leader.set(1)
        log.info("this process is now the notifier (it polls the Control API)")
        return True

    async def _drop_lease(self) -> None:
        lease, self._lease = self._lease, None
        if lease is not None:
            await lease.release()
            if self.metrics is not None:
                self.metrics.notifier_leader.set(0)

    # ------------------------------------------------------------------ one cycle

    async def run_cycle(self) -> CycleReport:
        """Poll, diff, record, deliver (see the module docstring). Does not check leadership: ``run_forever``
        does; tests and tools may call this directly. One cycle at a time per notifier."""
        async with self._cycle_lock:
            started, cpu_started = time.perf_counter(), time.process_time()
            report = CycleReport()
            now = self.clock()
            try:
                operations = await self.control.list_operations()
            except ControlApiError as exc:
                report.ok = False
                report.error = _reason(exc)
                await self._record_outage(report.error, now)
            else:
                await faultpoints.reached(faultpoints.NOTIFY_AFTER_POLL)
                report.operations = len(operations)
                # Not an ``OperationList``: nothing vouches that the list is complete, so nothing is missing.
                report.complete = isinstance(operations, OperationList) and operations.complete
                known = await self._record_changes(operations, now, report)
                if report.complete:
                    await self._note_missing(operations, known, now, report)
            await faultpoints.reached(faultpoints.NOTIFY_BEFORE_DELIVERY)
            await self.deliver(report)
            await self._prune(now)
            report.seconds = time.perf_counter() - started
            report.cpu_seconds = time.process_time() - cpu_started
            self.cycles += 1
            self.last_cycle, self.last_cycle_at = report, now
            self._observe(report)
            log.debug("notifier cycle: %s", report)
            return report

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
            notes.extend(await self.route(diff.changes))
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

    async def route(self, changes: Sequence[OperationChange]) -> list[NewNotification]:
        """The outbox rows for ``changes`` (one poll's): one per (change, destination), destinations de-duplicated.

        Failures of the operations of one request (one message thread) page on-call once per destination and
        poll, as a single failure does: the first one's message mentions the group, the others' do not."""
        ids = [change.operation_id for change in changes]
        threads = await self.store.bot_threads(ids)
        watches = await self.store.watch_channels(ids)
        notes: list[NewNotification] = []
        paged: set[tuple[str, str | None, str]] = set()  # (channel, thread_ts, the message thread failing)
        for change in changes:
            thread = threads.get(change.operation_id)
            destinations = self._destinations(change, thread, watches.get(change.operation_id, []))
            source = f"{thread.thread_channel_id}/{thread.thread_ts}" if thread and thread.thread_ts else None
            payload = change.to_payload()
            for destination in destinations:
                where = (destination.channel, destination.thread_ts, source or change.operation_id)
                mention = destination.mention and where not in paged
                if mention:
                    paged.add(where)
                notes.append(
                    NewNotification(
                        dedupe_key=change.dedupe_key(destination.channel, destination.thread_ts),
                        operation_id=change.operation_id,
                        channel_id=destination.channel,
                        thread_ts=destination.thread_ts,
                        kind=KIND_CHANGE,
                        payload={**payload, "mention": mention},
                    )
                )
        return notes

    def _destinations(
        self, change: OperationChange, thread: BotThread | None, watches: list[str]
    ) -> list[_Destination]:
        """Where one change goes, each (channel, thread) once; channel messages about failures mention on-call."""
        failed = change.failure is not None
        found: dict[tuple[str, str | None], _Destination] = {}

        def add(channel: str | None, thread_ts: str | None, mention: bool) -> None:
            if channel and (channel, thread_ts) not in found:
                found[(channel, thread_ts)] = _Destination(channel, thread_ts, mention)

        if thread is not None:
            if thread.thread_channel_id and thread.thread_ts:
                add(thread.thread_channel_id, thread.thread_ts, False)  # the on-call ping goes in the channel
                if failed:
                    add(thread.thread_channel_id, None, True)
            if thread.notify_channel_id != thread.thread_channel_id:  # the form's "Post status updates in"
                add(thread.notify_channel_id, None, failed)
        for channel in watches:
            add(channel, None, failed)
        scope = self.settings.notify_scope
        if self.settings.notify_channel and (
            scope is NotifyScope.ALL
            or (scope is NotifyScope.BOT_CREATED and thread is not None)
            or (scope is NotifyScope.FAILURES and failed)
        ):
            add(self.settings.notify_channel, None, failed)
        return list(found.values())

    # ------------------------------------------------------------------ outages

    async def _record_outage(self, reason: str, now: datetime) -> None:
        meta = await self.store.notifier_meta()
        since = _parse_time(meta.get(OUTAGE_SINCE_KEY))
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
        since = _parse_time(meta.get(OUTAGE_SINCE_KEY)) or now
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

    # ------------------------------------------------------------------ delivery

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
                if not await self._deliver_rows(channel, thread_ts, [row], self._render(row), report):
                    return report
            if len(changes) > self.digest_threshold:
                message = notify_blocks.digest_message(
                    [OperationChange.from_payload(row.payload) for row in changes],
                    oncall_group=self.settings.oncall_group,
                    mention_oncall=any(row.payload.get("mention") for row in changes),
                )
                if not await self._deliver_rows(channel, thread_ts, changes, message, report, digest=True):
                    return report
                continue
            for row in changes:
                if self._gone(channel) is not None:
                    await self._finish([row], NotificationState.SKIPPED, report, error=self._gone(channel))
                    continue
                if not await self._deliver_rows(channel, thread_ts, [row], self._render(row), report):
                    return report
        return report

    def _render(self, row: NotificationRecord) -> dict[str, Any]:
        payload = row.payload
        if row.kind == KIND_OUTAGE:
            since = _parse_time(payload.get("since")) or self.clock()
            return notify_blocks.outage_message(since, str(payload.get("reason") or "no answer"))
        if row.kind == KIND_RECOVERY:
            until = _parse_time(payload.get("until")) or self.clock()
            return notify_blocks.recovery_message(_parse_time(payload.get("since")) or until, until)
        return notify_blocks.change_message(
            OperationChange.from_payload(payload),
            oncall_group=self.settings.oncall_group,
            mention_oncall=bool(payload.get("mention")),
        )

    async def _deliver_rows(
        self,
        channel: str,
        thread_ts: str | None,
        rows: list[NotificationRecord],
        message: dict[str, Any],
        report: CycleReport,
        *,
        digest: bool = False,
    ) -> bool:
        """Post one message standing for ``rows`` and record the outcome; ``False``: stop delivering now."""
        outcome, error = await self._post(channel, thread_ts, message, report)
        if outcome is PostOutcome.SENT:
            await faultpoints.reached(faultpoints.NOTIFY_AFTER_POST)
            report.posts += 1
            if digest:
                report.digests += 1
                self._count("notifications", "digest")
            await self._finish(rows, NotificationState.SENT, report)
            return True
        if outcome is PostOutcome.CHANNEL_GONE:
            self._mark_gone(channel, error)
            await self._finish(rows, NotificationState.SKIPPED, report, error=error)
            return True
        if outcome is PostOutcome.REFUSED:
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
            self._count("notifications", "given_up", len(given_up))
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
            self._count("notifications", "sent", len(rows))
        else:
            report.skipped += len(rows)
            self._count("notifications", "skipped", len(rows))

    async def _post(
        self, channel: str, thread_ts: str | None, message: dict[str, Any], report: CycleReport
    ) -> tuple[PostOutcome, str]:
        """``chat.postMessage`` with 429 honoured; the outcome and Slack's error code (never the token)."""
        for _ in range(MAX_RATE_LIMIT_WAITS + 1):
            try:
                await self.web_client.chat_postMessage(
                    channel=channel,
                    thread_ts=thread_ts,
                    text=message["text"],
                    blocks=message.get("blocks"),
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except SlackApiError as exc:
                response = exc.response
                status = int(getattr(response, "status_code", 0) or 0)
                error = str(response.get("error") or f"http_{status}") if response is not None else "unknown"
                if status == 429 or error == "ratelimited":
                    wait = _retry_after(response, default=1.0, cap=self.retry_after_cap)
                    report.rate_limited += 1
                    self._count("notifications", "rate_limited")
                    log.info("Slack rate limit on chat.postMessage; waiting %.0f s (Retry-After)", wait)
                    await self._sleep(wait)
                    continue
                if status >= 500 or error in TRANSIENT_ERRORS:
                    return PostOutcome.TRANSIENT, error
                if error in CHANNEL_ERRORS:
                    return PostOutcome.CHANNEL_GONE, error
                return PostOutcome.REFUSED, error
            except (TimeoutError, OSError) as exc:
                return PostOutcome.TRANSIENT, type(exc).__name__
            except Exception as exc:  # aiohttp's ClientError and the like: the network, not the message
                if type(exc).__module__.startswith("aiohttp"):
                    return PostOutcome.TRANSIENT, type(exc).__name__
                raise
            return PostOutcome.SENT, ""
        return PostOutcome.TRANSIENT, "ratelimited"

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

    # ------------------------------------------------------------------ housekeeping

    async def _prune(self, now: datetime) -> None:
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

    def _count(self, what: str, outcome: str, amount: int = 1) -> None:
        if self.metrics is None:
            return
        if what == "cycles":
            self.metrics.notifier_cycles.labels(outcome).inc(amount)
        else:
            self.metrics.notifier_notifications.labels(outcome).inc(amount)

    def _observe(self, report: CycleReport) -> None:
        if self.metrics is None:
            return
        self.metrics.notifier_cycles.labels("ok" if report.ok else "control_api_error").inc()
        self.metrics.notifier_cycle_seconds.observe(report.seconds)


def _reason(exc: ControlApiError) -> str:
    """A short, secret-free phrase for logs and the outage alert."""
    if isinstance(exc, Unauthorized):
        return "it rejects the bot's token (HTTP 401/403)"
    reason = getattr(exc, "reason", None)
    return str(reason or exc)[:300]


def _retry_after(response: Any, *, default: float, cap: float) -> float:
    headers = getattr(response, "headers", None) or {}
    value = None
    for key in ("Retry-After", "retry-after"):
        try:
            value = headers.get(key)
        except AttributeError:
            value = None
        if value is not None:
            break
    try:
        seconds = float(value) if value is not None else default
    except (TypeError, ValueError):
        seconds = default
    return max(0.0, min(seconds, cap))


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


__all__ = ["CycleReport", "Notifier", "PostOutcome"]
