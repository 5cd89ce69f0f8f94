"""The simulator's admin endpoints, under ``/_simulator``: how tests and people drive its world over HTTP.

Bearer-protected by the configured token (the same one as the API, ignoring the ``reject_token`` fault) and
never subject to faults: ``FaultInjection`` only breaks requests to the API path. The paths and methods are
listed in ``bot.simulator.app``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from bot.simulator.api import auth_problem, json_response, simulator_state
from bot.simulator.config import Faults
from bot.simulator.state import SimulatorState, iso

ADMIN_PREFIX = "/_simulator"

AdminHandler = Callable[[Request, SimulatorState], Awaitable[Response]]


def protected(handler: AdminHandler) -> Callable[[Request], Awaitable[Response]]:
    """Bearer-protected (by the configured token, ignoring ``reject_token``), JSON errors for bad bodies."""

    async def endpoint(request: Request) -> Response:
        state = simulator_state(request)
        problem = auth_problem(request, state)
        if problem is not None:
            return problem
        return await handler(request, state)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def admin_faults(request: Request, state: SimulatorState) -> Response:
    """GET the injected faults; PUT/PATCH some of them (merged into the current ones)."""
    if request.method in ("PUT", "PATCH"):
        data = await _json_object(request)
        if data is None:
            return json_response({"detail": "Expected a JSON object of fault fields."}, 400)
        try:
            state.faults = Faults.model_validate({**state.faults.model_dump(), **data})
        except ValidationError as exc:
            return json_response({"detail": exc.errors(include_url=False, include_context=False)}, 400)
    return json_response(state.faults.model_dump())


async def admin_advance(request: Request, state: SimulatorState) -> Response:
    """Move the simulator's clock forward by ``{"seconds": N}``."""
    data = await _json_object(request)
    seconds = None if data is None else data.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        return json_response({"seconds": ["A number of seconds >= 0 is required."]}, 400)
    return json_response({"now": iso(state.advance(float(seconds)).timestamp())})


async def admin_devices(request: Request, state: SimulatorState) -> Response:
    """The inventory, with each device's true status and what the API currently reports."""
    devices = state.describe_devices()
    return json_response({"count": len(devices), "results": devices})


async def admin_device(request: Request, state: SimulatorState) -> Response:
    """Pin a device online or offline from now on: ``{"online": true|false|null}``."""
    serial = request.path_params["serial"]
    data = await _json_object(request)
    if data is None or "online" not in data or data["online"] not in (True, False, None):
        return json_response({"online": ["true, false or null is required."]}, 400)
    if serial not in state.devices:
        return json_response({"detail": "Device serial number not found."}, 404)
    state.set_device_online(serial, data["online"])
    return json_response({"serial": serial, "online": data["online"], "since": iso(state.now_ts())})


async def admin_operation_status(request: Request, state: SimulatorState) -> Response:
    """Force an operation's status (any string; null returns it to its lifecycle)."""
    op_id = request.path_params["op_id"]
    data = await _json_object(request)
    status = None if data is None else data.get("status", ...)
    if status is ... or not (status is None or (isinstance(status, str) and status.strip())):
        return json_response({"status": ["A non-empty string or null is required."]}, 400)
    if op_id not in state.operations:
        return json_response({"detail": "Transaction not found."}, 404)
    return json_response(state.render(state.force_status(op_id, status)))


async def admin_operation_statuses(request: Request, state: SimulatorState) -> Response:
    """Force many statuses in one request: ``{"statuses": {"txn_…": "failed" | null, …}}`` → ``{"forced": N,
    "previous": {id: the status the API showed before}}``. All or nothing: an unknown id changes none (404)."""
    data = await _json_object(request)
    statuses = None if data is None else data.get("statuses")
    if not isinstance(statuses, dict) or not all(
        status is None or (isinstance(status, str) and status.strip()) for status in statuses.values()
    ):
        return json_response({"statuses": ["An object of operation id → non-empty string or null is required."]}, 400)
    unknown = [op_id for op_id in statuses if op_id not in state.operations]
    if unknown:
        return json_response({"detail": "Transaction not found.", "unknown": unknown[:20]}, 404)
    ts = state.now_ts()
    previous = {op_id: state.status_of(op_id, ts) for op_id in statuses}
    for op_id, status in statuses.items():
        state.force_status(op_id, status)
    return json_response({"forced": len(statuses), "previous": previous})


async def admin_operation(request: Request, state: SimulatorState) -> Response:
    """Take an operation out of the API's answers (as if deleted or archived)."""
    op_id = request.path_params["op_id"]
    if op_id not in state.operations:
        return json_response({"detail": "Transaction not found."}, 404)
    return json_response(state.render(state.remove_operation(op_id)))


async def admin_operation_restore(request: Request, state: SimulatorState) -> Response:
    """Put an operation taken out by ``DELETE /_simulator/operations/{id}`` back in the API's answers."""
    op_id = request.path_params["op_id"]
    if op_id not in state.removed:
        return json_response({"detail": "No removed operation with this id."}, 404)
    return json_response(state.render(state.restore_operation(op_id)))


async def admin_state(request: Request, state: SimulatorState) -> Response:
    """Now, how much there is, and how many API requests arrived (for tests and benchmarks)."""
    return json_response(
        {
            "now": iso(state.now_ts()),
            "devices": len(state.devices),
            "operations": len(state.operations),
            "hits": dict(state.hits),
            "faults": state.faults.model_dump(),
        }
    )


__all__ = [
    "ADMIN_PREFIX",
    "AdminHandler",
    "admin_advance",
    "admin_device",
    "admin_devices",
    "admin_faults",
    "admin_operation",
    "admin_operation_restore",
    "admin_operation_status",
    "admin_operation_statuses",
    "admin_state",
    "protected",
]
