"""Running rollouts: one step per active rollout per pass — start a wave, watch it settle, soak, start the next,
abort when failures climb, finish — each step a compare-and-set in the store, so every replica may run passes and
each change happens once.

Exactly once, how: a wave is a schedule request unique per (rollout, wave), created by whichever replica gets there
first; its operations are created by the request machinery (claim before POST, reconcile lost answers). The
creation asks before each POST whether the rollout still runs, so a pause or an abort decided on any replica stops
it within one POST (``proceed``). An abort also cancels the waves' waiting items in the same transaction that
decides it, so nothing more can be created, ever.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.domain import rollout_reasons as reasons
from bot.domain.rollout_records import RolloutRecord
from bot.domain.rollouts import (
    Gate,
    RolloutState,
    abort_reason,
    wave_passes,
)
from bot.metrics import Metrics
from bot.services.notifier.report import OUTAGE_REASON_KEY, OUTAGE_SINCE_KEY, parse_time
from bot.services.ports import RolloutMessenger
from bot.services.rollouts.events import RolloutEvent
from bot.services.rollouts.progress import RolloutView, rollout_view
from bot.services.scheduling import SchedulingService
from bot.settings import Settings
from bot.store import Store
from bot.when import WindowPolicy, check_window, next_window_start

log = logging.getLogger("bot.rollouts")

RUNNING_STATES = (RolloutState.SCHEDULED, RolloutState.RUNNING, RolloutState.SOAKING)
SHOW_EVERY = 5.0  # seconds between two edits of a rollout's message (Slack's chat.update is rate limited)
BATCH = 50
BLIND_POLLS = 5  # failed notifier polls in a row (its outage this many poll intervals long) pause running rollouts


class RolloutRunner:
    """Part of ``RolloutsService``: the pass over active rollouts."""

    _settings: Settings
    _store: Store
    _scheduling: SchedulingService
    _messenger: RolloutMessenger
    _clock: Clock
    _metrics: Metrics
    _creating: dict[str, asyncio.Task[object]]
    _shown: dict[str, tuple[float, str]]

    async def run_pass(self) -> None:
        """One step of every active rollout (oldest first); one failing rollout never stops the others."""
        await self._expire_undecided()
        await self._pause_when_blind()
        for state, count in (await self._store.count_rollouts()).items():
            self._metrics.rollouts.labels(state).set(count)
        for record in await self._store.list_rollouts(RUNNING_STATES, limit=BATCH, oldest_first=True):
            try:
                await self.step(record)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("rollout %s: step failed; the next pass tries again", record.id)

    async def step(self, record: RolloutRecord) -> RolloutRecord:
        now = self._clock()
        if record.state is RolloutState.SCHEDULED:
            record = await self._start_wave(record, 1, record.scheduled_time, record.item_times, now=now)
        elif record.state is RolloutState.SOAKING and record.soak_until is not None and now >= record.soak_until:
            record = await self._start_wave(
                record, record.current_wave + 1, self._next_time(record, now), None, now=now
            )
        view = await rollout_view(self._store, record, now=now)
        if record.state in (RolloutState.RUNNING, RolloutState.SOAKING):
            reason = abort_reason(record.options, total=record.total, executed=view.executed, failures=view.failures)
            if reason is not None:
                return (await self.abort(record.id, "bot", reason)).record or record
        if record.state is RolloutState.RUNNING:
            self._keep_creating(record, view)
            record = await self._after_wave(record, view, now=now)
            if record.state is not RolloutState.RUNNING:
                view = await rollout_view(self._store, record, now=now)
        await self.show(view)
        return record

    # ------------------------------------------------------------------ waves

    async def _start_wave(
        self, record: RolloutRecord, number: int, at: datetime, times: dict[str, datetime] | None, *, now: datetime
    ) -> RolloutRecord:
        """Wave ``number`` as a request (once), then ``→ running``; a replica that lost either race reads on."""
        if number > len(record.plan):
            return record
        await self._store.start_wave(record, number, scheduled_time=at, item_times=times, at=now)
        moved = await self._store.transition_rollout(
            record.id, from_states=[record.state], to_state=RolloutState.RUNNING, at=now, current_wave=number,
            wave_started_at=now, soak_until=None,
        )  # fmt: skip
        if moved is None:
            return await self._store.get_rollout(record.id) or record
        await self._audit(
            moved, "bot", "wave_started", detail={"wave": number, "devices": len(record.plan[number - 1])}
        )
        await self._tell(moved, RolloutEvent(kind="wave_started", wave=number, at=at))
        return moved

    def _next_time(self, record: RolloutRecord, now: datetime) -> datetime:
        """``now + ROLLOUT_LEAD_SECONDS`` — or more, when creating the wave at the rollout's rate takes longer (its
        last operation must still be created before its time) — or the next maintenance window when the type's
        policy keeps operations inside windows and that time is outside one."""
        size = len(record.plan[record.current_wave]) if record.current_wave < len(record.plan) else 0
        creation = self._scheduling.lead_for(size, rate=record.options.rate_per_minute)
        at = now + max(timedelta(seconds=self._settings.rollout_lead_seconds), creation)
        windows = self._settings.windows
        policy = self._scheduling.rules.window_policy(record.operation_type)
        if windows and policy in (WindowPolicy.BLOCK, WindowPolicy.REQUIRE_APPROVAL):
            if not check_window(at, windows, policy.value, tz=record.requester_tz).inside:
                return next_window_start(at, windows) or at
        return at

    def _keep_creating(self, record: RolloutRecord, view: RolloutView) -> None:
        """The current wave's operations are being created (by this process, paced at the rollout's rate)."""
        current = view.current()
        if current is None or current.request_id is None or current.tally is None or not current.tally.not_created:
            return
        task = self._creating.get(current.request_id)
        if task is not None and not task.done():
            return

        async def proceed() -> bool:
            fresh = await self._store.get_rollout(record.id)
            return fresh is not None and fresh.state is RolloutState.RUNNING

        work = self._scheduling.create_operations(
            current.request_id, rate=record.options.rate_per_minute, proceed=proceed
        )
        self._creating[current.request_id] = asyncio.ensure_future(work)

    async def _after_wave(self, record: RolloutRecord, view: RolloutView, *, now: datetime) -> RolloutRecord:
        """A settled wave: the last → completed; one that passes → soak (auto) or wait for Promote (manual); one that
        does not, with too few executed to abort → paused for an approver to decide."""
        current = view.current()
        if current is None or current.tally is None or not current.tally.settled:
            return record
        tally = current.tally
        number = current.number
        if number >= len(record.plan):
            final = RolloutState.COMPLETED if view.failures == 0 else RolloutState.COMPLETED_WITH_FAILURES
            return await self._move(record, final, RolloutEvent(kind="completed", wave=number, tally=tally), now=now)
        settled = RolloutEvent(kind="wave_settled", wave=number, tally=tally)
        if not wave_passes(record.options, executed=tally.executed, failures=tally.failures):
            reason = reasons.english(
                reasons.WAVE_FAILED, wave=number, failures=f"{tally.failures:,}", executed=f"{tally.executed:,}",
                total_executed=f"{view.executed:,}", min_executed=f"{record.options.min_executed:,}",
            )  # fmt: skip
            return await self._move(record, RolloutState.PAUSED, settled, now=now, stop_reason=reason)
        if record.options.gate is Gate.MANUAL:
            return await self._move(record, RolloutState.WAITING_PROMOTE, settled, now=now)
        return await self._move(record, RolloutState.SOAKING, settled, now=now, soak_until=now + record.options.soak)

    async def _move(
        self, record: RolloutRecord, to: RolloutState, event: RolloutEvent, *, now: datetime, **values: object
    ) -> RolloutRecord:
        moved = await self._store.transition_rollout(
            record.id, from_states=[record.state], to_state=to, at=now, **values
        )
        if moved is None:
            return await self._store.get_rollout(record.id) or record
        if event.tally is not None:
            self._metrics.rollout_devices_created.inc(event.tally.created)
        await self._audit(moved, "bot", to.value, detail={"wave": event.wave})
        await self._tell(moved, event)
        return moved

    async def _pause_when_blind(self) -> None:
        """The Control API has not answered the notifier for ``BLIND_POLLS`` poll intervals: the waves' outcomes are
        unknown, so every running rollout pauses as inconclusive (an approver resumes it)."""
        meta = await self._store.notifier_meta()
        since = parse_time(meta.get(OUTAGE_SINCE_KEY))
        now = self._clock()
        if since is None or now - since < timedelta(seconds=BLIND_POLLS * self._settings.poll_interval_seconds):
            return
        reason = reasons.english(
            reasons.BLIND, polls=BLIND_POLLS, since=f"{since:%Y-%m-%d %H:%M}",
            why=meta.get(OUTAGE_REASON_KEY) or reasons.no_answer(),
        )  # fmt: skip
        running = [RolloutState.RUNNING, RolloutState.SOAKING, RolloutState.SCHEDULED]
        for record in await self._store.list_rollouts(running, limit=BATCH, oldest_first=True):
            await self._move(
                record, RolloutState.PAUSED, RolloutEvent(kind="paused", reason=reason, occurrence=record.version),
                now=now, stop_reason=reason,
            )  # fmt: skip

    async def _expire_undecided(self) -> None:
        """Undecided rollouts whose first wave can no longer be created in time: ``→ expired``."""
        now = self._clock()
        undecided = [RolloutState.DRAFT, RolloutState.PENDING_APPROVAL]
        for record in await self._store.list_rollouts(undecided, limit=BATCH, oldest_first=True):
            if record.scheduled_time - now >= self._scheduling.min_lead:
                continue
            moved = await self._store.transition_rollout(
                record.id, from_states=[record.state], to_state=RolloutState.EXPIRED, at=now
            )
            if moved is not None and record.state is RolloutState.PENDING_APPROVAL:
                await self._tell(moved, RolloutEvent(kind="expired"))
                await self.show(await rollout_view(self._store, moved, now=now), force=True)

    # ------------------------------------------------------------------ telling

    async def show(self, view: RolloutView, *, force: bool = False) -> None:
        """Edit the rollout's message when what it shows changed, at most every ``SHOW_EVERY`` seconds."""
        record = view.record
        if not (record.approval_channel_id and record.approval_ts):
            return
        loop = asyncio.get_running_loop()
        signature = repr((record.state, record.current_wave, [w.tally for w in view.waves], record.stop_reason))
        last = self._shown.get(record.id)
        if last is not None and last[1] == signature:
            return
        if not force and last is not None and loop.time() - last[0] < SHOW_EVERY and record.state in RUNNING_STATES:
            return
        if await self._messenger.show_rollout(view):
            self._shown[record.id] = (loop.time(), signature)

    async def _tell(self, record: RolloutRecord, event: RolloutEvent) -> None:
        """One reply in the rollout's thread per state change, told once across restarts and replicas."""
        if not (record.approval_channel_id and record.approval_ts):
            return
        if not await self._store.mark_told(record.id, event.key):
            return
        view = await rollout_view(self._store, record, now=self._clock())
        await self._messenger.tell_rollout_event(view, event)

    async def _audit(self, record: RolloutRecord, actor: str, action: str, *, detail: dict[str, object]) -> None:
        await self._store.audit(
            actor, f"rollout_{action}", f"rollout:{record.id}", outcome=record.state.value, detail=dict(detail),
            at=self._clock(),
        )  # fmt: skip
        self._scheduling.home.changed()  # every rollout change is audited; the App Homes show rollouts

    async def abort(
        self, rollout_id: str, user_id: str, reason: str | None = None, *, is_approver: bool = True
    ) -> Any:  # the service's (``RolloutsService.abort``)
        raise NotImplementedError

    async def stop(self) -> None:
        """Cancel the creations this process runs (a restart resumes them: their intent is in the store)."""
        tasks = [task for task in self._creating.values() if not task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


__all__ = ["RolloutRunner"]
