"""Device-local time at creation: each item of a request is created at ITS scheduled time (``item_times``), checked
against it, and reconciled by it. ``SchedulingService`` on the store (SQLite and PostgreSQL) with the real
``ControlApiClient`` over HTTP to the simulator, as in ``test_scheduling_service``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bot.control.client import ControlApiClient
from bot.domain.requests import ItemState, NewScheduleRequest, RequestState, ScheduleRecord
from bot.services.scheduling import SchedulingService, find_match
from bot.settings import Settings
from bot.simulator import DOCUMENTED_SERIAL, SimulatorConfig, SimulatorState, create_app
from bot.slackkit.servers import ThreadedServer, serve_asgi
from bot.store import Store

TOKEN = "sim-token-item-times"
REQUESTER = "U0REQUESTER"
APPROVER = "U0APPROVER"


@dataclass
class World:
    sim: SimulatorState
    store: Store
    control: ControlApiClient
    serials: list[str]

    def service(self) -> SchedulingService:
        settings = Settings(_env_file=None, approvers=[APPROVER], min_lead_seconds=60)  # type: ignore[call-arg]
        return SchedulingService(settings, self.store, self.control)

    async def request(self, times: dict[str, datetime], *, approved: bool = True) -> ScheduleRecord:
        """A reboot of the devices of ``times``, each at its time (the request's: the earliest), approved."""
        now = datetime.now(UTC)
        new = NewScheduleRequest(
            requester_id=REQUESTER, team_id="T1", device_serials=list(times), operation_type="reboot",
            scheduled_time=min(times.values()), item_times=times, state=RequestState.PENDING_APPROVAL,
        )  # fmt: skip
        record = await self.store.create_request(new, at=now)
        if approved:
            moved = await self.store.transition(
                record.id, from_states=["pending_approval"], to_state="approved", at=now, by=APPROVER
            )
            assert moved is not None
            return moved
        return record

    async def scheduled_times(self, record_id: str) -> dict[str, datetime]:
        """Serial → the scheduled time the Control API has for the operation created for that item."""
        record = await self.store.get_request(record_id)
        assert record is not None
        by_id = {op.id: op for op in await self.control.list_operations()}
        return {i.device_serial: by_id[i.operation_id].scheduled_time for i in record.items if i.operation_id}


@pytest.fixture
def simulator() -> Iterator[tuple[SimulatorState, ThreadedServer]]:
    state = SimulatorState(SimulatorConfig(token=TOKEN, extra_devices=3, refresh_delay=0.0))
    with serve_asgi(create_app(state=state)) as server:
        yield state, server


@pytest.fixture
async def world(store: Store, simulator: tuple[SimulatorState, ThreadedServer]) -> AsyncIterator[World]:
    state, server = simulator
    serials = [DOCUMENTED_SERIAL, *(s for s in state.devices if s != DOCUMENTED_SERIAL)][:3]
    async with ControlApiClient(f"{server.url}/api/v1", TOKEN, timeout=3, max_retries=0) as control:
        yield World(state, store, control, serials)


def whole_seconds(t: datetime) -> datetime:
    return t.replace(microsecond=0)


async def test_each_item_is_created_at_its_own_time(world: World) -> None:
    base = whole_seconds(datetime.now(UTC)) + timedelta(days=1)
    times = dict(
        zip(world.serials, [base + timedelta(hours=17), base, base + timedelta(hours=5, minutes=30)], strict=True)
    )
    record = await world.request(times)
    assert record.scheduled_time == base  # the earliest
    final = await world.service().create_operations(record.id)
    assert final is not None and final.state is RequestState.DONE
    assert [i.state for i in final.items] == [ItemState.CREATED] * 3
    assert await world.scheduled_times(record.id) == times


async def test_an_item_whose_own_time_passed_fails_alone(world: World) -> None:
    now = whole_seconds(datetime.now(UTC))
    late, ok, later = world.serials
    # held up until the first device's time went by: that one is not created, the others are, at their times
    times = {late: now - timedelta(minutes=1), ok: now + timedelta(hours=3), later: now + timedelta(hours=9)}
    record = await world.request(times)
    final = await world.service().create_operations(record.id)
    assert final is not None and final.state is RequestState.DONE
    states = {i.device_serial: (i.state, i.error) for i in final.items}
    assert states[late][0] is ItemState.FAILED
    assert "its scheduled time passed before the bot could create it" in (states[late][1] or "")
    assert states[ok] == (ItemState.CREATED, None) and states[later] == (ItemState.CREATED, None)
    assert await world.scheduled_times(record.id) == {ok: times[ok], later: times[later]}


async def test_a_lost_creation_is_found_at_the_items_time(world: World) -> None:
    base = whole_seconds(datetime.now(UTC)) + timedelta(days=1)
    first, second, _ = world.serials
    times = {first: base, second: base + timedelta(hours=5, minutes=45)}
    record = await world.request(times)
    item = record.item_for(second)
    assert item is not None and item.scheduled_time == times[second]
    assert await world.store.claim_item(item.id, at=datetime.now(UTC)) is not None
    # an operation on that device at the request's (earliest) time is not the lost one; the one at its own time is
    decoy = world.sim.create_operation(second, "reboot", base)
    assert find_match(await world.control.list_operations(), record, item) is None
    landed = world.sim.create_operation(second, "reboot", times[second])
    match = find_match(await world.control.list_operations(), record, item)
    assert match is not None and match.id == landed.id != decoy.id

    service = world.service()
    assert await service.reconcile(older_than=timedelta(0)) == [record.id]
    final = await service.create_operations(record.id)
    assert final is not None and final.state is RequestState.DONE
    assert final.item_for(second).operation_id == landed.id  # type: ignore[union-attr]
    assert await world.scheduled_times(record.id) == times


async def test_a_request_without_item_times_is_created_as_before(world: World) -> None:
    when = whole_seconds(datetime.now(UTC)) + timedelta(hours=4)
    new = NewScheduleRequest(
        requester_id=REQUESTER, team_id="T1", device_serials=world.serials[:2], operation_type="reboot",
        scheduled_time=when, state=RequestState.PENDING_APPROVAL,
    )  # fmt: skip
    record = await world.store.create_request(new, at=datetime.now(UTC))
    decision = await world.service().decide(record.id, APPROVER, approve=True, is_approver=True)
    assert decision.won
    final = await world.service().create_operations(record.id)
    assert final is not None and final.state is RequestState.DONE
    assert await world.scheduled_times(record.id) == dict.fromkeys(world.serials[:2], when)
