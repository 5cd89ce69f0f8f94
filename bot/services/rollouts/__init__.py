"""Staged rollouts: one approved campaign across the fleet, in waves, stopping when failures climb.

``RolloutsService`` is the whole use case: check and plan (``starting``), the decisions people make (here: confirm,
cancel, approve, reject, promote, pause, resume, abort), and the pass that moves rollouts on (``runner``). Every
decision is a compare-and-set in the store: the first click wins, every later one, retry or replica reads
"already decided". The Control API has no cancel: an abort stops creation; what was created goes on, and is listed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock, utcnow
from bot.domain import rollout_reasons as reasons
from bot.domain.ids import serial_key
from bot.domain.requests import ItemState, Refusal, RequestState
from bot.domain.rollout_records import NewRollout, RolloutRecord
from bot.domain.rollouts import ACTIVE_ROLLOUT_STATES, RolloutState, plan_waves
from bot.metrics import Metrics
from bot.services.ports import RolloutMessenger
from bot.services.rollouts.events import RolloutEvent
from bot.services.rollouts.progress import RolloutView, WaveView, rollout_view
from bot.services.rollouts.runner import RolloutRunner
from bot.services.rollouts.starting import RolloutDraft, RolloutForm, RolloutStart, split_rollout_quick
from bot.services.scheduling import SchedulingService
from bot.settings import Settings
from bot.store import Store, new_rollout_id

log = logging.getLogger("bot.rollouts")

#: What an approver may do in each state (the buttons the message shows).
PAUSABLE = (RolloutState.SCHEDULED, RolloutState.RUNNING, RolloutState.SOAKING, RolloutState.WAITING_PROMOTE)
ABORTABLE = (*PAUSABLE, RolloutState.PAUSED)
CLONE_START = timedelta(minutes=30)  # a clone's first wave: time for its own approval


@dataclass(frozen=True)
class RolloutDecision:
    """The outcome of a click: who won, and why a click lost (``record``: where the rollout stands now)."""

    won: bool
    record: RolloutRecord | None
    action: str
    refusal: Refusal | None = None


class RolloutsService(RolloutStart, RolloutRunner):
    def __init__(
        self,
        settings: Settings,
        store: Store,
        scheduling: SchedulingService,
        messenger: RolloutMessenger,
        *,
        clock: Clock = utcnow,
        metrics: Metrics | None = None,
    ) -> None:
        self._settings = settings
        self._metrics = metrics or Metrics()
        self._store = store
        self._scheduling = scheduling
        self._messenger = messenger
        self._clock = clock
        self._creating: dict[str, asyncio.Task[object]] = {}
        self._shown: dict[str, tuple[float, str]] = {}

    async def view(self, record: RolloutRecord) -> RolloutView:
        return await rollout_view(self._store, record, now=self._clock())

    def lead(self, record: RolloutRecord) -> timedelta:
        """How far ahead of its first wave a rollout must be decided (its first wave created in time)."""
        return self._scheduling.lead_for(len(record.plan[0]), rate=record.options.rate_per_minute)

    # ------------------------------------------------------------------ the requester's

    async def confirm(self, rollout_id: str, user_id: str) -> RolloutDecision:
        """``draft → pending_approval`` (posted for approval), or ``→ scheduled`` when the type needs none."""
        record = await self._store.get_rollout(rollout_id)
        if record is None:
            return RolloutDecision(False, None, "confirm", Refusal.NO_SUCH_REQUEST)
        if record.requester_id != user_id:
            return RolloutDecision(False, record, "confirm", Refusal.NOT_REQUESTER)
        now = self._clock()
        if record.scheduled_time - now < self.lead(record):
            moved = await self._store.transition_rollout(
                rollout_id, from_states=[RolloutState.DRAFT], to_state=RolloutState.EXPIRED, at=now
            )
            return RolloutDecision(False, moved or record, "confirm", Refusal.TOO_LATE)
        target = RolloutState.PENDING_APPROVAL if record.approval_required else RolloutState.SCHEDULED
        decided = {} if record.approval_required else {"decided_by": user_id, "decided_at": now}
        moved = await self._store.transition_rollout(
            rollout_id, from_states=[RolloutState.DRAFT], to_state=target, at=now, **decided
        )
        if moved is None:
            return RolloutDecision(False, await self._store.get_rollout(rollout_id), "confirm", Refusal.ALREADY_DECIDED)
        await self._audit(moved, user_id, "confirm", detail={"devices": moved.total})
        channel = self._settings.approval_channel if moved.approval_required else moved.origin_channel_id
        if channel:
            moved = await self._post(moved, channel)
        if target is RolloutState.SCHEDULED:
            moved = await self.step(moved)  # wave 1 at once
        return RolloutDecision(True, moved, "confirm")

    async def _post(self, record: RolloutRecord, channel: str) -> RolloutRecord:
        """The rollout's one message (approval request, then its progress), remembered for the edits and thread."""
        ts = await self._messenger.post_rollout(await self.view(record), channel)
        if ts is None:
            return record
        return (
            await self._store.set_rollout(record.id, at=self._clock(), approval_channel_id=channel, approval_ts=ts)
            or record
        )

    async def cancel(self, rollout_id: str, user_id: str) -> RolloutDecision:
        record = await self._store.get_rollout(rollout_id)
        if record is None:
            return RolloutDecision(False, None, "cancel", Refusal.NO_SUCH_REQUEST)
        if record.requester_id != user_id:
            return RolloutDecision(False, record, "cancel", Refusal.NOT_REQUESTER)
        undecided = [RolloutState.DRAFT, RolloutState.PENDING_APPROVAL]
        moved = await self._store.transition_rollout(
            rollout_id, from_states=undecided, to_state=RolloutState.CANCELLED, at=self._clock(), decided_by=user_id
        )
        if moved is None:
            return RolloutDecision(False, await self._store.get_rollout(rollout_id), "cancel", Refusal.ALREADY_DECIDED)
        await self._audit(moved, user_id, "cancel", detail={})
        await self.show(await self.view(moved), force=True)
        return RolloutDecision(True, moved, "cancel")

    # ------------------------------------------------------------------ approvers'

    def may(self, record: RolloutRecord, user_id: str, *, is_approver: bool, decision: bool) -> Refusal | None:
        """``None`` if ``user_id`` may act on ``record`` (``decision``: approve or reject, the four-eyes rule too);
        otherwise why not. The App Home lists what a person may decide by this rule."""
        return self._may(record, user_id, is_approver=is_approver, decision=decision)

    def _may(self, record: RolloutRecord, user_id: str, *, is_approver: bool, decision: bool) -> Refusal | None:
        if decision and record.requester_id == user_id and not self._settings.allow_self_approval:
            return Refusal.SELF_APPROVAL
        return None if is_approver else Refusal.NOT_APPROVER

    async def decide(self, rollout_id: str, user_id: str, *, approve: bool, is_approver: bool) -> RolloutDecision:
        """Approve (→ scheduled; wave 1 is created at once) or reject; the same four-eyes rules as a request."""
        action = "approve" if approve else "reject"
        record = await self._store.get_rollout(rollout_id)
        if record is None:
            return RolloutDecision(False, None, action, Refusal.NO_SUCH_REQUEST)
        if (refusal := self._may(record, user_id, is_approver=is_approver, decision=True)) is not None:
            await self._audit(record, user_id, f"{action}_refused", detail={"why": refusal.value})
            return RolloutDecision(False, record, action, refusal)
        now = self._clock()
        if approve and record.scheduled_time - now < self.lead(record):
            moved = await self._store.transition_rollout(
                rollout_id, from_states=[RolloutState.PENDING_APPROVAL], to_state=RolloutState.EXPIRED, at=now,
                decided_by=user_id, decided_at=now,
            )  # fmt: skip
            if moved is not None:
                await self.show(await self.view(moved), force=True)
            return RolloutDecision(False, moved or record, action, Refusal.TOO_LATE)
        target = RolloutState.SCHEDULED if approve else RolloutState.REJECTED
        moved = await self._store.transition_rollout(
            rollout_id, from_states=[RolloutState.PENDING_APPROVAL], to_state=target, at=now, decided_by=user_id,
            decided_at=now,
        )  # fmt: skip
        if moved is None:
            return RolloutDecision(False, await self._store.get_rollout(rollout_id), action, Refusal.ALREADY_DECIDED)
        await self._audit(moved, user_id, action, detail={})
        await self._tell(moved, RolloutEvent(kind="approved" if approve else "rejected", by=user_id))
        moved = await self.step(moved) if approve else moved
        await self.show(await self.view(moved), force=True)
        return RolloutDecision(True, moved, action)

    async def promote(self, rollout_id: str, user_id: str, *, is_approver: bool) -> RolloutDecision:
        """``waiting_promote`` → the next wave now (a soak that already ended)."""
        return await self._approver_move(
            rollout_id, user_id, "promote", is_approver=is_approver, from_states=[RolloutState.WAITING_PROMOTE],
            to=RolloutState.SOAKING, soak_until=self._clock(),
        )  # fmt: skip

    async def pause(self, rollout_id: str, user_id: str, *, is_approver: bool) -> RolloutDecision:
        """Creation stops at once (before the next POST, on every replica); what was created goes on."""
        return await self._approver_move(
            rollout_id, user_id, "pause", is_approver=is_approver, from_states=list(PAUSABLE),
            to=RolloutState.PAUSED, stop_reason=reasons.english(reasons.PAUSED_BY, user=f"<@{user_id}>"),
        )  # fmt: skip

    async def resume(self, rollout_id: str, user_id: str, *, is_approver: bool) -> RolloutDecision:
        """``paused → running``: what is not created yet of the current wave gets a new time (now + lead)."""
        decision = await self._approver_move(
            rollout_id, user_id, "resume", is_approver=is_approver, from_states=[RolloutState.PAUSED],
            to=RolloutState.RUNNING, stop_reason=None,
        )  # fmt: skip
        record = decision.record
        if decision.won and record is not None:
            if record.current_wave == 0:
                record = (
                    await self._store.transition_rollout(
                        record.id, from_states=[RolloutState.RUNNING], to_state=RolloutState.SCHEDULED, at=self._clock()
                    )
                    or record
                )
            else:
                await self._reschedule_current(record)
            record = await self.step(record)
            return RolloutDecision(True, record, "resume")
        return decision

    async def _reschedule_current(self, record: RolloutRecord) -> None:
        """What is not created yet of the current wave and whose time is now too close (the pause outlasted it)
        gets ``now + ROLLOUT_LEAD_SECONDS``; a time still far enough is kept."""
        at = self._clock() + timedelta(seconds=self._settings.rollout_lead_seconds)
        for request in await self._store.wave_requests(record.id):
            if request.wave == record.current_wave:
                late = [i.id for i in request.items if i.state is ItemState.WAITING and i.scheduled_time < at]
                await self._store.reschedule_items(late, at)

    async def abort(
        self, rollout_id: str, user_id: str, reason: str | None = None, *, is_approver: bool = True
    ) -> RolloutDecision:
        """Stop for good: no operation is created after this, by any replica (the waves' waiting items are
        cancelled); on-call hears once; the message lists what was created and is unfinished."""
        why = reason or reasons.english(reasons.ABORTED_BY, user=f"<@{user_id}>")
        decision = await self._approver_move(
            rollout_id, user_id, "abort", is_approver=is_approver, from_states=list(ABORTABLE),
            to=RolloutState.ABORTED, stop_reason=why, tell=False,
        )  # fmt: skip
        record = decision.record
        if decision.won and record is not None:
            now = self._clock()
            kind = "manual" if reason is None else "max_failures" if "max_failures" in reason else "threshold"
            self._metrics.rollout_aborts.labels(kind).inc()
            for request in await self._store.wave_requests(record.id):
                if request.state is RequestState.APPROVED:
                    await self._store.transition(
                        request.id, from_states=[RequestState.APPROVED], to_state=RequestState.CANCELLED,
                        by=user_id, at=now,
                    )  # fmt: skip
            await self._tell(record, RolloutEvent(kind="aborted", wave=record.current_wave, by=user_id, reason=why))
            await self.show(await self.view(record), force=True)
        return decision

    async def _approver_move(
        self,
        rollout_id: str,
        user_id: str,
        action: str,
        *,
        is_approver: bool,
        from_states: list[RolloutState],
        to: RolloutState,
        tell: bool = True,
        **values: object,
    ) -> RolloutDecision:
        record = await self._store.get_rollout(rollout_id)
        if record is None:
            return RolloutDecision(False, None, action, Refusal.NO_SUCH_REQUEST)
        if user_id != "bot" and (refusal := self._may(record, user_id, is_approver=is_approver, decision=False)):
            await self._audit(record, user_id, f"{action}_refused", detail={"why": refusal.value})
            return RolloutDecision(False, record, action, refusal)
        moved = await self._store.transition_rollout(
            rollout_id, from_states=from_states, to_state=to, at=self._clock(), **values
        )
        if moved is None:
            return RolloutDecision(False, await self._store.get_rollout(rollout_id), action, Refusal.ALREADY_DECIDED)
        await self._audit(moved, user_id, action, detail={"wave": moved.current_wave})
        if tell:
            kind = {"promote": "promoted", "pause": "paused", "resume": "resumed"}[action]
            event = RolloutEvent(kind=kind, wave=moved.current_wave, by=user_id, occurrence=moved.version)  # type: ignore[arg-type]
            await self._tell(moved, event)
            await self.show(await self.view(moved), force=True)
        return RolloutDecision(True, moved, action)

    async def clone_remaining(self, rollout_id: str, user_id: str, *, is_approver: bool) -> RolloutDecision:
        """An aborted rollout's devices that never received the operation, as a new rollout request (same type,
        parameters and options; wave 1 ``CLONE_START`` from now), needing its own approval, by another person."""
        record = await self._store.get_rollout(rollout_id)
        if record is None:
            return RolloutDecision(False, None, "clone", Refusal.NO_SUCH_REQUEST)
        if not is_approver and user_id != record.requester_id:
            return RolloutDecision(False, record, "clone", Refusal.NOT_APPROVER)
        if record.state is not RolloutState.ABORTED or self._settings.approval_channel is None:
            return RolloutDecision(False, record, "clone", Refusal.ALREADY_DECIDED)
        busy = await self._store.active_rollout_devices()
        remaining = [s for s in (await self.view(record)).never_created if serial_key(s) not in busy]
        if not remaining:
            return RolloutDecision(False, record, "clone", Refusal.ALREADY_DECIDED)
        new_id = new_rollout_id()
        plan = plan_waves(new_id, remaining, record.options.waves)
        now = self._clock()
        created = await self._store.create_rollout(
            NewRollout(
                id=new_id, requester_id=user_id, team_id=record.team_id, origin_channel_id=record.origin_channel_id,
                operation_type=record.operation_type, parameters=record.parameters, requester_tz=record.requester_tz,
                options=record.options, plan=plan, scheduled_time=now + CLONE_START,
                when_text=f"the devices rollout {record.id} never reached", approval_required=True,
                state=RolloutState.PENDING_APPROVAL,
            ),
            at=now,
        )  # fmt: skip
        await self._audit(created, user_id, "clone", detail={"from": record.id, "devices": len(remaining)})
        created = await self._post(created, self._settings.approval_channel)
        return RolloutDecision(True, created, "clone")

    async def list_recent(self, limit: int = 20) -> list[RolloutRecord]:
        return await self._store.list_rollouts(limit=limit)

    async def get(self, rollout_id: str) -> RolloutRecord | None:
        return await self._store.get_rollout(rollout_id)


__all__ = [
    "ABORTABLE",
    "ACTIVE_ROLLOUT_STATES",
    "PAUSABLE",
    "RolloutDecision",
    "RolloutDraft",
    "RolloutEvent",
    "RolloutForm",
    "RolloutView",
    "RolloutsService",
    "WaveView",
    "split_rollout_quick",
]
