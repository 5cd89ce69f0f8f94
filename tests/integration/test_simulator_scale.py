"""The simulator at fleet scale: a preseeded history, pages that are slices, and the admin's bulk status change.

How fast it is lives in ``benchmarks/bench_simulator.py`` (seconds to preseed, RSS, ms per page); these tests hold
what the speed must not change: the statuses a preseeded world shows, DRF's ``count``/``next``/``previous``, and
every answer still being JSON the standard module reads back as it was sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

from bot.simulator import API_PATH, DOCUMENTED_SERIAL, ManualClock, SimulatorConfig, SimulatorState
from bot.simulator.preseed import IsoFormatter
from bot.simulator.state import iso
from bot.slackkit.servers import ThreadedServer
from tests.support.harness import serve_simulator

TOKEN = "sim-scale-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
START = datetime(2024, 1, 15, 11, 30, tzinfo=UTC)
ENDED = {"completed", "failed", "expired"}


@pytest.fixture(scope="module")
def sim_server() -> Iterator[tuple[Starlette, ThreadedServer]]:
    with serve_simulator(TOKEN) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(headers=AUTH, timeout=10.0) as client:
        yield client


def world(sim_server: tuple[Starlette, ThreadedServer], **config: object) -> tuple[SimulatorState, str]:
    app, server = sim_server
    state = SimulatorState(SimulatorConfig(token=TOKEN, refresh_delay=0.0, **config), clock=ManualClock(START))
    app.state.simulator = state
    return state, server.url


def test_the_fast_formatter_writes_what_iso_writes() -> None:
    fmt = IsoFormatter()
    start = START.timestamp()
    moments = [start + offset * 7.31 for offset in range(-20_000, 20_000, 37)] + [0.0, 59.999, 86399.5, 951782400.0]
    assert [fmt(ts) for ts in moments] == [iso(ts) for ts in moments]


def test_preseeded_history_has_ended_and_the_rest_follows_the_lifecycle() -> None:
    config = SimulatorConfig(token=TOKEN, preseed_operations=3000, extra_devices=50)
    state = SimulatorState(config, clock=ManualClock(START))
    now = state.now_ts()
    assert len(state.order) == len(state.operations) == 3000
    assert [op.id for op in state.order] == [f"txn_{10_000 + n}" for n in range(3000)]
    history = [op for op in state.order if op.scheduled_at < now - config.run_seconds - config.expire_after]
    future = [op for op in state.order if op.scheduled_at > now]
    assert 0.45 < len(history) / 3000 < 0.65 and 0.28 < len(future) / 3000 < 0.42
    assert {state.status_of(op) for op in history} <= ENDED
    outcomes = Counter(state.status_of(op) for op in history)
    assert 0.05 < outcomes["failed"] / len(history) < 0.15  # failure_rate 0.1
    assert {state.status_of(op) for op in future} == {"scheduled"}
    assert all(op in state.devices[op.device_serial].active_ops for op in future)  # still on their way
    statuses = Counter(state.status_of(op) for op in state.order)
    assert {"scheduled", "in_progress", "completed", "failed"} <= set(statuses)
    state.advance(8 * 24 * 3600)  # a week on, everything has ended
    assert {state.status_of(op) for op in state.order} <= ENDED


def test_a_large_preseed_has_at_most_a_thousand_operations_running() -> None:
    """A tenth of a large fleet starting at once would flood every list with changes for two minutes."""
    state = SimulatorState(SimulatorConfig(token=TOKEN, preseed_operations=20_000), clock=ManualClock(START))
    now, run = state.now_ts(), state.config.run_seconds
    started = sum(1 for op in state.order if now - run <= op.scheduled_at <= now)
    assert 800 < started < 1200
    assert sum(1 for op in state.order if state.status_of(op) in ("in_progress", "pending")) == started


def test_preseeded_firmware_updates_changed_their_devices() -> None:
    state = SimulatorState(
        SimulatorConfig(token=TOKEN, preseed_operations=2000, extra_devices=10, failure_rate=0.0, offline_rate=0.0),
        clock=ManualClock(START),
    )
    now = state.now_ts()
    updated = [
        op
        for op in state.order
        if op.operation_type == "firmware_update" and state.status_of(op) == "completed" and op.ended_at is not None
    ]
    assert updated
    for serial, device in state.devices.items():
        mine = sorted((op for op in updated if op.device_serial == serial), key=lambda op: op.ended_at or 0.0)
        if serial == DOCUMENTED_SERIAL and not mine:
            continue
        expected = mine[-1].parameters["target_version"] if mine else device.firmware_version
        assert state.firmware_at(device, now) == expected, serial


def test_the_same_seed_preseeds_the_same_world_and_another_seed_another() -> None:
    def world_of(seed: int) -> list[tuple[str, str, str, str]]:
        config = SimulatorConfig(token=TOKEN, seed=seed, preseed_operations=500)
        state = SimulatorState(config, clock=ManualClock(START))
        return [(op.device_serial, op.operation_type, op.scheduled_text, state.status_of(op)) for op in state.order]

    assert world_of(3) == world_of(3)
    assert world_of(3) != world_of(4)


async def test_pages_of_a_large_list_keep_drfs_count_and_links(
    sim_server: tuple[Starlette, ThreadedServer], http: httpx.AsyncClient
) -> None:
    state, url = world(sim_server, preseed_operations=2500, page_size=1000)
    api = url + API_PATH
    seen: list[str] = []
    page = (await http.get(api)).json()
    assert page["count"] == 2500 and page["previous"] is None and page["next"] == f"{api}?page=2"
    while True:
        seen += [op["id"] for op in page["results"]]
        if page["next"] is None:
            break
        page = (await http.get(page["next"])).json()
    assert seen == [op.id for op in state.order]
    assert page["previous"] == f"{api}?page=2" and len(page["results"]) == 500
    second = (await http.get(api, params={"page": "2"})).json()
    assert second["previous"] == api and second["next"] == f"{api}?page=3"
    asked = (await http.get(api, params={"page_size": "700", "page": "4"})).json()
    assert asked["count"] == 2500 and len(asked["results"]) == 400 and asked["next"] is None
    assert (await http.get(api, params={"page": "4"})).json() == {"detail": "Invalid page."}
    state.remove_operation(seen[0])  # the list shrinks: the count and the slices follow
    first = (await http.get(api)).json()
    assert first["count"] == 2499 and first["results"][0]["id"] == seen[1]


async def test_what_orjson_cannot_encode_is_still_answered(
    sim_server: tuple[Starlette, ThreadedServer], http: httpx.AsyncClient
) -> None:
    """Integers beyond 64 bits (a client's ``parameters`` may hold one) fall back to the standard encoder."""
    _, url = world(sim_server)
    when = (START + timedelta(days=1)).isoformat()
    huge = 2**70 + 1
    body = {"device_serial": DOCUMENTED_SERIAL, "operation_type": "reboot", "scheduled_time": when,
            "parameters": {"n": huge, "name": "café ✓"}}  # fmt: skip
    created = await http.post(url + API_PATH, json=body)
    assert created.status_code == 201 and created.json()["parameters"] == {"n": huge, "name": "café ✓"}
    listed = await http.get(url + API_PATH)
    assert listed.json()["results"][0]["parameters"]["n"] == huge
    assert "café ✓".encode() in listed.content  # UTF-8, not \\u escapes, as Starlette's JSONResponse writes


async def test_admin_forces_many_statuses_at_once(
    sim_server: tuple[Starlette, ThreadedServer], http: httpx.AsyncClient
) -> None:
    state, url = world(sim_server, preseed_operations=50)
    endpoint = f"{url}/_simulator/operations/statuses"
    chosen = [op.id for op in state.order[:10]]
    before = {op_id: state.status_of(op_id) for op_id in chosen}
    answer = await http.post(endpoint, json={"statuses": dict.fromkeys(chosen, "cancelled")})
    assert answer.status_code == 200 and answer.json() == {"forced": 10, "previous": before}
    listed = (await http.get(url + API_PATH)).json()["results"]
    assert [op["status"] for op in listed[:10]] == ["cancelled"] * 10 and listed[10]["status"] != "cancelled"
    back = await http.post(endpoint, json={"statuses": {chosen[0]: None}})
    assert back.json()["previous"] == {chosen[0]: "cancelled"} and state.status_of(chosen[0]) == before[chosen[0]]
    unknown = await http.post(endpoint, json={"statuses": {chosen[1]: None, "txn_1": "failed"}})
    assert unknown.status_code == 404 and unknown.json()["unknown"] == ["txn_1"]
    assert state.status_of(chosen[1]) == "cancelled"  # all or nothing
    for bad in ({"statuses": {chosen[1]: ""}}, {"statuses": [chosen[1]]}, {}):
        assert (await http.post(endpoint, json=bad)).status_code == 400
    async with httpx.AsyncClient() as anonymous:
        assert (await anonymous.post(endpoint, json={"statuses": {}})).status_code == 401
