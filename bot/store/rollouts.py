"""Rollouts: their rows, the compare-and-set transitions that make every decision once, and their waves.

A wave, once started, is a schedule request with the rollout's id and the wave's number; the pair is unique, so
two replicas starting the same wave at the same moment create it once (the loser gets ``None``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.domain.ids import serial_key
from bot.domain.requests import ItemState, RequestState, ScheduleRecord
from bot.domain.rollout_records import NewRollout, RolloutRecord
from bot.domain.rollouts import ACTIVE_ROLLOUT_STATES, RolloutOptions, RolloutState
from bot.store.database import Database, aware
from bot.store.requests import _load_request, _load_requests
from bot.store.tables import RolloutRow, ScheduleItemRow, ScheduleRequestRow


def _record(row: RolloutRow) -> RolloutRecord:
    times = row.item_times
    return RolloutRecord(
        id=row.id,
        requester_id=row.requester_id,
        team_id=row.team_id,
        origin_channel_id=row.origin_channel_id,
        operation_type=row.operation_type,
        parameters=dict(row.parameters or {}),
        requester_tz=row.requester_tz,
        options=RolloutOptions.model_validate(row.options),
        plan=[list(wave) for wave in row.plan],
        scheduled_time=row.scheduled_time,
        item_times={serial: datetime.fromisoformat(at) for serial, at in times.items()} if times else None,
        when_text=row.when_text,
        approval_required=row.approval_required,
        window_note=row.window_note,
        state=RolloutState(row.state),
        current_wave=row.current_wave,
        wave_started_at=row.wave_started_at,
        soak_until=row.soak_until,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
        approval_channel_id=row.approval_channel_id,
        approval_ts=row.approval_ts,
        stop_reason=row.stop_reason,
        told=list(row.told or []),
        failed_polls=row.failed_polls,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def new_rollout_id() -> str:
    """A rollout's id (its devices' order is derived from it, so it is chosen before the plan)."""
    return uuid4().hex


class RolloutsRepo(Database):
    """Rollouts (one repository of ``bot.store.Store``)."""

    async def create_rollout(self, new: NewRollout, *, at: datetime | None = None) -> RolloutRecord:
        now = aware(at, "at") if at is not None else self._clock()
        row = RolloutRow(
            id=new.id,
            requester_id=new.requester_id,
            team_id=new.team_id,
            origin_channel_id=new.origin_channel_id,
            operation_type=new.operation_type,
            parameters=dict(new.parameters),
            requester_tz=new.requester_tz,
            options=new.options.model_dump(mode="json"),
            plan=[list(wave) for wave in new.plan],
            scheduled_time=new.scheduled_time,
            item_times={s: t.isoformat() for s, t in new.item_times.items()} if new.item_times else None,
            when_text=new.when_text,
            approval_required=new.approval_required,
            window_note=new.window_note,
            state=new.state.value,
            current_wave=0,
            told=[],
            failed_polls=0,
            version=1,
            created_at=now,
            updated_at=now,
        )
        async with self._transaction(write=True) as session:
            session.add(row)
            await session.flush()
            return _record(row)

    async def get_rollout(self, rollout_id: str) -> RolloutRecord | None:
        async with self._transaction(write=False) as session:
            row = await session.get(RolloutRow, rollout_id, populate_existing=True)
            return None if row is None else _record(row)

    async def list_rollouts(
        self, states: Iterable[str] | None = None, *, limit: int = 20, oldest_first: bool = False
    ) -> list[RolloutRecord]:
        """Rollouts, newest first (``oldest_first``: the other way), optionally only in ``states``."""
        statement = select(RolloutRow)
        if states is not None:
            statement = statement.where(RolloutRow.state.in_([RolloutState(s).value for s in states]))
        order = RolloutRow.created_at.asc() if oldest_first else RolloutRow.created_at.desc()
        async with self._transaction(write=False) as session:
            rows = await session.scalars(statement.order_by(order, RolloutRow.id).limit(limit))
            return [_record(row) for row in rows]

    async def transition_rollout(
        self, rollout_id: str, *, from_states: Iterable[str], to_state: str, at: datetime, **values: Any
    ) -> RolloutRecord | None:
        """``from_states → to_state`` (with ``values``) if the rollout is in one of ``from_states``: the one
        compare-and-set every decision goes through. ``None`` when another decision got there first."""
        aware(at, "at")
        wanted = [RolloutState(s).value for s in from_states]
        async with self._transaction(write=True) as session:
            changed = await session.scalar(
                update(RolloutRow)
                .where(RolloutRow.id == rollout_id, RolloutRow.state.in_(wanted))
                .values(state=RolloutState(to_state).value, updated_at=at, version=RolloutRow.version + 1, **values)
                .returning(RolloutRow.id)
                .execution_options(synchronize_session=False)
            )
            if changed is None:
                return None
            row = await session.get(RolloutRow, rollout_id, populate_existing=True)
            assert row is not None
            return _record(row)

    async def set_rollout(self, rollout_id: str, *, at: datetime, **values: Any) -> RolloutRecord | None:
        """Fields that are no decision (its message, the failed-poll count), whatever the state."""
        aware(at, "at")
        async with self._transaction(write=True) as session:
            await session.execute(
                update(RolloutRow)
                .where(RolloutRow.id == rollout_id)
                .values(updated_at=at, **values)
                .execution_options(synchronize_session=False)
            )
            row = await session.get(RolloutRow, rollout_id, populate_existing=True)
            return None if row is None else _record(row)

    async def count_rollouts(self) -> dict[str, int]:
        """How many rollouts are in each state (the metrics' gauge)."""
        async with self._transaction(write=False) as session:
            rows = await session.execute(select(RolloutRow.state, func.count()).group_by(RolloutRow.state))
            return {state: int(count) for state, count in rows}

    async def mark_told(self, rollout_id: str, key: str) -> bool:
        """Record that the thread reply ``key`` is being posted; ``True`` for the one caller that records it (each
        state change is told once, across restarts and replicas). Compare-and-set on the rollout's version."""
        for _ in range(5):
            current = await self.get_rollout(rollout_id)
            if current is None or key in current.told:
                return False
            async with self._transaction(write=True) as session:
                changed = await session.scalar(
                    update(RolloutRow)
                    .where(RolloutRow.id == rollout_id, RolloutRow.version == current.version)
                    .values(told=[*current.told, key], version=current.version + 1)
                    .returning(RolloutRow.id)
                    .execution_options(synchronize_session=False)
                )
            if changed is not None:
                return True
        return False

    async def active_rollout_devices(self) -> dict[str, str]:
        """serial_key → rollout id, for every device of a rollout still active (one device, one campaign)."""
        active = [state.value for state in ACTIVE_ROLLOUT_STATES]
        async with self._transaction(write=False) as session:
            rows = await session.execute(select(RolloutRow.id, RolloutRow.plan).where(RolloutRow.state.in_(active)))
            return {serial_key(s): rollout_id for rollout_id, plan in rows for wave in plan for s in wave}

    # ------------------------------------------------------------------ waves

    async def start_wave(
        self,
        rollout: RolloutRecord,
        wave: int,
        *,
        scheduled_time: datetime,
        item_times: dict[str, datetime] | None,
        at: datetime,
    ) -> ScheduleRecord | None:
        """Wave ``wave`` (1-based) as an approved schedule request, its items waiting; ``None`` when it was started
        already (by this or another replica): each wave is started once."""
        aware(at, "at")
        serials = rollout.plan[wave - 1]
        request_id = uuid4().hex
        row = {
            "id": request_id, "requester_id": rollout.requester_id, "team_id": rollout.team_id,
            "origin_channel_id": rollout.origin_channel_id, "operation_type": rollout.operation_type,
            "scheduled_time": scheduled_time, "parameters": dict(rollout.parameters), "notify_channel_id": None,
            "requester_tz": rollout.requester_tz, "approval_required": rollout.approval_required,
            "window_note": None, "state": RequestState.APPROVED.value, "created_at": at, "updated_at": at,
            "decided_by": rollout.decided_by, "decided_at": at, "version": 1, "rollout_id": rollout.id, "wave": wave,
        }  # fmt: skip
        times = item_times or {}
        items = [
            {"request_id": request_id, "position": n, "device_serial": serial, "state": ItemState.WAITING.value,
             "scheduled_time": times.get(serial)}
            for n, serial in enumerate(serials)
        ]  # fmt: skip
        try:
            async with self._transaction(write=True) as session:
                await session.execute(insert(ScheduleRequestRow), [row])
                await session.execute(insert(ScheduleItemRow), items)
                return await _load_request(session, request_id)
        except IntegrityError:
            return None

    async def reschedule_items(self, item_ids: Iterable[int], at: datetime) -> int:
        """Items not created yet get the time ``at`` (a resumed rollout whose time came too close); how many did."""
        aware(at, "at")
        ids = list(item_ids)
        if not ids:
            return 0
        async with self._transaction(write=True) as session:
            result = await session.execute(
                update(ScheduleItemRow)
                .where(ScheduleItemRow.id.in_(ids), ScheduleItemRow.state == ItemState.WAITING.value)
                .values(scheduled_time=at)
                .execution_options(synchronize_session=False)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def wave_requests(self, rollout_id: str) -> list[ScheduleRecord]:
        """The started waves' requests, by wave number."""
        statement = (
            select(ScheduleRequestRow)
            .where(ScheduleRequestRow.rollout_id == rollout_id)
            .order_by(ScheduleRequestRow.wave)
        )
        async with self._transaction(write=False) as session:
            return await _load_requests(session, statement)


__all__ = ["RolloutsRepo", "new_rollout_id"]
