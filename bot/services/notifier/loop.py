"""The notifier's loop: leader election, polling at the interval (backing off while the Control API is down,
probing it every interval), one cycle at a time: poll → diff → route → record → deliver."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot import faultpoints
from bot.clock import Clock, utcnow
from bot.control.client import ControlApiClient
from bot.domain.changes import NewNotification, OperationChange
from bot.metrics import Metrics
from bot.services.notifier.outbox import MAX_ATTEMPTS, UNPOSTABLE_TTL_SECONDS, Outbox
from bot.services.notifier.poll import Poller
from bot.services.notifier.report import CycleReport, count
from bot.services.notifier.route import Router
from bot.services.ports import HomeRefresher, NoHome, NotificationSink
from bot.settings import Settings
from bot.store import NotifierLease, Store
from bot.tasks import Foreground

log = logging.getLogger("bot.notifier")

MAX_BACKOFF_SECONDS = 15 * 60.0


class Notifier:
    """Polls, diffs, routes, records and delivers; see the package docstring.

    ``poll_interval`` and ``digest_threshold`` default to the settings (``POLL_INTERVAL_SECONDS``,
    ``DIGEST_THRESHOLD``); tests pass a short interval. ``wait``, if given, is how the loop waits between polls
    and probes (tests move a clock). Rate limits are the sink's to wait out. ``foreground``: the process's Slack
    requests in flight, which a cycle steps aside for (``bot.tasks.Pacer``).
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        control: ControlApiClient,
        sink: NotificationSink,
        *,
        clock: Clock = utcnow,
        metrics: Metrics | None = None,
        poll_interval: float | None = None,
        digest_threshold: int | None = None,
        max_backoff: float = MAX_BACKOFF_SECONDS,
        max_attempts: int = MAX_ATTEMPTS,
        unpostable_ttl: float = UNPOSTABLE_TTL_SECONDS,
        wait: Callable[[float], Awaitable[Any]] | None = None,
        foreground: Foreground | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.poll_interval = float(poll_interval if poll_interval is not None else settings.poll_interval_seconds)
        self.forget_after = timedelta(days=settings.notifier_forget_after_days)
        self.max_backoff = max_backoff
        self.router = Router(settings, store)
        self.poller = Poller(settings, store, control, self.router, metrics=metrics, poll_interval=self.poll_interval,
                             forget_after=self.forget_after, foreground=foreground)  # fmt: skip
        self.outbox = Outbox(
            store, sink, clock=clock, metrics=metrics,
            digest_threshold=int(digest_threshold if digest_threshold is not None else settings.digest_threshold),
            max_attempts=max_attempts, unpostable_ttl=unpostable_ttl, pacer=self.poller.pacer,
        )  # fmt: skip
        self._wait_hook = wait
        self._lease: NotifierLease | None = None
        self._cycle_lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        self.last_cycle: CycleReport | None = None
        self.home: HomeRefresher = NoHome()  # told when a poll recorded new states (the App Homes show them)
        self.last_cycle_at: datetime | None = None
        self.cycles = 0

    @property
    def control(self) -> ControlApiClient:
        """The Control API client the poll uses (and probes during an outage)."""
        return self.poller.control

    @control.setter
    def control(self, client: ControlApiClient) -> None:
        self.poller.control = client

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
                    count(self.metrics, "cycles", "error")
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
            self.poller.known.reset()  # a process that waits holds no prints; the next leadership reloads them
            await lease.release()
            if self.metrics is not None:
                self.metrics.notifier_leader.set(0)

    async def run_cycle(self) -> CycleReport:
        """Poll, diff, record, deliver (see the package docstring). Does not check leadership: ``run_forever``
        does; tests and tools may call this directly. One cycle at a time per notifier."""
        async with self._cycle_lock:
            started, cpu_started = time.perf_counter(), time.process_time()
            report = CycleReport()
            now = self.clock()
            await self.poller.poll(now, report)
            if report.recorded:
                self.home.changed()
            report.poll_cpu_seconds = time.process_time() - cpu_started
            await faultpoints.reached(faultpoints.NOTIFY_BEFORE_DELIVERY)
            await self.deliver(report)
            await self.outbox.prune(now)
            report.seconds = time.perf_counter() - started
            report.cpu_seconds = time.process_time() - cpu_started
            self.cycles += 1
            self.last_cycle, self.last_cycle_at = report, now
            self._observe(report)
            log.debug("notifier cycle: %s", report)
            return report

    async def route(self, changes: Sequence[OperationChange]) -> list[NewNotification]:
        """The outbox rows for ``changes`` (see ``Router.route``)."""
        return await self.router.route(changes)

    async def deliver(self, report: CycleReport | None = None) -> CycleReport:
        """Deliver the pending outbox rows (see ``Outbox.deliver``)."""
        return await self.outbox.deliver(report)

    def _observe(self, report: CycleReport) -> None:
        if self.metrics is None:
            return
        self.metrics.notifier_cycles.labels("ok" if report.ok else "control_api_error").inc()
        self.metrics.notifier_cycle_seconds.observe(report.seconds)
        self.metrics.notifier_cycle_cpu_seconds.observe(report.cpu_seconds)
        self.metrics.notifier_operations.set(report.operations)
        self.metrics.notifier_examined.inc(report.examined)
        self.metrics.notifier_pages.labels("ahead").inc(report.pages_ahead)
        self.metrics.notifier_pages.labels("chain").inc(report.pages - report.pages_ahead)
