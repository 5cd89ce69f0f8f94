"""Rollouts in the store (migration 0006), on SQLite and PostgreSQL: each decision once (compare-and-set), each
wave started once, each thread reply told once, and the devices of active rollouts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.domain.requests import ItemState, RequestState
from bot.domain.rollout_records import NewRollout
from bot.domain.rollouts import RolloutOptions, RolloutState, plan_waves
from bot.store import Store, new_rollout_id
from tests.support.records import T0

SERIALS = [f"GW{n:03d}" for n in range(10)]


def new_rollout(**overrides: object) -> NewRollout:
    rollout_id = str(overrides.pop("id", new_rollout_id()))
    fields: dict[str, object] = {
        "id": rollout_id, "requester_id": "U1", "team_id": "T1", "operation_type": "reboot",
        "options": RolloutOptions(waves=(20, 100)), "plan": plan_waves(rollout_id, SERIALS, (20, 100)),
        "scheduled_time": T0 + timedelta(hours=1), "state": RolloutState.PENDING_APPROVAL,
    }  # fmt: skip
    fields.update(overrides)
    return NewRollout.model_validate(fields)


async def test_a_rollout_round_trips_with_its_options_and_plan(store: Store) -> None:
    new = new_rollout(item_times={SERIALS[0]: T0 + timedelta(hours=2)})
    made = await store.create_rollout(new, at=T0)
    read = await store.get_rollout(made.id)
    assert read == made
    assert read is not None and read.options.waves == (20, 100) and read.total == 10
    assert read.plan == new.plan and [len(w) for w in read.plan] == [2, 8]
    assert read.time_of(SERIALS[0]) == T0 + timedelta(hours=2) and read.time_of(SERIALS[1]) == T0 + timedelta(hours=1)
    assert [r.id for r in await store.list_rollouts([RolloutState.PENDING_APPROVAL])] == [made.id]
    assert await store.list_rollouts([RolloutState.RUNNING]) == []


async def test_each_decision_wins_once(store: Store) -> None:
    made = await store.create_rollout(new_rollout(), at=T0)
    attempts = [
        store.transition_rollout(made.id, from_states=[RolloutState.PENDING_APPROVAL], to_state=to, at=T0)
        for to in (RolloutState.SCHEDULED, RolloutState.REJECTED, RolloutState.SCHEDULED)
    ]
    results = await asyncio.gather(*attempts)
    assert sum(r is not None for r in results) == 1
    final = await store.get_rollout(made.id)
    assert final is not None and final.version == 2 and final.state in (RolloutState.SCHEDULED, RolloutState.REJECTED)


async def test_a_wave_is_started_once_and_its_items_wait(store: Store) -> None:
    made = await store.create_rollout(new_rollout(), at=T0)
    at = T0 + timedelta(hours=1)
    first, second = await asyncio.gather(
        store.start_wave(made, 1, scheduled_time=at, item_times=None, at=T0),
        store.start_wave(made, 1, scheduled_time=at, item_times=None, at=T0),
    )
    started = [r for r in (first, second) if r is not None]
    assert len(started) == 1
    wave = started[0]
    assert wave.rollout_id == made.id and wave.wave == 1 and wave.state is RequestState.APPROVED
    assert wave.device_serials == made.plan[0] and all(i.state is ItemState.WAITING for i in wave.items)
    assert [r.id for r in await store.wave_requests(made.id)] == [wave.id]
    assert wave.id not in [r.id for r in await store.list_requests()], "waves are the runner's, not maintenance's"
    later = T0 + timedelta(hours=3)
    assert await store.reschedule_items([wave.items[0].id], later) == 1
    (again,) = await store.wave_requests(made.id)
    assert [i.scheduled_time for i in again.items] == [later, at]


async def test_a_thread_reply_is_told_once(store: Store) -> None:
    made = await store.create_rollout(new_rollout(), at=T0)
    told = await asyncio.gather(*[store.mark_told(made.id, "wave_started:1:0") for _ in range(4)])
    assert sum(told) == 1
    assert await store.mark_told(made.id, "wave_started:2:0") is True
    read = await store.get_rollout(made.id)
    assert read is not None and read.told == ["wave_started:1:0", "wave_started:2:0"]


async def test_active_rollouts_hold_their_devices(store: Store) -> None:
    active = await store.create_rollout(new_rollout(), at=T0)
    other_serials = ["XX1", "XX2"]
    finished_id = new_rollout_id()
    await store.create_rollout(
        new_rollout(id=finished_id, plan=[other_serials], state=RolloutState.PENDING_APPROVAL), at=T0
    )
    await store.transition_rollout(
        finished_id, from_states=[RolloutState.PENDING_APPROVAL], to_state=RolloutState.REJECTED, at=T0
    )
    busy = await store.active_rollout_devices()
    assert set(busy) == {s.casefold() for s in SERIALS} and set(busy.values()) == {active.id}
