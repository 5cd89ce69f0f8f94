"""The simulator against the API documentation, over real HTTP with a plain httpx client.

If these pass, every example request of the documentation gets the documented answer from the simulator, so
tests of the bot that run against the simulator exercise the same contract as production.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from bot.simulator import (
    API_PATH,
    DOCUMENTED_SERIAL,
    ManualClock,
    SimulatorConfig,
    SimulatorState,
)
from bot.slackkit.servers import ThreadedServer, free_port
from tests.support.api_examples import DOCUMENTED_GET_RESPONSE
from tests.support.harness import serve_simulator

TOKEN = "sim-token-1234"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
START = datetime(2024, 1, 15, 11, 30, tzinfo=UTC)
ID = re.compile(r"^txn_\d+$")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

# The documentation's examples, verbatim.
DOC_POST_BODY = """{
"device_serial": "SN123456789",
"operation_type": "configuration_update",
"scheduled_time": "2024-01-16T02:00:00Z",
"parameters": {
"config_profile": "production_v2",
"restart_required": true
}
}"""
DOC_POST_RESPONSE = {
    "id": "txn_67890",
    "device_serial": "SN123456789",
    "operation_type": "configuration_update",
    "status": "scheduled",
    "scheduled_time": "2024-01-16T02:00:00Z",
    "created_at": "2024-01-15T11:30:00Z",
    "parameters": {"config_profile": "production_v2", "restart_required": True},
}
DOC_GET_RESPONSE = DOCUMENTED_GET_RESPONSE


class World:
    """A fresh simulator state on the module's server, and what a test needs to talk to it."""

    def __init__(self, app: Starlette, server: ThreadedServer, **config: Any) -> None:
        config.setdefault("refresh_delay", 0.05)
        self.clock = ManualClock(START)
        self.state = SimulatorState(SimulatorConfig(token=TOKEN, **config), clock=self.clock)
        app.state.simulator = self.state
        self.url = server.url
        self.api = server.url + API_PATH

    def create(self, scheduled: timedelta = timedelta(hours=1), serial: str = DOCUMENTED_SERIAL, **kw: Any) -> str:
        """Schedule an operation through Python (the HTTP path is tested separately); returns its id."""
        kind = kw.pop("operation_type", "reboot")
        return self.state.create_operation(serial, kind, self.state.now() + scheduled, kw or None).id


@pytest.fixture(scope="module")
def sim_server() -> Iterator[tuple[Starlette, ThreadedServer]]:
    with serve_simulator(TOKEN) as running:
        yield running


@pytest.fixture
def world_factory(sim_server: tuple[Starlette, ThreadedServer]) -> Callable[..., World]:
    return lambda **config: World(*sim_server, **config)


@pytest.fixture
def world(world_factory: Callable[..., World]) -> World:
    return world_factory()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(headers=AUTH, timeout=5.0) as client:
        yield client


async def get_op(http: httpx.AsyncClient, world: World, op_id: str, **params: str) -> dict[str, Any]:
    response = await http.get(world.api, params={"id": op_id, **params})
    assert response.status_code == 200, response.text
    return response.json()["results"][0]  # type: ignore[no-any-return]


# --- the documented examples --------------------------------------------------------------------------------


async def test_the_documented_post_gets_the_documented_answer(world: World, http: httpx.AsyncClient) -> None:
    response = await http.post(world.api, content=DOC_POST_BODY, headers={"Content-Type": "application/json"})
    assert response.status_code == 201
    body = response.json()
    assert list(body) == list(DOC_POST_RESPONSE)  # the same keys, in the same order
    assert ID.match(body["id"])
    assert {**body, "id": "txn_67890"} == DOC_POST_RESPONSE  # created_at: the simulator's clock is START


async def test_the_documented_get_gets_the_documented_shape(world_factory: Callable[..., World]) -> None:
    """The literal example request (``?id=txn_12345&update_status=true``) works on a preseeded simulator."""
    world = world_factory(preseed_operations=2400)
    async with httpx.AsyncClient(headers=AUTH) as http:
        response = await http.get(
            f"{world.url}/api/v1/inventory_device_serial_headless_operation/?id=txn_12345&update_status=true"
        )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == set(DOC_GET_RESPONSE)
    assert body["count"] == 1 and len(body["results"]) == 1
    result, documented = body["results"][0], DOC_GET_RESPONSE["results"][0]  # type: ignore[index]
    assert set(documented) <= set(result)
    assert set(documented["device_status"]) <= set(result["device_status"])
    assert result["id"] == "txn_12345"
    assert TIME.match(result["scheduled_time"]) and TIME.match(result["created_at"])
    assert TIME.match(result["device_status"]["last_seen"])
    assert isinstance(result["device_status"]["online"], bool)
    assert re.match(r"^\d+\.\d+\.\d+$", result["device_status"]["firmware_version"])


async def test_get_by_id_of_a_created_operation(world: World, http: httpx.AsyncClient) -> None:
    created = (await http.post(world.api, content=DOC_POST_BODY, headers={"Content-Type": "application/json"})).json()
    result = await get_op(http, world, created["id"])
    assert {key: result[key] for key in DOC_POST_RESPONSE} == created
    assert result["device_status"] == {
        "online": True,
        "last_seen": result["device_status"]["last_seen"],
        "firmware_version": "1.2.3",
    }
    assert result["device_status"]["last_seen"] <= "2024-01-15T11:30:00Z"


async def test_the_list_without_id(world: World, http: httpx.AsyncClient) -> None:
    ids = [world.create(timedelta(hours=n)) for n in range(1, 4)]
    response = await http.get(world.api)
    body = response.json()
    assert set(body) == {"count", "results"}  # no pagination keys unless paginating
    assert body["count"] == 3 and [op["id"] for op in body["results"]] == ids


async def test_the_path_works_without_its_trailing_slash(world: World, http: httpx.AsyncClient) -> None:
    response = await http.get(world.api.rstrip("/"))
    assert response.status_code == 200 and response.json() == {"count": 0, "results": []}


async def test_an_unknown_id_is_404_transaction_not_found(world: World, http: httpx.AsyncClient) -> None:
    response = await http.get(world.api, params={"id": "txn_99999"})
    assert response.status_code == 404
    assert response.json() == {"detail": "Transaction not found."}


async def test_an_unknown_serial_is_404_device_not_found(world: World, http: httpx.AsyncClient) -> None:
    body = json.loads(DOC_POST_BODY) | {"device_serial": "SN000000000"}
    response = await http.post(world.api, json=body)
    assert response.status_code == 404
    assert response.json() == {"detail": "Device serial number not found."}
    assert world.state.operations == {}


async def test_missing_and_wrong_tokens_are_401(world: World) -> None:
    async with httpx.AsyncClient() as http:
        missing = await http.get(world.api)
        wrong = await http.get(world.api, headers={"Authorization": "Bearer nope"})
        other_scheme = await http.post(world.api, headers={"Authorization": f"Token {TOKEN}"}, json={})
    assert missing.status_code == wrong.status_code == other_scheme.status_code == 401
    assert missing.json() == {"detail": "Authentication credentials were not provided."}
    assert wrong.json() == {"detail": "Invalid token."}
    assert missing.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"device_serial": None}, "device_serial", "This field may not be null."),
        ({"device_serial": ""}, "device_serial", "This field may not be blank."),
        ({"device_serial": ["SN123456789"]}, "device_serial", "Not a valid string."),
        ({"operation_type": "x" * 65}, "operation_type", "Ensure this field has no more than 64 characters."),
        ({"scheduled_time": "tomorrow at 2"}, "scheduled_time", "Datetime has wrong format."),
        ({"scheduled_time": "2024-02-30T02:00:00Z"}, "scheduled_time", "Datetime has wrong format."),
        ({"scheduled_time": 1705370400}, "scheduled_time", "Datetime has wrong format."),
        ({"scheduled_time": "2024-01-16T02:00:00"}, "scheduled_time", "Timezone information is required"),
        (
            {"scheduled_time": "2024-01-14T02:00:00Z"},
            "scheduled_time",
            "Scheduled time must be in the future.",
        ),
        ({"parameters": ["restart"]}, "parameters", 'Expected a dictionary of items but got type "list".'),
    ],
)
async def test_bad_fields_are_400_with_drf_messages(
    world: World, http: httpx.AsyncClient, change: dict[str, Any], field: str, message: str
) -> None:
    response = await http.post(world.api, json=json.loads(DOC_POST_BODY) | change)
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field]
    assert body[field][0].startswith(message)


async def test_missing_fields_are_all_reported(world: World, http: httpx.AsyncClient) -> None:
    response = await http.post(world.api, json={"parameters": {}})
    assert response.status_code == 400
    assert response.json() == {
        "device_serial": ["This field is required."],
        "operation_type": ["This field is required."],
        "scheduled_time": ["This field is required."],
    }


async def test_malformed_json_and_non_objects_are_400(world: World, http: httpx.AsyncClient) -> None:
    broken = await http.post(world.api, content=b'{"device_serial": ', headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["detail"].startswith("JSON parse error")
    listed = await http.post(world.api, json=[json.loads(DOC_POST_BODY)])
    assert listed.status_code == 400
    assert listed.json() == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}


async def test_the_documented_data_parameter_is_understood(world: World, http: httpx.AsyncClient) -> None:
    """The docs call the body a ``data`` string parameter; both readings of that are accepted."""
    as_form = await http.post(world.api, data={"data": DOC_POST_BODY})
    as_wrapper = await http.post(world.api, json={"data": DOC_POST_BODY})
    assert as_form.status_code == as_wrapper.status_code == 201
    assert as_form.json()["parameters"] == {"config_profile": "production_v2", "restart_required": True}


async def test_optional_parameters_and_offsets(world: World, http: httpx.AsyncClient) -> None:
    body = {
        "device_serial": "SN123456789",
        "operation_type": "reboot",
        "scheduled_time": "2024-01-15T20:00:00-06:00",
    }
    response = await http.post(world.api, json=body)
    assert response.status_code == 201
    assert response.json()["scheduled_time"] == "2024-01-16T02:00:00Z"
    assert response.json()["parameters"] == {}


async def test_update_status_values_and_delay(world_factory: Callable[..., World]) -> None:
    world = world_factory(refresh_delay=1.0)  # long enough that a local GET without it is clearly shorter
    op_id = world.create()
    async with httpx.AsyncClient(headers=AUTH) as http:
        started = time.perf_counter()
        await get_op(http, world, op_id, update_status="1")
        assert time.perf_counter() - started >= 1.0
        started = time.perf_counter()
        await get_op(http, world, op_id, update_status="false")
        assert time.perf_counter() - started < 0.9, "update_status=false must not wait for the device"
        bad = await http.get(world.api, params={"id": op_id, "update_status": "maybe"})
    assert bad.status_code == 400 and bad.json() == {"update_status": ["Must be a valid boolean."]}


# --- pagination ---------------------------------------------------------------------------------------------


async def test_drf_page_number_pagination(world: World, http: httpx.AsyncClient) -> None:
    ids = [world.create(timedelta(hours=n + 1)) for n in range(10)]
    first = (await http.get(world.api, params={"page_size": "3"})).json()
    assert first["count"] == 10 and first["previous"] is None
    assert [op["id"] for op in first["results"]] == ids[:3]
    assert first["next"] == f"{world.api}?page_size=3&page=2"
    second = (await http.get(first["next"])).json()
    assert second["previous"] == f"{world.api}?page_size=3"  # DRF drops page=1
    seen, page = [], first
    while True:
        seen += [op["id"] for op in page["results"]]
        if page["next"] is None:
            break
        page = (await http.get(page["next"])).json()
    assert seen == ids
    assert page["previous"] == f"{world.api}?page_size=3&page=3"
    out_of_range = await http.get(world.api, params={"page_size": "3", "page": "5"})
    assert out_of_range.status_code == 404 and out_of_range.json() == {"detail": "Invalid page."}


async def test_configured_page_size_paginates_every_list(world_factory: Callable[..., World]) -> None:
    world = world_factory(page_size=4, preseed_operations=10)
    async with httpx.AsyncClient(headers=AUTH) as http:
        body = (await http.get(world.api)).json()
    assert body["count"] == 10 and len(body["results"]) == 4 and body["next"].endswith("?page=2")


# --- lifecycle ----------------------------------------------------------------------------------------------


def test_lifecycle_scheduled_in_progress_completed() -> None:
    state = SimulatorState(SimulatorConfig(token=TOKEN, failure_rate=0.0, run_seconds=120), clock=ManualClock(START))
    op = state.create_operation(DOCUMENTED_SERIAL, "reboot", START + timedelta(minutes=10))
    assert state.status_of(op) == "scheduled"
    state.advance(599)
    assert state.status_of(op) == "scheduled"
    state.advance(1)
    assert state.status_of(op) == "in_progress"
    state.advance(119)
    assert state.status_of(op) == "in_progress"
    state.advance(1)
    assert state.status_of(op) == "completed"
    state.advance(86400)
    assert state.status_of(op) == "completed"


def test_outcomes_follow_the_failure_rate() -> None:
    state = SimulatorState(SimulatorConfig(token=TOKEN, failure_rate=0.3), clock=ManualClock(START))
    ops = [state.create_operation(DOCUMENTED_SERIAL, "reboot", START) for _ in range(400)]
    state.advance(state.config.run_seconds)
    outcomes = Counter(state.status_of(op) for op in ops)
    assert set(outcomes) == {"completed", "failed"}
    assert 0.2 < outcomes["failed"] / 400 < 0.4
    never = SimulatorState(SimulatorConfig(token=TOKEN, failure_rate=1.0), clock=ManualClock(START))
    doomed = never.create_operation(DOCUMENTED_SERIAL, "reboot", START)
    never.advance(never.config.run_seconds)
    assert never.status_of(doomed) == "failed"


async def test_offline_device_pending_then_expired_over_http(world: World, http: httpx.AsyncClient) -> None:
    world.state.set_device_online(DOCUMENTED_SERIAL, False)
    op_id = world.create(timedelta(seconds=60))
    advance = f"{world.url}/_simulator/advance"
    assert (await http.post(advance, json={"seconds": 60})).json()["now"] == "2024-01-15T11:31:00Z"
    assert (await get_op(http, world, op_id))["status"] == "pending"
    await http.post(advance, json={"seconds": 599})
    assert (await get_op(http, world, op_id))["status"] == "pending"
    await http.post(advance, json={"seconds": 1})
    result = await get_op(http, world, op_id, update_status="true")
    assert result["status"] == "expired"
    assert result["device_status"]["online"] is False
    assert result["device_status"]["last_seen"] <= "2024-01-15T11:30:00Z"  # offline since the pin
    world.state.set_device_online(DOCUMENTED_SERIAL, True)
    world.state.advance(10)
    assert (await get_op(http, world, op_id))["status"] == "expired"  # never goes back


def test_a_device_back_online_in_time_runs_the_operation() -> None:
    state = SimulatorState(SimulatorConfig(token=TOKEN, failure_rate=0.0), clock=ManualClock(START))
    state.set_device_online(DOCUMENTED_SERIAL, False)
    op = state.create_operation(DOCUMENTED_SERIAL, "reboot", START + timedelta(seconds=10))
    state.advance(300)
    assert state.status_of(op) == "pending"
    state.set_device_online(DOCUMENTED_SERIAL, True)
    state.advance(1)
    assert state.status_of(op) == "in_progress"
    state.advance(state.config.run_seconds)
    assert state.status_of(op) == "completed"


def test_status_never_goes_back_even_if_the_clock_does() -> None:
    clock = ManualClock(START)
    state = SimulatorState(SimulatorConfig(token=TOKEN), clock=clock)
    op = state.create_operation(DOCUMENTED_SERIAL, "reboot", START)
    clock.advance(30)
    assert state.status_of(op) == "in_progress"
    clock.set(START - timedelta(hours=1))
    assert state.status_of(op) == "in_progress"


def test_a_completed_firmware_update_changes_the_firmware() -> None:
    state = SimulatorState(SimulatorConfig(token=TOKEN, failure_rate=0.0), clock=ManualClock(START))
    op = state.create_operation(
        DOCUMENTED_SERIAL, "firmware_update", START + timedelta(minutes=1), {"target_version": "2.0.0"}
    )
    assert state.refresh_device(DOCUMENTED_SERIAL)["firmware_version"] == "1.2.3"
    state.advance(60 + state.config.run_seconds)
    assert state.refresh_device(DOCUMENTED_SERIAL)["firmware_version"] == "2.0.0"
    assert state.status_of(op) == "completed"


def test_plain_reads_see_the_last_poll_not_the_truth() -> None:
    state = SimulatorState(SimulatorConfig(token=TOKEN, poll_interval=300), clock=ManualClock(START))
    device = state.devices[DOCUMENTED_SERIAL]
    assert state.cached_device_status(device)["online"] is True
    state.set_device_online(DOCUMENTED_SERIAL, False)
    state.advance(60)  # 11:31, the last poll was at 11:30
    assert state.cached_device_status(device)["online"] is True
    state.advance(240)  # 11:35, the helpers polled again
    assert state.cached_device_status(device)["online"] is False


def test_devices_drift_deterministically() -> None:
    config = SimulatorConfig(token=TOKEN, offline_rate=0.3, extra_devices=10)
    state = SimulatorState(config, clock=ManualClock(START))
    serials = [serial for serial in state.devices if serial != DOCUMENTED_SERIAL]
    assert len(serials) == 10 and all(re.match(r"^SN\d{9}$", serial) for serial in serials)
    assert any(device.timezone for device in state.devices.values())
    day = [START.timestamp() + minutes * 60 for minutes in range(0, 24 * 60, 5)]
    for serial in serials:
        device = state.devices[serial]
        online = [state.online_at(device, ts) for ts in day]
        assert 0.4 < sum(online) / len(online) < 0.95, serial  # mostly online, sometimes not
        seen = [state.last_seen(device, ts) for ts in day]
        assert all(seen_at <= ts for seen_at, ts in zip(seen, day, strict=True))
        assert seen == sorted(seen)  # last_seen only moves forward
    assert all(state.online_at(state.devices[DOCUMENTED_SERIAL], ts) for ts in day)


def test_the_same_seed_gives_the_same_world() -> None:
    def run(seed: int) -> tuple[Any, ...]:
        state = SimulatorState(
            SimulatorConfig(token=TOKEN, seed=seed, preseed_operations=300), clock=ManualClock(START)
        )
        devices = [(d.serial, d.firmware_version, d.timezone) for d in state.devices.values()]
        timeline = []
        for _ in range(6):
            timeline.append([state.render(op) for op in state.order])
            state.advance(900)
        return devices, timeline

    first = run(42)
    assert first == run(42)
    assert first[0] != run(7)[0]
    statuses = Counter(op["status"] for op in first[1][0])
    assert {"scheduled", "in_progress", "completed", "failed"} <= set(statuses)


async def test_ten_thousand_operations_list(world_factory: Callable[..., World]) -> None:
    """10,000 operations in one answer (how fast: benchmarks/bench_notifier.py, never a timed assertion)."""
    world = world_factory(preseed_operations=10_000)
    async with httpx.AsyncClient(headers=AUTH, timeout=30) as http:
        response = await http.get(world.api)
    assert response.status_code == 200
    assert response.json()["count"] == 10_000 and len(response.json()["results"]) == 10_000


# --- faults and admin ---------------------------------------------------------------------------------------


async def test_faults_over_http_and_admin_is_never_faulty(world: World, http: httpx.AsyncClient) -> None:
    faults = f"{world.url}/_simulator/faults"
    assert (await http.get(faults)).json()["error_rate"] == 0.0
    changed = await http.put(faults, json={"error_rate": 1.0})
    assert changed.status_code == 200 and changed.json()["error_rate"] == 1.0
    assert world.state.faults.error_rate == 1.0
    broken = await http.get(world.api)
    assert broken.status_code == 500 and "Server Error (500)" in broken.text
    assert (await http.get(f"{world.url}/_simulator/devices")).status_code == 200
    bad = await http.put(faults, json={"error_rate": 2})
    assert bad.status_code == 400
    await http.put(faults, json={"error_rate": 0, "reject_token": True})
    assert (await http.get(world.api)).json() == {"detail": "Invalid token."}
    assert (await http.get(faults)).status_code == 200  # admin accepts the real token anyway
    await http.put(faults, json={"reject_token": False, "malformed": True})
    malformed = await http.get(world.api)
    assert malformed.status_code == 200
    with pytest.raises(ValueError):
        malformed.json()
    async with httpx.AsyncClient() as anonymous:
        assert (await anonymous.get(faults)).status_code == 401


async def test_latency_hang_and_dropped_connections(world: World, http: httpx.AsyncClient) -> None:
    world.state.faults.latency = 0.2
    started = time.perf_counter()
    assert (await http.get(world.api)).status_code == 200
    assert time.perf_counter() - started >= 0.2
    world.state.faults.latency = 0
    world.state.faults.hang = True
    with pytest.raises(httpx.ReadTimeout):
        await http.get(world.api, timeout=0.2)
    world.state.faults.hang = False
    world.state.faults.close_connection = True
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        await http.get(world.api)
    world.state.faults.close_connection = False
    assert (await http.get(world.api)).status_code == 200


async def test_error_rate_is_a_reproducible_fraction(world_factory: Callable[..., World]) -> None:
    world = world_factory(error_rate=0.5)
    async with httpx.AsyncClient(headers=AUTH) as http:
        codes = [(await http.get(world.api)).status_code for _ in range(60)]
    assert set(codes) == {200, 500} and 15 < codes.count(500) < 45
    assert world.state.hits["GET"] == 60


async def test_admin_devices_and_forced_status(world: World, http: httpx.AsyncClient) -> None:
    devices = (await http.get(f"{world.url}/_simulator/devices")).json()
    assert devices["count"] == 21
    assert devices["results"][0]["serial"] == DOCUMENTED_SERIAL
    pinned = await http.put(f"{world.url}/_simulator/devices/{DOCUMENTED_SERIAL}", json={"online": False})
    assert pinned.status_code == 200
    assert world.state.online_at(world.state.devices[DOCUMENTED_SERIAL], world.state.now_ts()) is False
    op_id = world.create()
    forced = await http.post(f"{world.url}/_simulator/operations/{op_id}/status", json={"status": "cancelled"})
    assert forced.status_code == 200 and forced.json()["status"] == "cancelled"
    assert (await get_op(http, world, op_id))["status"] == "cancelled"
    missing = await http.post(f"{world.url}/_simulator/operations/txn_1/status", json={"status": "failed"})
    assert missing.status_code == 404
    state = (await http.get(f"{world.url}/_simulator/state")).json()
    assert state["operations"] == 1 and state["now"] == "2024-01-15T11:30:00Z"


async def test_admin_removes_an_operation_from_the_answers_and_restores_it(
    world: World, http: httpx.AsyncClient
) -> None:
    first, second, third = (world.create(timedelta(hours=n)) for n in range(1, 4))
    removed = await http.delete(f"{world.url}/_simulator/operations/{second}")
    assert removed.status_code == 200 and removed.json()["id"] == second
    body = (await http.get(world.api)).json()
    assert body["count"] == 2 and [op["id"] for op in body["results"]] == [first, third]
    assert (await http.get(world.api, params={"id": second})).status_code == 404
    assert (await http.delete(f"{world.url}/_simulator/operations/{second}")).status_code == 404
    assert (await http.post(f"{world.url}/_simulator/operations/{first}/restore")).status_code == 404  # not removed
    restored = await http.post(f"{world.url}/_simulator/operations/{second}/restore")
    assert restored.status_code == 200 and restored.json()["id"] == second
    assert [op["id"] for op in (await http.get(world.api)).json()["results"]] == [first, second, third]
    assert (await get_op(http, world, second))["id"] == second


def test_run_simulator_prints_a_demo_token_that_works() -> None:
    port = free_port()
    code = f"from bot.simulator import run_simulator; run_simulator({port}, None, refresh_delay=0.0)"
    command = [sys.executable, "-c", code]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
        try:
            assert process.stdout is not None
            banner = "".join(process.stdout.readline() for _ in range(8))
            token = re.search(r"demo token: (\S+)", banner)
            assert token is not None, banner
            assert f'curl -H "Authorization: Bearer {token.group(1)}"' in banner
            url = f"http://127.0.0.1:{port}{API_PATH}"
            deadline = time.monotonic() + 10
            while True:
                try:
                    response = httpx.get(url, headers={"Authorization": f"Bearer {token.group(1)}"})
                    break
                except httpx.ConnectError:
                    assert time.monotonic() < deadline, "the simulator did not start"
                    time.sleep(0.05)
            assert response.status_code == 200 and response.json()["count"] == 0
        finally:
            process.terminate()
            process.wait(timeout=10)
