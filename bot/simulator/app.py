"""The simulator's HTTP face: the Control API's two endpoints, faithfully, plus admin endpoints for tests.

This module is the routing table and the app; the endpoints live in ``bot.simulator.api`` (the documented
API and its validation), ``bot.simulator.admin`` (``/_simulator``) and ``bot.simulator.faults`` (the
middleware that breaks API requests on purpose).

API (exactly as documented, under ``/api/v1/`` so ``CONTROL_API_URL=http://127.0.0.1:PORT/api/v1``; the path
also works without its trailing slash):

* ``GET /api/v1/inventory_device_serial_headless_operation/`` → ``200 {"count": N, "results": [...]}``;
  ``?id=txn_...`` → that one operation or ``404 {"detail": "Transaction not found."}``;
  ``?update_status=true`` (true/false/1/0/yes/no/on/off) → device status refreshed, after ``refresh_delay``;
  DRF page-number pagination (``?page=N``, absolute ``next``/``previous`` links) when the configuration has a
  ``page_size`` or the request asks with ``?page_size=``.
* ``POST`` the same path with the documented JSON body → ``201`` with the documented keys; unknown serial →
  ``404 {"detail": "Device serial number not found."}``; bad JSON or fields → ``400`` with DRF-style
  messages (``{"field": ["message"]}``). The documented ``data`` parameter is also accepted as a form field
  (``data=<json>``) or a JSON ``{"data": "<json>"}`` wrapper, the two ways a client might read the docs.
* No or wrong token → ``401 {"detail": "Authentication credentials were not provided."}`` /
  ``{"detail": "Invalid token."}`` with ``WWW-Authenticate: Bearer``, like DRF.

Admin (same Bearer token, never subject to faults):

* ``GET /_simulator/faults`` / ``PUT`` (or ``PATCH``) ``/_simulator/faults`` with any subset of the fields of
  ``Faults`` (merged into the current ones).
* ``POST /_simulator/advance {"seconds": N}`` → ``{"now": ...}``.
* ``GET /_simulator/devices``; ``PUT /_simulator/devices/{serial} {"online": true|false|null}`` pins a device.
* ``POST /_simulator/operations/{id}/status {"status": "..."|null}`` forces (or un-forces) a status;
  ``POST /_simulator/operations/statuses {"statuses": {id: "..."|null, ...}}`` many at once (benchmarks change 5 %
  of a million operations in one request), answering the statuses they had before.
* ``DELETE /_simulator/operations/{id}`` takes an operation out of the API's answers (as if deleted);
  ``POST /_simulator/operations/{id}/restore`` puts it back.
* ``GET /_simulator/state`` → now, counts, and API hits by method.

Choices where the documentation is silent are listed in ``bot.simulator.api``.
"""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from bot.simulator.admin import (
    ADMIN_PREFIX,
    admin_advance,
    admin_device,
    admin_devices,
    admin_faults,
    admin_operation,
    admin_operation_restore,
    admin_operation_status,
    admin_operation_statuses,
    admin_state,
    protected,
)
from bot.simulator.api import API_PATH, API_PREFIX, ENDPOINT, api_endpoint, json_response
from bot.simulator.config import SimulatorConfig
from bot.simulator.faults import FaultInjection
from bot.simulator.state import SimulatorState


async def _not_found(request: Request, exc: Exception) -> Response:
    return json_response({"detail": "Not found."}, 404)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return json_response({"detail": f'Method "{request.method}" not allowed.'}, 405)


async def _http_error(request: Request, exc: Exception) -> Response:
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    return json_response({"detail": str(getattr(exc, "detail", "Error"))}, code)


class SimulatorApp(Starlette):
    """Starlette with ``FaultInjection`` outside even its error middleware, so the fault layer gets the
    server's own ``send`` (needed to abort the connection) and no Starlette layer can answer for it."""

    def build_middleware_stack(self) -> ASGIApp:
        return FaultInjection(super().build_middleware_stack(), self.state.simulator)


def create_app(config: SimulatorConfig | None = None, *, state: SimulatorState | None = None) -> Starlette:
    """The simulator as an ASGI app. Pass ``state`` to drive it from Python (clock, faults, devices).

    With neither argument, a default configuration with a random token (``app.state.simulator.config.token``).
    The app always serves ``app.state.simulator``, so a test suite can keep one server running and give each
    test a fresh world by assigning a new ``SimulatorState`` there.
    """
    if state is None:
        state = SimulatorState(config or SimulatorConfig(token=secrets.token_urlsafe(16)))
    elif config is not None and config is not state.config:
        raise ValueError("pass either config or state (whose config is used), not both")
    methods = ["GET", "POST"]
    routes = [
        Route(API_PATH, api_endpoint, methods=methods),
        Route(API_PATH.rstrip("/"), api_endpoint, methods=methods),
        Route(f"{ADMIN_PREFIX}/faults", protected(admin_faults), methods=["GET", "PUT", "PATCH"]),
        Route(f"{ADMIN_PREFIX}/advance", protected(admin_advance), methods=["POST"]),
        Route(f"{ADMIN_PREFIX}/devices", protected(admin_devices), methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/devices/{{serial}}", protected(admin_device), methods=["PUT", "PATCH"]),
        Route(f"{ADMIN_PREFIX}/operations/statuses", protected(admin_operation_statuses), methods=["POST"]),
        Route(f"{ADMIN_PREFIX}/operations/{{op_id}}/status", protected(admin_operation_status), methods=["POST"]),
        Route(f"{ADMIN_PREFIX}/operations/{{op_id}}", protected(admin_operation), methods=["DELETE"]),
        Route(f"{ADMIN_PREFIX}/operations/{{op_id}}/restore", protected(admin_operation_restore), methods=["POST"]),
        Route(f"{ADMIN_PREFIX}/state", protected(admin_state), methods=["GET"]),
    ]
    handlers: MutableMapping[Any, Any] = {404: _not_found, 405: _method_not_allowed, HTTPException: _http_error}
    app = SimulatorApp(routes=routes, exception_handlers=handlers)
    app.state.simulator = state
    return app


__all__ = ["ADMIN_PREFIX", "API_PATH", "API_PREFIX", "ENDPOINT", "FaultInjection", "SimulatorApp", "create_app"]
