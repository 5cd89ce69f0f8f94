"""The scheduling rules without Slack: ``SchedulingService`` on the store (SQLite and PostgreSQL) with the real
``ControlApiClient`` over HTTP to the simulator. The four-eyes rule, who may decide, the compare-and-set (one winner
among concurrent decisions), the expiry of a decision too close to its time, creation exactly once, and the
reconciliation of a creation whose answer was lost. Refusals are typed; ``bot.slack.wording`` words them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.control.client import ControlApiClient
from bot.domain.requests import Decision, ItemState, NewScheduleRequest, Refusal, RequestState, ScheduleRecord
from bot.services.approvals import Approvals, Verdict
from bot.services.scheduling import SchedulingService, find_match
from bot.settings import Settings
from bot.simulator import DOCUMENTED_SERIAL, SimulatorConfig, SimulatorState, create_app
from bot.slack.wording import refusal_text
from bot.slackkit.servers import ThreadedServer, serve_asgi
from bot.store import Store

TOKEN = "sim-token-scheduling"
REQUESTER = "U0REQUESTER"
APPROVER = "U0APPROVER"
SECOND_APPROVER = "U0SECOND"


@dataclass
class World:
    sim: SimulatorState
    server: ThreadedServer
    store: Store
    control: ControlApiClient

    def service(self, **overrides: Any) -> SchedulingService:
        values: dict[str, Any] = {"approvers": [APPROVER, SECOND_APPROVER], "min_lead_seconds": 60}
        values.update(overrides)
        settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        return SchedulingService(settings, self.store, self.control)

    async def request(
        self, *, serials: list[str] | None = None, minutes: float = 24 * 60, **fields: Any
    ) -> ScheduleRecord:
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "requester_id": REQUESTER, "team_id": "T1", "device_serials": serials or [DOCUMENTED_SERIAL],
            "operation_type": "reboot", "scheduled_time": now + timedelta(minutes=minutes),
            "state": RequestState.PENDING_APPROVAL, "approval_required": True,
        }  # fmt: skip
        values.update(fields)
        return await self.store.create_request(NewScheduleRequest(**values), at=now)

    def operations_on(self, serial: str) -> list[Any]:
        return [op for op in self.sim.order if op.device_serial == serial]


@pytest.fixture
def simulator() -> Iterator[tuple[SimulatorState, ThreadedServer]]:
    state = SimulatorState(SimulatorConfig(token=TOKEN, extra_devices=3, refresh_delay=0.0))
    with serve_asgi(create_app(state=state)) as server:
        yield state, server


@pytest.fixture
async def world(store: Store, simulator: tuple[SimulatorState, ThreadedServer]) -> AsyncIterator[World]:
    state, server = simulator
    async with ControlApiClient(f"{server.url}/api/v1", TOKEN, timeout=3, max_retries=0) as control:
        yield World(state, server, store, control)


# ---------------------------------------------------------------------------------------------- who may decide


async def test_the_requester_cannot_approve_their_own_request(world: World) -> None:
    record = await world.request()
    decision = await world.service().decide(record.id, REQUESTER, approve=True, is_approver=True)
    assert (decision.won, decision.refusal) == (False, Refusal.SELF_APPROVAL)
    assert refusal_text(decision) == "You asked for this operation, so someone else has to approve it (four-eyes rule)."
    assert (await world.store.get_request(record.id)).state is RequestState.PENDING_APPROVAL  # type: ignore[union-attr]
    audit = await world.store.recent_audit(record.id)
    assert [(a.action, a.outcome) for a in audit][:1] == [("approve_refused", "not_allowed")]


async def test_self_approval_when_the_setting_allows_it_and_the_requester_is_an_approver(world: World) -> None:
    service = world.service(allow_self_approval=True)
    record = await world.request()
    refused = await service.decide(record.id, REQUESTER, approve=True, is_approver=False)
    assert refused.refusal is Refusal.NOT_APPROVER  # the setting lifts the four-eyes rule, not the approver list
    decision = await service.decide(record.id, REQUESTER, approve=True, is_approver=True)
    assert decision.won and decision.record is not None and decision.record.state is RequestState.APPROVED


async def test_only_approvers_decide_and_only_the_requester_confirms_or_cancels(world: World) -> None:
    service = world.service()
    record = await world.request()
    outsider = await service.decide(record.id, "U0OUTSIDER", approve=False, is_approver=False)
    assert outsider.refusal is Refusal.NOT_APPROVER
    assert refusal_text(outsider) == "Only the configured approvers can approve or reject requests."
    draft = await world.request(state=RequestState.DRAFT)
    confirm = await service.confirm(draft.id, APPROVER)
    cancel = await service.cancel(draft.id, APPROVER)
    assert (confirm.refusal, cancel.refusal) == (Refusal.NOT_REQUESTER, Refusal.NOT_REQUESTER)
    assert refusal_text(confirm) == "Only the person who asked can confirm this request."
    assert refusal_text(cancel) == "Only the person who asked can cancel this request."
    missing = await service.decide("no-such-request", APPROVER, approve=True, is_approver=True)
    assert (missing.refusal, refusal_text(missing)) == (Refusal.NO_SUCH_REQUEST, "This request no longer exists.")


async def test_reject_is_checked_before_its_reason_is_asked(world: World) -> None:
    service = world.service()
    record = await world.request()
    assert await service.check_reject(record, APPROVER, is_approver=True, channel_id=None) is None
    own = await service.check_reject(record, REQUESTER, is_approver=True, channel_id=None)
    assert own is not None and own.refusal is Refusal.SELF_APPROVAL
    approved = await service.decide(record.id, APPROVER, approve=True, is_approver=True)
    assert approved.record is not None
    late = await service.check_reject(approved.record, SECOND_APPROVER, is_approver=True, channel_id=None)
    assert late is not None and late.refusal is Refusal.ALREADY_DECIDED
    assert refusal_text(late) == f"This request was already approved by <@{APPROVER}>."


# ---------------------------------------------------------------------------------------------- exactly once


async def test_concurrent_decisions_have_exactly_one_winner(world: World) -> None:
    service = world.service()
    record = await world.request()
    clicks = [
        service.decide(record.id, APPROVER if i % 2 else SECOND_APPROVER, approve=i % 3 != 0, is_approver=True)
        for i in range(12)
    ]
    decisions: list[Decision] = await asyncio.gather(*clicks)
    winners = [d for d in decisions if d.won]
    assert len(winners) == 1
    final = await world.store.get_request(record.id)
    assert final is not None and final.state is winners[0].record.state  # type: ignore[union-attr]
    losers = [d for d in decisions if not d.won]
    assert {d.refusal for d in losers} == {Refusal.ALREADY_DECIDED}
    assert all(d.record is not None and d.record.state is final.state for d in losers)  # read after the attempt


async def test_a_second_confirm_reads_already_confirmed(world: World) -> None:
    service = world.service()
    draft = await world.request(state=RequestState.DRAFT)
    first, second = await service.confirm(draft.id, REQUESTER), await service.confirm(draft.id, REQUESTER)
    assert first.won and not second.won and second.refusal is Refusal.ALREADY_DECIDED
    assert refusal_text(second) == "This request was already confirmed and is waiting for approval."


async def test_a_decision_too_close_to_the_scheduled_time_expires_the_request(world: World) -> None:
    service = world.service(min_lead_seconds=120)
    record = await world.request(minutes=1)  # one minute ahead, two needed
    decision = await service.decide(record.id, APPROVER, approve=True, is_approver=True)
    assert decision.expired and not decision.won and decision.refusal is Refusal.TOO_LATE
    assert decision.lead == timedelta(seconds=120)
    assert decision.time_left is not None and timedelta(0) < decision.time_left <= timedelta(minutes=1)
    assert refusal_text(decision).startswith("Too late: its scheduled time is only ")
    final = await world.store.get_request(record.id)
    assert final is not None and final.state is RequestState.EXPIRED and final.decided_by == APPROVER
    assert world.operations_on(DOCUMENTED_SERIAL) == []
    again = await service.decide(record.id, SECOND_APPROVER, approve=True, is_approver=True)
    assert again.refusal is Refusal.ALREADY_DECIDED  # the expiry was the decision


async def test_operations_are_created_exactly_once_however_often_creation_runs(world: World) -> None:
    service = world.service()
    serials = [serial for serial in world.sim.devices if serial != DOCUMENTED_SERIAL][:2]
    record = await world.request(serials=serials)
    await service.decide(record.id, APPROVER, approve=True, is_approver=True)
    results = await asyncio.gather(*(service.create_operations(record.id) for _ in range(4)))
    assert all(result is not None for result in results)
    final = await world.store.get_request(record.id)
    assert final is not None and final.state is RequestState.DONE
    assert [item.state for item in final.items] == [ItemState.CREATED, ItemState.CREATED]
    for serial in serials:
        assert len(world.operations_on(serial)) == 1, serial


async def test_a_device_not_in_the_inventory_fails_its_item_with_the_serial_in_the_audit(world: World) -> None:
    service = world.service()
    record = await world.request(serials=["SN-NOT-THERE-1"])
    await service.decide(record.id, APPROVER, approve=True, is_approver=True)
    final = await service.create_operations(record.id)
    assert final is not None and final.items[0].state is ItemState.FAILED
    assert "not in the inventory" in (final.items[0].error or "")
    (created,) = [a for a in await world.store.recent_audit(record.id) if a.action == "create"]
    assert created.outcome == "failed" and created.detail["serial"] == "SN-NOT-THERE-1"


async def test_a_lost_creation_is_found_again_not_posted_twice(world: World) -> None:
    """The POST went through but its answer was lost (the item stayed ``creating``): reconciliation finds the
    operation by serial, type and time, and records it; nothing is created a second time."""
    service = world.service()
    record = await world.request()
    await service.decide(record.id, APPROVER, approve=True, is_approver=True)
    (item,) = record.items
    claimed = await world.store.claim_item(item.id, at=datetime.now(UTC))
    assert claimed is not None
    landed = world.sim.create_operation(DOCUMENTED_SERIAL, "reboot", record.scheduled_time)  # the lost POST
    assert await service.reconcile(older_than=timedelta(0)) == [record.id]
    final = await world.store.get_request(record.id)
    assert final is not None and final.items[0].state is ItemState.CREATED
    assert final.items[0].operation_id == landed.id
    assert await service.create_operations(record.id) is not None
    assert [op.id for op in world.operations_on(DOCUMENTED_SERIAL)] == [landed.id]


async def test_a_creation_that_provably_did_not_land_is_released_and_created_once(world: World) -> None:
    service = world.service()
    record = await world.request()
    await service.decide(record.id, APPROVER, approve=True, is_approver=True)
    (item,) = record.items
    await world.store.claim_item(item.id, at=datetime.now(UTC))
    other_time = world.sim.create_operation(DOCUMENTED_SERIAL, "reboot", record.scheduled_time + timedelta(hours=1))
    assert await service.reconcile(older_than=timedelta(0)) == [record.id]
    released = await world.store.get_request(record.id)
    assert released is not None and released.items[0].state is ItemState.WAITING
    final = await service.create_operations(record.id)
    assert final is not None and final.state is RequestState.DONE
    mine = [op for op in world.operations_on(DOCUMENTED_SERIAL) if op.id != other_time.id]
    assert len(mine) == 1 and final.items[0].operation_id == mine[0].id


async def test_find_match_needs_serial_type_and_time(world: World) -> None:
    record = await world.request()
    (item,) = record.items
    ops = await world.control.list_operations()
    assert find_match(ops, record, item) is None
    world.sim.create_operation(DOCUMENTED_SERIAL, "firmware_update", record.scheduled_time)  # another type
    world.sim.create_operation(DOCUMENTED_SERIAL, "reboot", record.scheduled_time + timedelta(seconds=5))
    assert find_match(await world.control.list_operations(), record, item) is None
    same = world.sim.create_operation(DOCUMENTED_SERIAL, "reboot", record.scheduled_time)
    match = find_match(await world.control.list_operations(), record, item)
    assert match is not None and match.id == same.id


# ---------------------------------------------------------------------------------------------- approvals


class RecordingMessenger:
    """The ``Messenger`` port, recording what the workflow asked to say (the Slack one renders and posts it)."""

    def __init__(self) -> None:
        self.said: list[tuple[str, str]] = []  # (what, request id)
        self.posts = 0

    async def post_approval_request(self, record: ScheduleRecord, channel: str) -> str | None:
        await asyncio.sleep(0.05)  # a slow chat service: concurrent callers overlap
        self.posts += 1
        self.said.append(("approval_request", record.id))
        return f"1700000000.{self.posts:06d}"

    async def announce(self, record: ScheduleRecord, channel: str) -> str | None:
        self.posts += 1
        self.said.append(("announce", record.id))
        return f"1700000000.{self.posts:06d}"

    async def show_decision(self, record: ScheduleRecord) -> bool:
        self.said.append(("show_decision", record.id))
        return True

    async def tell_waiting_for_approval(self, record: ScheduleRecord, channel: str) -> None:
        self.said.append(("tell_waiting", record.id))

    async def tell_outcome(self, record: ScheduleRecord) -> None:
        self.said.append((f"tell_outcome:{record.state.value}", record.id))


def approvals_for(world: World, service: SchedulingService, messenger: RecordingMessenger) -> Approvals:
    settings = Settings(_env_file=None, approval_channel="C0APPROVE")  # type: ignore[call-arg]
    return Approvals(settings, world.store, service, messenger)


async def test_the_approval_request_is_posted_once_whoever_asks(world: World) -> None:
    service, messenger = world.service(), RecordingMessenger()
    approvals = approvals_for(world, service, messenger)
    record = await world.request()
    await asyncio.gather(*(approvals.post_approval(record, wait=5) for _ in range(5)))
    assert messenger.said == [("approval_request", record.id), ("tell_waiting", record.id)]
    posted = await world.store.get_request(record.id)
    assert posted is not None and (posted.approval_channel_id, posted.approval_ts) == ("C0APPROVE", "1700000000.000001")


async def test_which_button_belongs_to_which_request(world: World) -> None:
    service, messenger = world.service(), RecordingMessenger()
    approvals = approvals_for(world, service, messenger)
    record = await world.request()
    posted = await approvals.post_approval(record)
    ts = posted.approval_ts

    async def check(channel: str | None, message_ts: str | None, shows: bool, request_id: str = record.id) -> Verdict:
        found = await approvals.request_for_button(
            request_id, user_id=APPROVER, channel_id=channel, message_ts=message_ts, shows_request=lambda _id: shows
        )
        return found.verdict

    assert await check("C0APPROVE", ts, shows=True) is Verdict.MATCH
    assert await check("C0APPROVE", "1600000000.000001", shows=True) is Verdict.SUPERSEDED  # an older copy
    assert await check("C0APPROVE", "1600000000.000001", shows=False) is Verdict.MISMATCH
    assert await check("C0ELSEWHERE", ts, shows=True) is Verdict.MISMATCH
    assert await check("C0APPROVE", ts, shows=True, request_id="") is Verdict.MISMATCH
    mismatches = [a for a in await world.store.recent_audit(record.id) if a.action == "decision_mismatch"]
    assert len(mismatches) == 2 and {a.outcome for a in mismatches} == {"refused"}  # "" names no request


async def test_after_an_approval_the_operation_is_created_and_everyone_told(world: World) -> None:
    service, messenger = world.service(), RecordingMessenger()
    approvals = approvals_for(world, service, messenger)
    record = await approvals.post_approval(await world.request())
    decision = await service.decide(record.id, APPROVER, approve=True, is_approver=True)
    assert decision.record is not None
    await approvals.after_decision(decision.record)
    await approvals.after_decision(decision.record)  # a second follow-up (a retry, another replica) changes nothing
    final = await world.store.get_request(record.id)
    assert final is not None and final.state is RequestState.DONE and len(world.operations_on(DOCUMENTED_SERIAL)) == 1
    told = [what for what, _ in messenger.said]
    assert told.count("tell_outcome:done") == 1 and "announce" not in told  # its approval message carries it
