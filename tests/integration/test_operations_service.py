"""OperationsService and the Control API client under many people at once, against the simulator over HTTP.

People asking about the same thing at the same moment share one Control API call (status, list, refresh); the
client never has more than ``max_connections`` calls open at once, however many are waiting.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.control.client import ControlApiClient
from bot.control.errors import ControlApiUnavailable
from bot.control.models import CreateOperationRequest, Operation
from bot.services.operations import ListCursor, OperationsService, newest_first
from bot.simulator import DOCUMENTED_SERIAL, Faults, SimulatorConfig, SimulatorState, create_app
from bot.slackkit.servers import ThreadedServer, serve_asgi

TOKEN = "ops-service-token"


class InFlight:
    """ASGI wrapper: the most API requests the simulator ever had open at once."""

    def __init__(self, app: Any) -> None:
        self.app, self.now, self.most = app, 0, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        counted = scope["type"] == "http" and scope["path"].startswith("/api/")
        if counted:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            await self.app(scope, receive, send)
        finally:
            if counted:
                self.now -= 1


@pytest.fixture
def sim() -> Iterator[tuple[SimulatorState, ThreadedServer, InFlight]]:
    state = SimulatorState(SimulatorConfig(token=TOKEN, refresh_delay=0.2))
    counter = InFlight(create_app(state=state))
    with serve_asgi(counter) as server:
        yield state, server, counter


def operations(state: SimulatorState, count: int) -> list[str]:
    when = state.now() + timedelta(days=1)
    return [state.create_operation(DOCUMENTED_SERIAL, "reboot", when, {"n": i}).id for i in range(count)]


async def test_people_asking_the_same_status_at_once_share_one_call(sim: Any) -> None:
    state, server, _ = sim
    first, second = operations(state, 2)
    state.faults = Faults(latency=0.3)
    async with ControlApiClient(f"{server.url}/api/v1", TOKEN) as client:
        service = OperationsService(client)
        before = state.hits["GET"]
        answers = await asyncio.gather(*(service.status(first) for _ in range(20)), service.status(second))
        assert state.hits["GET"] - before == 2, "one call per operation asked about"
        assert {a.id for a in answers} == {first, second}
        again = await service.status(first)  # later: a call of its own, nothing is cached
        assert again.id == first and state.hits["GET"] - before == 3


async def test_a_shared_status_call_that_fails_fails_for_everyone_and_is_not_kept(sim: Any) -> None:
    state, server, _ = sim
    (op,) = operations(state, 1)
    state.faults = Faults(latency=0.2, error_rate=1.0)
    async with ControlApiClient(f"{server.url}/api/v1", TOKEN, max_retries=0) as client:
        service = OperationsService(client)
        results = await asyncio.gather(*(service.status(op) for _ in range(5)), return_exceptions=True)
        assert all(isinstance(r, Exception) for r in results)
        state.faults = Faults()
        assert (await service.status(op)).id == op


async def test_concurrent_lists_share_one_fetch(sim: Any) -> None:
    state, server, _ = sim
    operations(state, 3)
    state.faults = Faults(latency=0.3)
    async with ControlApiClient(f"{server.url}/api/v1", TOKEN) as client:
        service = OperationsService(client, list_cache_seconds=0)
        before = state.hits["GET"]
        lists = await asyncio.gather(*(service.list() for _ in range(15)))
        assert state.hits["GET"] - before == 1
        assert len({len(each) for each in lists}) == 1 and len(lists[0]) >= 3


async def test_the_client_never_opens_more_than_max_connections(sim: Any) -> None:
    state, server, counter = sim
    ids = operations(state, 12)
    state.faults = Faults(latency=0.2)
    async with ControlApiClient(f"{server.url}/api/v1", TOKEN, max_connections=3) as client:
        answers = await asyncio.gather(*(client.get_operation(op) for op in ids))
    assert [a.id for a in answers] == ids, "every call answered, in spite of the queue"
    assert counter.most == 3


async def test_a_call_started_long_ago_is_not_joined(sim: Any) -> None:
    """During an outage a status call hangs; once the API is back, a new question gets a call of its own instead
    of the tail of the old one."""
    state, server, _ = sim
    (op,) = operations(state, 1)
    state.faults = Faults(latency=3.0)
    async with ControlApiClient(f"{server.url}/api/v1", TOKEN, max_retries=0, timeout=5) as client:
        service = OperationsService(client)
        old = asyncio.ensure_future(service.status(op))
        await asyncio.sleep(1.2)  # older than STATUS_SHARE_SECONDS
        state.faults = Faults()
        fresh = await asyncio.wait_for(service.status(op), timeout=2)
        assert fresh.id == op and not old.done()
        old.cancel()


async def test_a_shared_call_nobody_waits_for_is_cancelled(sim: Any) -> None:
    state, server, _ = sim
    (op,) = operations(state, 1)
    state.faults = Faults(latency=2.0)
    async with ControlApiClient(f"{server.url}/api/v1", TOKEN, max_retries=0) as client:
        service = OperationsService(client)
        waiters = [asyncio.ensure_future(service.refresh(op)) for _ in range(3)]
        await asyncio.sleep(0.2)
        (shared,) = [entry[0] for entry in service._refreshing._calls.values()]
        waiters[0].cancel()
        await asyncio.sleep(0.05)
        assert not shared.done(), "two people still wait for it"
        for waiter in waiters[1:]:
            waiter.cancel()
        await asyncio.sleep(0.05)
        assert shared.cancelled() and service._refreshing._calls == {}


class HoldListAnswers:
    """ASGI wrapper: while ``holding``, a list GET is answered by the simulator at once but its answer reaches the
    bot only when ``release`` is set (so the answer is older than anything created meanwhile)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.holding = False
        self.held = threading.Event()
        self.release = threading.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not (self.holding and scope["type"] == "http" and scope["method"] == "GET"):
            await self.app(scope, receive, send)
            return
        answer: list[Any] = []

        async def keep(message: Any) -> None:
            answer.append(message)

        await self.app(scope, receive, keep)
        self.held.set()
        await asyncio.to_thread(self.release.wait, 10)
        for message in answer:
            await send(message)


def a_reboot(serial: str = DOCUMENTED_SERIAL) -> CreateOperationRequest:
    return CreateOperationRequest(
        device_serial=serial, operation_type="reboot", scheduled_time=datetime.now(UTC) + timedelta(days=1)
    )


async def test_a_create_drops_the_shared_list(sim: Any) -> None:
    """``/headless list`` right after the bot created an operation shows it, however long lists are shared
    (issue #12, item 6): every create passes through the client, which the list cache consults."""
    state, server, _ = sim
    async with ControlApiClient(f"{server.url}/api/v1", TOKEN) as client:
        service = OperationsService(client, list_cache_seconds=60)
        assert await service.list(serial=DOCUMENTED_SERIAL) == []
        before = state.hits["GET"]
        assert await service.list(serial=DOCUMENTED_SERIAL) == [], "shared: no second call"
        assert state.hits["GET"] == before
        created = await client.create_operation(a_reboot())
        assert [op.id for op in await service.list(serial=DOCUMENTED_SERIAL)] == [created.id]
        assert state.hits["GET"] == before + 1
        await service.list()
        assert state.hits["GET"] == before + 1, "the fresh answer is shared again"


async def test_a_create_that_fails_drops_the_shared_list_too(sim: Any) -> None:
    """A create whose answer is lost may have landed: the list is read again rather than trusted."""
    state, server, _ = sim
    async with ControlApiClient(f"{server.url}/api/v1", TOKEN) as client:
        service = OperationsService(client, list_cache_seconds=60)
        await service.list()
        state.faults = Faults(error_rate=1.0)
        with pytest.raises(ControlApiUnavailable):
            await client.create_operation(a_reboot())
        state.faults = Faults()
        before = state.hits["GET"]
        await service.list()
        assert state.hits["GET"] == before + 1


async def test_a_list_read_before_a_create_is_neither_joined_nor_kept(sim: Any) -> None:
    """A list call still in flight when the create finishes was read before it: a caller arriving after the
    create gets a call of its own, and the old answer, arriving last, does not replace the fresh one."""
    state, _, _ = sim
    holder = HoldListAnswers(create_app(state=state))
    with serve_asgi(holder) as server:
        async with ControlApiClient(f"{server.url}/api/v1", TOKEN, timeout=15) as client:
            service = OperationsService(client, list_cache_seconds=60)
            holder.holding = True
            old = asyncio.ensure_future(service.list(serial=DOCUMENTED_SERIAL))
            await asyncio.to_thread(holder.held.wait, 10)
            holder.holding = False
            created = await client.create_operation(a_reboot())
            fresh = await asyncio.wait_for(service.list(serial=DOCUMENTED_SERIAL), timeout=10)
            assert [op.id for op in fresh] == [created.id]
            holder.release.set()
            assert await old == [], "asked before the create: its answer is the old list"
            again = await service.list(serial=DOCUMENTED_SERIAL)
            assert [op.id for op in again] == [created.id], "the stale answer must not become the shared one"


def op(op_id: str, created: datetime | None, scheduled: datetime) -> Operation:
    return Operation(
        id=op_id, device_serial=DOCUMENTED_SERIAL, operation_type="reboot", status="scheduled",
        scheduled_time=scheduled, created_at=created,
    )  # fmt: skip


def test_newest_first_is_a_total_order_that_ends_with_the_newest_id() -> None:
    """Equal times (a batch) go newest id first, ``txn_10`` after ``txn_9`` (numbers, not text); operations
    without ``created_at`` sort by their scheduled time; the API's own order never matters."""
    t = datetime(2026, 1, 1, tzinfo=UTC)
    batch = [op(f"txn_{n}", t, t + timedelta(hours=1)) for n in (9, 10, 11)]
    older = op("txn_12", t - timedelta(minutes=1), t + timedelta(hours=5))
    undated = op("txn_13", None, t + timedelta(minutes=30))
    for listing in ([*batch, older, undated], [undated, older, *reversed(batch)]):
        assert [o.id for o in newest_first(listing)] == ["txn_13", "txn_11", "txn_10", "txn_9", "txn_12"]


def test_a_cursor_starts_after_its_operation_wherever_it_now_is() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    ops = newest_first([op(f"txn_{n}", t + timedelta(minutes=n), t) for n in range(10)])
    cursor = ListCursor.after(ops[3])
    assert cursor.position(ops) == 4
    arrived = newest_first([*ops, op("txn_50", t + timedelta(hours=1), t), op("txn_51", t + timedelta(hours=2), t)])
    assert arrived[cursor.position(arrived)].id == ops[4].id, "new ones on top do not move the next page"
    gone = [o for o in ops if o.id != ops[3].id]
    assert gone[cursor.position(gone)].id == ops[4].id, "nor does the cursor's own operation leaving the list"
    again = ListCursor.model_validate_json(cursor.model_dump_json())
    assert again.position(ops) == 4, "the button's value round-trips"
