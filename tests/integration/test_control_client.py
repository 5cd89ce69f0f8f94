"""The Control API client against real HTTP: the simulator served by uvicorn, and tiny pathological servers.

Nothing here mocks httpx: every call crosses a real socket, so timeouts, refused connections and dropped
connections are the real thing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import __version__
from bot.control import (
    ControlApiClient,
    ControlApiError,
    ControlApiUnavailable,
    CreateOperationRequest,
    DeviceNotFound,
    InvalidRequest,
    Operation,
    OperationNotFound,
    Unauthorized,
    UnexpectedAnswer,
)
from bot.simulator import ManualClock, SimulatorConfig, SimulatorState
from bot.slackkit.servers import ThreadedServer, free_port, serve_asgi
from tests.support.harness import serve_simulator

TOKEN = "s3cr3t-Token-9f8e7d"
START = datetime(2024, 1, 15, 11, 30, tzinfo=UTC)  # the documentation's created_at
PATH = "/api/v1/inventory_device_serial_headless_operation/"
DOC_BODY = {
    "device_serial": "SN123456789",
    "operation_type": "configuration_update",
    "scheduled_time": "2024-01-16T02:00:00Z",
    "parameters": {"config_profile": "production_v2", "restart_required": True},
}


def doc_request(**changes: Any) -> CreateOperationRequest:
    data: dict[str, Any] = {**DOC_BODY, "scheduled_time": datetime(2024, 1, 16, 2, tzinfo=UTC), **changes}
    return CreateOperationRequest(**data)


class Sim:
    """The simulator on a real port with a fresh state for this test, and clients for it."""

    def __init__(self, app: Starlette, server: ThreadedServer, **config: Any) -> None:
        config.setdefault("refresh_delay", 0.05)
        self.state = SimulatorState(SimulatorConfig(token=TOKEN, **config), clock=ManualClock(START))
        app.state.simulator = self.state  # the app serves whatever state it holds now
        self.server = server
        self.base_url = server.url + "/api/v1"

    def client(self, token: str = TOKEN, **options: Any) -> ControlApiClient:
        options.setdefault("backoff_base", 0.01)
        options.setdefault("timeout", 3.0)
        return ControlApiClient(self.base_url, token, **options)


@pytest.fixture(scope="module")
def sim_server() -> Iterator[tuple[Starlette, ThreadedServer]]:
    """One simulator server for the module (starting uvicorn per test would dominate the run time)."""
    with serve_simulator(TOKEN) as running:
        yield running


@pytest.fixture
def simulate(sim_server: tuple[Starlette, ThreadedServer]) -> Callable[..., Sim]:
    return lambda **config: Sim(*sim_server, **config)


@pytest.fixture
def sim(simulate: Callable[..., Sim]) -> Sim:
    return simulate()


Handler = Callable[[Request], Awaitable[Response]]


@pytest.fixture(scope="module")
def tiny_server() -> Iterator[tuple[list[Handler], str]]:
    handlers: list[Handler] = []

    async def endpoint(request: Request) -> Response:
        return await handlers[-1](request)

    app = Starlette(routes=[Route(PATH, endpoint, methods=["GET", "POST"])])
    with serve_asgi(app) as server:
        yield handlers, server.url + "/api/v1"


@pytest.fixture
def tiny(tiny_server: tuple[list[Handler], str]) -> Callable[[Handler], str]:
    """Serve ``handler`` on the API path of a tiny app; returns the base URL to give the client."""
    handlers, base_url = tiny_server

    def start(handler: Handler) -> str:
        handlers.append(handler)
        return base_url

    return start


def op_json(op_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": op_id,
        "device_serial": "SN123456789",
        "operation_type": "reboot",
        "status": "scheduled",
        "scheduled_time": "2024-01-16T02:00:00Z",
        "created_at": "2024-01-15T11:30:00Z",
        **extra,
    }


# --- reading -------------------------------------------------------------------------------------------


async def test_list_returns_every_operation_in_order(simulate: Callable[..., Sim]) -> None:
    sim = simulate(preseed_operations=12)
    async with sim.client() as client:
        operations = await client.list_operations()
    assert [op.id for op in operations] == [op.id for op in sim.state.order]
    assert all(isinstance(op, Operation) and op.scheduled_time.tzinfo is UTC for op in operations)
    assert all(op.device_status is not None and op.device_status.online is not None for op in operations)


async def test_get_by_id_matches_what_was_created(sim: Sim) -> None:
    async with sim.client() as client:
        created = await client.create_operation(doc_request())
        fetched = await client.get_operation(created.id)
    assert fetched.id == created.id
    assert fetched.status == "scheduled"
    assert fetched.scheduled_time == datetime(2024, 1, 16, 2, tzinfo=UTC)
    assert fetched.parameters == DOC_BODY["parameters"]
    assert fetched.device_status is not None
    assert fetched.device_status.firmware_version == "1.2.3"


async def test_get_follows_the_lifecycle_as_time_passes(simulate: Callable[..., Sim]) -> None:
    sim = simulate(failure_rate=0.0, run_seconds=120)
    async with sim.client() as client:
        created = await client.create_operation(doc_request(scheduled_time=START + timedelta(minutes=5)))
        assert (await client.get_operation(created.id)).status == "scheduled"
        sim.state.advance(300)
        assert (await client.get_operation(created.id)).status == "in_progress"
        sim.state.advance(120)
        assert (await client.get_operation(created.id)).status == "completed"


async def test_update_status_refreshes_the_device_status(sim: Sim) -> None:
    """A plain GET shows what the API last polled; update_status=true asks the device now (and is slow)."""
    async with sim.client() as client:
        created = await client.create_operation(doc_request())
        assert (await client.get_operation(created.id)).device_status.online is True  # type: ignore[union-attr]
        sim.state.set_device_online("SN123456789", False)
        sim.state.advance(30)
        cached = await client.get_operation(created.id)
        assert cached.device_status is not None and cached.device_status.online is True
        started = time.perf_counter()
        fresh = await client.get_operation(created.id, update_status=True)
        assert time.perf_counter() - started >= 0.05  # the simulated device query
    assert fresh.device_status is not None and fresh.device_status.online is False


async def test_refresh_gets_the_longer_read_timeout(simulate: Callable[..., Sim]) -> None:
    sim = simulate(refresh_delay=0.4)
    sim.state.create_operation("SN123456789", "reboot", START + timedelta(hours=1))
    async with sim.client(timeout=0.15, refresh_timeout=3.0) as client:
        refreshed = await client.get_operation("txn_10000", update_status=True)
    assert refreshed.id == "txn_10000"


async def test_a_refresh_that_times_out_is_not_retried(simulate: Callable[..., Sim]) -> None:
    sim = simulate(refresh_delay=0.5)
    sim.state.create_operation("SN123456789", "reboot", START + timedelta(hours=1))
    async with sim.client(timeout=3.0, refresh_timeout=0.1, max_retries=3) as client:
        with pytest.raises(ControlApiUnavailable, match="timed out"):
            await client.get_operation("txn_10000", update_status=True)
    assert sim.state.hits["GET"] == 1


async def test_unknown_fields_and_unknown_statuses_are_kept(sim: Sim) -> None:
    sim.state.create_operation("SN123456789", "reboot", START + timedelta(hours=1))
    sim.state.force_status("txn_10000", "quarantined_by_ops")
    async with sim.client() as client:
        operation = await client.get_operation("txn_10000")
    assert operation.status == "quarantined_by_ops"


async def test_extra_fields_survive_parsing(tiny: Callable[[Handler], str]) -> None:
    async def handler(request: Request) -> Response:
        record = op_json(
            "txn_1",
            status="awaiting_window",
            priority="high",
            device_status={"online": True, "timezone": "America/Costa_Rica", "battery": 80},
        )
        return JSONResponse({"count": 1, "results": [record]})

    async with ControlApiClient(tiny(handler), TOKEN) as client:
        operation = await client.get_operation("txn_1")
    assert operation.status == "awaiting_window"
    assert operation.model_extra == {"priority": "high"}
    assert operation.device_status is not None
    assert operation.device_status.model_extra == {"timezone": "America/Costa_Rica", "battery": 80}
    assert operation.device_status.last_seen is None


async def test_not_found_on_get_is_operation_not_found(sim: Sim) -> None:
    async with sim.client() as client:
        with pytest.raises(OperationNotFound) as caught:
            await client.get_operation("txn_404")
    assert caught.value.operation_id == "txn_404"
    assert caught.value.status_code == 404
    assert sim.state.hits["GET"] == 1  # 4xx is never retried


async def test_empty_results_is_operation_not_found(tiny: Callable[[Handler], str]) -> None:
    async def handler(request: Request) -> Response:
        return JSONResponse({"count": 0, "results": []})

    async with ControlApiClient(tiny(handler), TOKEN) as client:
        with pytest.raises(OperationNotFound):
            await client.get_operation("txn_1")


async def test_bare_lists_and_single_objects_are_accepted(tiny: Callable[[Handler], str]) -> None:
    answers: list[Any] = [[op_json("txn_1"), op_json("txn_2")], op_json("txn_3")]

    async def handler(request: Request) -> Response:
        return JSONResponse(answers.pop(0))

    async with ControlApiClient(tiny(handler), TOKEN) as client:
        assert [op.id for op in await client.list_operations()] == ["txn_1", "txn_2"]
        assert [op.id for op in await client.list_operations()] == ["txn_3"]


async def test_an_unreadable_record_is_skipped_not_fatal(tiny: Callable[[Handler], str]) -> None:
    async def handler(request: Request) -> Response:
        return JSONResponse({"count": 2, "results": [op_json("txn_1"), {"id": "txn_2", "status": "scheduled"}]})

    async with ControlApiClient(tiny(handler), TOKEN) as client:
        assert [op.id for op in await client.list_operations()] == ["txn_1"]


async def test_a_list_of_nothing_recognisable_is_an_error(tiny: Callable[[Handler], str]) -> None:
    async def handler(request: Request) -> Response:
        return JSONResponse({"count": 1, "results": [{"unexpected": True}]})

    async with ControlApiClient(tiny(handler), TOKEN) as client:
        with pytest.raises(ControlApiUnavailable):
            await client.list_operations()


# --- pagination ----------------------------------------------------------------------------------------


async def test_pagination_is_followed_to_the_end(simulate: Callable[..., Sim]) -> None:
    sim = simulate(preseed_operations=11, page_size=3)
    async with sim.client() as client:
        operations = await client.list_operations()
    assert [op.id for op in operations] == [op.id for op in sim.state.order]
    assert len(operations) == 11
    assert sim.state.hits["GET"] == 4  # 3 + 3 + 3 + 2


async def test_a_next_link_that_loops_is_refused(tiny: Callable[[Handler], str]) -> None:
    hits: list[str] = []

    async def handler(request: Request) -> Response:
        hits.append(str(request.url))
        page = int(request.query_params.get("page", "1"))
        following = str(request.url.include_query_params(page=1 if page == 2 else 2))
        return JSONResponse({"count": 4, "next": following, "previous": None, "results": [op_json(f"txn_{page}")]})

    async with ControlApiClient(tiny(handler), TOKEN) as client:
        with pytest.raises(ControlApiUnavailable, match="loops"):
            await client.list_operations()
    assert len(hits) == 3  # first page, page 2, page 1 again → loop detected before a fourth request


async def test_endless_pagination_stops_at_the_page_cap(tiny: Callable[[Handler], str]) -> None:
    hits: list[int] = []

    async def handler(request: Request) -> Response:
        page = int(request.query_params.get("page", "1"))
        hits.append(page)
        following = str(request.url.include_query_params(page=page + 1))
        return JSONResponse({"count": 10**6, "next": following, "results": [op_json(f"txn_{page}")]})

    async with ControlApiClient(tiny(handler), TOKEN, page_cap=5) as client:
        with pytest.raises(ControlApiUnavailable, match="more than 5 pages"):
            await client.list_operations()
    assert hits == [1, 2, 3, 4, 5]


async def test_a_next_link_on_another_host_keeps_the_token_home(tiny: Callable[[Handler], str]) -> None:
    """DRF behind a proxy builds next links with its internal host; only their query is followed."""
    seen: list[tuple[str, str | None]] = []

    async def handler(request: Request) -> Response:
        seen.append((request.url.netloc, request.query_params.get("page")))
        if request.query_params.get("page") == "2":
            return JSONResponse({"count": 2, "next": None, "results": [op_json("txn_2")]})
        foreign = f"http://internal-web:8000{PATH}?page=2"
        return JSONResponse({"count": 2, "next": foreign, "results": [op_json("txn_1")]})

    base = tiny(handler)
    async with ControlApiClient(base, TOKEN) as client:
        assert [op.id for op in await client.list_operations()] == ["txn_1", "txn_2"]
    assert seen == [(httpx.URL(base).netloc.decode(), None), (httpx.URL(base).netloc.decode(), "2")]


async def test_a_record_repeated_across_pages_is_returned_once(tiny: Callable[[Handler], str]) -> None:
    async def handler(request: Request) -> Response:
        if request.query_params.get("page") == "2":
            return JSONResponse({"count": 3, "next": None, "results": [op_json("txn_2", status="completed")]})
        following = str(request.url.include_query_params(page=2))
        return JSONResponse({"count": 3, "next": following, "results": [op_json("txn_1"), op_json("txn_2")]})

    async with ControlApiClient(tiny(handler), TOKEN) as client:
        operations = await client.list_operations()
    assert [(op.id, op.status) for op in operations] == [("txn_1", "scheduled"), ("txn_2", "completed")]


# --- creating ------------------------------------------------------------------------------------------


async def test_create_answers_201_with_the_operation(sim: Sim) -> None:
    async with sim.client() as client:
        created = await client.create_operation(doc_request())
    assert created.id == "txn_10000"
    assert created.status == "scheduled"
    assert created.created_at == START
    assert created.device_status is None  # the POST answer has none, as documented
    assert created.parameters == DOC_BODY["parameters"]
    assert sim.state.operations["txn_10000"].parameters == DOC_BODY["parameters"]


async def test_create_sends_exactly_the_documented_json_and_headers(tiny: Callable[[Handler], str]) -> None:
    received: dict[str, Any] = {}

    async def handler(request: Request) -> Response:
        received["body"] = await request.body()
        received["headers"] = dict(request.headers)
        received["method"] = request.method
        return JSONResponse({"id": "txn_67890", "status": "scheduled", **json.loads(received["body"])}, 201)

    costa_rica = timezone(timedelta(hours=-6))
    request = doc_request(scheduled_time=datetime(2024, 1, 15, 20, 0, 0, 123456, tzinfo=costa_rica))
    async with ControlApiClient(tiny(handler) + "/", TOKEN) as client:  # a trailing slash is fine too
        created = await client.create_operation(request)
    assert received["method"] == "POST"
    assert json.loads(received["body"]) == DOC_BODY  # 20:00:00.123456-06:00 → 2024-01-16T02:00:00Z
    headers = received["headers"]
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json"
    assert headers["user-agent"] == f"headless-bot/{__version__} (+httpx)"
    assert created.id == "txn_67890"


async def test_create_accepts_200_and_fills_gaps_from_the_request(tiny: Callable[[Handler], str]) -> None:
    async def handler(request: Request) -> Response:
        return JSONResponse({"id": 67890}, 200)

    async with ControlApiClient(tiny(handler), TOKEN) as client:
        created = await client.create_operation(doc_request())
    assert created.id == "67890"
    assert created.status == "scheduled"
    assert created.device_serial == "SN123456789"
    assert created.scheduled_time == datetime(2024, 1, 16, 2, tzinfo=UTC)


async def test_400_carries_the_apis_message(sim: Sim) -> None:
    async with sim.client() as client:
        with pytest.raises(InvalidRequest) as caught:
            await client.create_operation(doc_request(scheduled_time=START - timedelta(days=1)))
    assert caught.value.detail == "scheduled_time: Scheduled time must be in the future."
    assert caught.value.status_code == 400
    assert "Scheduled time must be in the future." in str(caught.value)
    assert sim.state.hits["POST"] == 1


async def test_400_from_a_field_the_client_allows_but_the_api_does_not(sim: Sim) -> None:
    async with sim.client() as client:
        with pytest.raises(InvalidRequest, match="no more than 64 characters"):
            await client.create_operation(doc_request(operation_type="x" * 65))


async def test_404_on_create_is_device_not_found(sim: Sim) -> None:
    async with sim.client() as client:
        with pytest.raises(DeviceNotFound) as caught:
            await client.create_operation(doc_request(device_serial="SN000000000"))
    assert caught.value.device_serial == "SN000000000"
    assert sim.state.operations == {}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"detail": "Bad thing."}, "Bad thing."),
        ({"scheduled_time": ["Too early.", "Too odd."]}, "scheduled_time: Too early. Too odd."),
        ({"non_field_errors": ["Nope."]}, "Nope."),
        ("plain words", "plain words"),
        (
            {"parameters": {"restart_required": ["Must be a boolean."]}},
            "parameters: restart_required: Must be",
        ),
    ],
)
async def test_drf_error_shapes_become_one_line(tiny: Callable[[Handler], str], body: Any, expected: str) -> None:
    async def handler(request: Request) -> Response:
        return JSONResponse(body, 400)

    async with ControlApiClient(tiny(handler), TOKEN) as client:
        with pytest.raises(InvalidRequest) as caught:
            await client.create_operation(doc_request())
    assert caught.value.detail.startswith(expected)


# --- failures ------------------------------------------------------------------------------------------


async def test_wrong_token_is_unauthorized(sim: Sim) -> None:
    async with sim.client(token="not-the-token") as client:
        with pytest.raises(Unauthorized) as caught:
            await client.list_operations()
        assert await client.health() == "unauthorized"
    assert caught.value.status_code == 401
    assert sim.state.hits["GET"] == 2  # one list, one health check: never retried


async def test_rejected_token_fault_is_unauthorized(sim: Sim) -> None:
    sim.state.faults.reject_token = True
    async with sim.client() as client:
        with pytest.raises(Unauthorized):
            await client.create_operation(doc_request())


async def test_gets_are_retried_on_500_until_they_succeed(tiny: Callable[[Handler], str]) -> None:
    hits: list[int] = []
    outcomes: list[tuple[str, str]] = []

    async def handler(request: Request) -> Response:
        hits.append(1)
        if len(hits) <= 2:
            return Response("<h1>Server Error (500)</h1>", 500, media_type="text/html")
        return JSONResponse({"count": 1, "results": [op_json("txn_1")]})

    observer = lambda kind, outcome, seconds: outcomes.append((kind, outcome))  # noqa: E731
    async with ControlApiClient(tiny(handler), TOKEN, backoff_base=0.01, observer=observer) as client:
        assert [op.id for op in await client.list_operations()] == ["txn_1"]
    assert len(hits) == 3
    assert outcomes == [("list", "http_500"), ("list", "http_500"), ("list", "ok")]


async def test_retries_are_bounded(sim: Sim) -> None:
    sim.state.faults.error_rate = 1.0
    async with sim.client(max_retries=2) as client:
        with pytest.raises(ControlApiUnavailable) as caught:
            await client.get_operation("txn_10000")
    assert caught.value.status_code == 500
    assert caught.value.outcome_unknown is False
    assert sim.state.hits["GET"] == 3


async def test_post_is_never_retried(sim: Sim) -> None:
    sim.state.faults.error_rate = 1.0
    async with sim.client(max_retries=3) as client:
        with pytest.raises(ControlApiUnavailable) as caught:
            await client.create_operation(doc_request())
    assert sim.state.hits["POST"] == 1
    assert caught.value.outcome_unknown is True  # a 500 may have come after the operation was stored


async def test_a_hanging_api_times_out_quickly(sim: Sim) -> None:
    sim.state.faults.hang = True
    outcomes: list[str] = []
    async with sim.client(timeout=0.2, max_retries=1, observer=lambda k, o, s: outcomes.append(o)) as client:
        started = time.perf_counter()
        with pytest.raises(ControlApiUnavailable, match=r"timed out after 0\.2 s"):
            await client.list_operations()
        assert time.perf_counter() - started < 2.0
    assert outcomes == ["timeout", "timeout"]


async def test_a_create_that_times_out_has_an_unknown_outcome(sim: Sim) -> None:
    sim.state.faults.hang = True
    async with sim.client(timeout=0.2) as client:
        with pytest.raises(ControlApiUnavailable) as caught:
            await client.create_operation(doc_request())
    assert caught.value.outcome_unknown is True
    assert "check before retrying" in str(caught.value)
    assert sim.state.hits["POST"] == 1


async def test_connection_refused_is_unavailable_and_nothing_was_sent() -> None:
    outcomes: list[str] = []
    url = f"http://127.0.0.1:{free_port()}/api/v1"
    observer = lambda kind, outcome, seconds: outcomes.append(outcome)  # noqa: E731
    async with ControlApiClient(url, TOKEN, max_retries=2, backoff_base=0.01, observer=observer) as client:
        with pytest.raises(ControlApiUnavailable, match="connection refused"):
            await client.list_operations()
        with pytest.raises(ControlApiUnavailable) as caught:
            await client.create_operation(doc_request())
        assert await client.health() == "unavailable"
    assert caught.value.outcome_unknown is False  # it never connected, so nothing was created
    assert outcomes == ["connect_error"] * 5  # three list attempts, one create, one health check


async def test_a_dropped_connection_is_unavailable(sim: Sim) -> None:
    sim.state.faults.close_connection = True
    async with sim.client(max_retries=1) as client:
        with pytest.raises(ControlApiUnavailable):
            await client.list_operations()
        with pytest.raises(ControlApiUnavailable) as caught:
            await client.create_operation(doc_request())
    assert caught.value.outcome_unknown is True
    assert sim.state.hits == {"GET": 2, "POST": 1}


async def test_malformed_json_is_unavailable_and_not_retried(sim: Sim) -> None:
    sim.state.faults.malformed = True
    outcomes: list[str] = []
    async with sim.client(observer=lambda k, o, s: outcomes.append(o)) as client:
        with pytest.raises(ControlApiUnavailable, match="not valid JSON") as caught:
            await client.list_operations()
        with pytest.raises(UnexpectedAnswer, match="not valid JSON"):
            await client.get_operation("txn_1")
    assert outcomes == ["malformed", "malformed"]
    assert isinstance(caught.value, UnexpectedAnswer), "it answered: not the same as not answering"
    assert "not answering" not in str(caught.value) and "answered" in str(caught.value)


async def test_an_outage_is_not_an_unexpected_answer(sim: Sim) -> None:
    sim.state.faults.error_rate = 1.0
    async with sim.client(max_retries=0) as client:
        with pytest.raises(ControlApiUnavailable) as caught:
            await client.get_operation("txn_1")
    assert not isinstance(caught.value, UnexpectedAnswer)


async def test_health_reports_ok_and_never_raises(sim: Sim) -> None:
    async with sim.client() as client:
        assert await client.health() == "ok"
        assert await client.ping() is True
        sim.state.faults.error_rate = 1.0
        assert await client.health() == "unavailable"
        sim.state.faults.error_rate = 0.0
        sim.state.faults.malformed = True
        assert await client.health() == "unavailable"


async def test_an_observer_that_raises_breaks_nothing(sim: Sim) -> None:
    def observer(kind: str, outcome: str, seconds: float) -> None:
        raise RuntimeError("metrics backend down")

    async with sim.client(observer=observer) as client:
        assert await client.list_operations() == []


async def test_a_wrong_base_url_says_so(sim: Sim) -> None:
    async with ControlApiClient(sim.server.url + "/api/v2", TOKEN) as client:
        with pytest.raises(ControlApiUnavailable, match="CONTROL_API_URL"):
            await client.list_operations()


# --- secrets -------------------------------------------------------------------------------------------


async def _error(call: Awaitable[Any]) -> ControlApiError:
    try:
        await call
    except ControlApiError as exc:
        return exc
    raise AssertionError("expected a ControlApiError")


async def test_the_token_never_shows(sim: Sim, tiny: Callable[[Handler], str]) -> None:
    async def echo(request: Request) -> Response:
        return JSONResponse({"detail": f"bad header {request.headers['authorization']}"}, 400)

    async with ControlApiClient(tiny(echo), TOKEN) as client:
        echoed = await _error(client.create_operation(doc_request()))
        text = repr(client) + str(client)
    assert isinstance(echoed, InvalidRequest) and "[redacted]" in echoed.detail
    errors = [echoed]
    faults = sim.state.faults
    async with sim.client() as client, sim.client(timeout=0.1, max_retries=0) as impatient:
        faults.reject_token = True
        errors.append(await _error(client.get_operation("txn_1")))
        faults.reject_token, faults.malformed = False, True
        errors.append(await _error(client.list_operations()))
        faults.malformed, faults.hang = False, True
        errors.append(await _error(impatient.list_operations()))
        faults.hang = False
        errors.append(await _error(client.get_operation("nope")))
        errors.append(await _error(client.create_operation(doc_request(device_serial="SN0"))))
        text += repr(client)
    for exc in errors:
        text += str(exc) + repr(exc) + repr(exc.args) + repr(vars(exc))
    assert TOKEN not in text


def test_bad_configuration_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="http"):
        ControlApiClient("control.zequenze.com/api/v1", TOKEN)
    with pytest.raises(ValueError):
        ControlApiClient("https://control.zequenze.com/api/v1", TOKEN, page_cap=0)


async def test_repr_hides_credentials_in_the_url() -> None:
    async with ControlApiClient("https://user:pw@control.example/api/v1/", TOKEN) as client:
        assert "pw" not in repr(client)
        assert client.endpoint.path == PATH
