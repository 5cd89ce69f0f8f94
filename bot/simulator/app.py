"""The simulator's HTTP face: the Control API's two endpoints, faithfully, plus admin endpoints for tests.

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
* ``POST /_simulator/operations/{id}/status {"status": "..."|null}`` forces (or un-forces) a status.
* ``DELETE /_simulator/operations/{id}`` takes an operation out of the API's answers (as if deleted);
  ``POST /_simulator/operations/{id}/restore`` puts it back.
* ``GET /_simulator/state`` → now, counts, and API hits by method.

Choices where the documentation is silent, made to catch client bugs early: a naive ``scheduled_time`` is
refused (real DRF would assume the server's zone), as is one more than ``past_grace`` seconds in the past.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import math
import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.simulator.config import Faults, SimulatorConfig
from bot.simulator.state import SimulatorState, iso

API_PREFIX = "/api/v1"
ENDPOINT = "inventory_device_serial_headless_operation/"
API_PATH = f"{API_PREFIX}/{ENDPOINT}"
ADMIN_PREFIX = "/_simulator"

_NO_CREDENTIALS = {"detail": "Authentication credentials were not provided."}
_BAD_TOKEN = {"detail": "Invalid token."}
_SERVER_ERROR_HTML = b'\n<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n'  # noqa: E501 - Django's page, verbatim
_MALFORMED_BODY = b'{"count": 1, "results": [{"id": "txn_'
_TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "off", "f", "n", ""})
_MAX_CHARS = 64

# Django's parse_datetime grammar: date, T or space, time, optional fraction, optional zone.
_DATETIME = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})[T ]"
    r"(?P<hour>\d{1,2}):(?P<minute>\d{1,2})(?::(?P<second>\d{1,2})(?:[.,](?P<fraction>\d{1,6})\d{0,6})?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_DATETIME_FORMAT_ERROR = (
    "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)


def _json(data: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(data, status_code=status_code, headers=headers)


def _auth_problem(request: Request, state: SimulatorState) -> JSONResponse | None:
    """DRF's TokenAuthentication answers for a missing or wrong ``Authorization: Bearer`` header."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.strip().partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="api"'}
    if not header or scheme.casefold() != "bearer":
        return _json(_NO_CREDENTIALS, 401, challenge)
    if not hmac.compare_digest(credentials.strip().encode(), state.config.token.encode()):
        return _json(_BAD_TOKEN, 401, challenge)
    return None


def _state(request: Request) -> SimulatorState:
    return request.app.state.simulator  # type: ignore[no-any-return]


# --- API -----------------------------------------------------------------------------------------------


async def api_endpoint(request: Request) -> Response:
    """The one documented path: GET lists or looks up, POST creates."""
    state = _state(request)
    problem = _auth_problem(request, state)
    if problem is not None:
        return problem
    if request.method == "POST":
        return await _create(request, state)
    return await _read(request, state)


def _parse_bool(value: str | None) -> bool | None:
    if value is None:
        return False
    key = value.strip().casefold()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    return None


def _positive_int(value: str | None) -> int | None:
    try:
        number = int(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and number > 0 else None


async def _read(request: Request, state: SimulatorState) -> Response:
    params = request.query_params
    update = _parse_bool(params.get("update_status"))
    if update is None:
        return _json({"update_status": ["Must be a valid boolean."]}, 400)
    op_id = (params.get("id") or "").strip()
    if op_id:
        op = state.operations.get(op_id)
        if op is None:
            return _json({"detail": "Transaction not found."}, 404)
        if update:
            await asyncio.sleep(state.config.refresh_delay)
            state.refresh_device(op.device_serial)
        return _json({"count": 1, "results": [state.render(op)]})

    if update:
        await asyncio.sleep(state.config.refresh_delay)
        for serial in state.devices:
            state.refresh_device(serial)
    operations = list(state.order)
    ts = state.now_ts()
    cache: dict[str, dict[str, Any]] = {}
    size = _positive_int(params.get("page_size")) or state.config.page_size
    if size is None:
        return _json({"count": len(operations), "results": [state.render(op, ts, cache) for op in operations]})

    size = min(size, state.config.max_page_size)
    pages = max(1, math.ceil(len(operations) / size))
    page = _positive_int(params.get("page") or "1")
    if page is None or page > pages:
        return _json({"detail": "Invalid page."}, 404)
    chunk = operations[(page - 1) * size : page * size]
    url = request.url
    next_url = str(url.include_query_params(page=page + 1)) if page < pages else None
    if page <= 1:
        previous_url = None
    elif page == 2:
        previous_url = str(url.remove_query_params("page"))
    else:
        previous_url = str(url.include_query_params(page=page - 1))
    return _json(
        {
            "count": len(operations),
            "next": next_url,
            "previous": previous_url,
            "results": [state.render(op, ts, cache) for op in chunk],
        }
    )


async def _request_data(request: Request) -> tuple[Any, JSONResponse | None]:
    """The body as the API understands it: JSON, or the documented ``data`` field holding a JSON string."""
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().casefold()
    if content_type == "application/x-www-form-urlencoded":
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        if "data" not in form:
            return None, _json({"data": ["This field is required."]}, 400)
        body = form["data"][0].encode()
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, _json({"detail": f"JSON parse error - {exc}"}, 400)
    if isinstance(data, dict) and set(data) == {"data"} and isinstance(data["data"], str):
        try:
            data = json.loads(data["data"])
        except ValueError as exc:
            return None, _json({"data": [f"JSON parse error - {exc}"]}, 400)
    if not isinstance(data, dict):
        kind = {list: "list", str: "str", int: "int", float: "float", bool: "bool"}.get(type(data), "NoneType")
        return None, _json({"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]}, 400)
    return data, None


def _char_field(data: dict[str, Any], name: str, errors: dict[str, list[str]]) -> str:
    """DRF CharField: required, not null, strings (numbers are coerced), not blank, at most 64 characters."""
    if name not in data:
        errors[name] = ["This field is required."]
        return ""
    value = data[name]
    if value is None:
        errors[name] = ["This field may not be null."]
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors[name] = ["Not a valid string."]
        return ""
    text = str(value).strip()
    if not text:
        errors[name] = ["This field may not be blank."]
    elif len(text) > _MAX_CHARS:
        errors[name] = [f"Ensure this field has no more than {_MAX_CHARS} characters."]
    return text


def _parse_datetime(value: Any) -> datetime | str:
    """An aware datetime, or the DRF-style message saying what is wrong with ``value``."""
    if not isinstance(value, str):
        return _DATETIME_FORMAT_ERROR
    match = _DATETIME.match(value.strip())
    if match is None:
        return _DATETIME_FORMAT_ERROR
    parts = match.groupdict()
    zone: timezone | None = None
    if parts["tz"] == "Z":
        zone = UTC
    elif parts["tz"]:
        sign = -1 if parts["tz"][0] == "-" else 1
        digits = parts["tz"][1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
        zone = timezone(sign * timedelta(minutes=minutes))
    try:
        moment = datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"]),
            int(parts["minute"]),
            int(parts["second"] or 0),
            int((parts["fraction"] or "0").ljust(6, "0")),
            tzinfo=zone,
        )
    except ValueError:
        return _DATETIME_FORMAT_ERROR
    if zone is None:
        return "Timezone information is required, e.g. 2024-01-16T02:00:00Z."
    return moment


async def _create(request: Request, state: SimulatorState) -> Response:
    data, problem = await _request_data(request)
    if problem is not None:
        return problem
    errors: dict[str, list[str]] = {}
    serial = _char_field(data, "device_serial", errors)
    operation_type = _char_field(data, "operation_type", errors)

    scheduled: datetime | None = None
    if "scheduled_time" not in data:
        errors["scheduled_time"] = ["This field is required."]
    elif data["scheduled_time"] is None:
        errors["scheduled_time"] = ["This field may not be null."]
    else:
        parsed = _parse_datetime(data["scheduled_time"])
        if isinstance(parsed, str):
            errors["scheduled_time"] = [parsed]
        elif parsed < state.now() - timedelta(seconds=state.config.past_grace):
            errors["scheduled_time"] = ["Scheduled time must be in the future."]
        else:
            scheduled = parsed

    parameters = data.get("parameters", {})
    if parameters is None:
        errors["parameters"] = ["This field may not be null."]
    elif not isinstance(parameters, dict):
        kind = type(parameters).__name__
        errors["parameters"] = [f'Expected a dictionary of items but got type "{kind}".']

    if errors:
        return _json(errors, 400)
    if serial not in state.devices:
        return _json({"detail": "Device serial number not found."}, 404)
    assert scheduled is not None  # no errors means it parsed
    op = state.create_operation(serial, operation_type, scheduled, parameters)
    return _json(state.render_created(op), 201)


# --- admin ---------------------------------------------------------------------------------------------


AdminHandler = Callable[[Request, SimulatorState], Awaitable[Response]]


def _admin(handler: AdminHandler) -> Callable[[Request], Awaitable[Response]]:
    """Bearer-protected (by the configured token, ignoring ``reject_token``), JSON errors for bad bodies."""

    async def endpoint(request: Request) -> Response:
        state = _state(request)
        problem = _auth_problem(request, state)
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
            return _json({"detail": "Expected a JSON object of fault fields."}, 400)
        try:
            state.faults = Faults.model_validate({**state.faults.model_dump(), **data})
        except ValidationError as exc:
            return _json({"detail": exc.errors(include_url=False, include_context=False)}, 400)
    return _json(state.faults.model_dump())


async def admin_advance(request: Request, state: SimulatorState) -> Response:
    """Move the simulator's clock forward by ``{"seconds": N}``."""
    data = await _json_object(request)
    seconds = None if data is None else data.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        return _json({"seconds": ["A number of seconds >= 0 is required."]}, 400)
    return _json({"now": iso(state.advance(float(seconds)).timestamp())})


async def admin_devices(request: Request, state: SimulatorState) -> Response:
    """The inventory, with each device's true status and what the API currently reports."""
    devices = state.describe_devices()
    return _json({"count": len(devices), "results": devices})


async def admin_device(request: Request, state: SimulatorState) -> Response:
    """Pin a device online or offline from now on: ``{"online": true|false|null}``."""
    serial = request.path_params["serial"]
    data = await _json_object(request)
    if data is None or "online" not in data or data["online"] not in (True, False, None):
        return _json({"online": ["true, false or null is required."]}, 400)
    if serial not in state.devices:
        return _json({"detail": "Device serial number not found."}, 404)
    state.set_device_online(serial, data["online"])
    return _json({"serial": serial, "online": data["online"], "since": iso(state.now_ts())})


async def admin_operation_status(request: Request, state: SimulatorState) -> Response:
    """Force an operation's status (any string; null returns it to its lifecycle)."""
    op_id = request.path_params["op_id"]
    data = await _json_object(request)
    status = None if data is None else data.get("status", ...)
    if status is ... or not (status is None or (isinstance(status, str) and status.strip())):
        return _json({"status": ["A non-empty string or null is required."]}, 400)
    if op_id not in state.operations:
        return _json({"detail": "Transaction not found."}, 404)
    return _json(state.render(state.force_status(op_id, status)))


async def admin_operation(request: Request, state: SimulatorState) -> Response:
    """Take an operation out of the API's answers (as if deleted or archived)."""
    op_id = request.path_params["op_id"]
    if op_id not in state.operations:
        return _json({"detail": "Transaction not found."}, 404)
    return _json(state.render(state.remove_operation(op_id)))


async def admin_operation_restore(request: Request, state: SimulatorState) -> Response:
    """Put an operation taken out by ``DELETE /_simulator/operations/{id}`` back in the API's answers."""
    op_id = request.path_params["op_id"]
    if op_id not in state.removed:
        return _json({"detail": "No removed operation with this id."}, 404)
    return _json(state.render(state.restore_operation(op_id)))


async def admin_state(request: Request, state: SimulatorState) -> Response:
    """Now, how much there is, and how many API requests arrived (for tests and benchmarks)."""
    return _json(
        {
            "now": iso(state.now_ts()),
            "devices": len(state.devices),
            "operations": len(state.operations),
            "hits": dict(state.hits),
            "faults": state.faults.model_dump(),
        }
    )


# --- faults --------------------------------------------------------------------------------------------


class FaultInjection:
    """ASGI middleware breaking requests to the API path according to ``state.faults`` (see ``Faults``).

    Written as raw ASGI because two faults need the connection itself: ``hang`` waits for the client to go
    away, ``close_connection`` drops the socket without a response.
    """

    def __init__(self, app: ASGIApp, state: SimulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        app = scope.get("app")
        state: SimulatorState = getattr(getattr(app, "state", None), "simulator", self.state)
        state.hits[scope["method"]] += 1
        faults = state.faults
        if faults.latency:
            await asyncio.sleep(faults.latency)
        if faults.hang:
            replay = await self._hang(receive, state.config.hang_seconds)
            if replay is None:
                return  # the client gave up, as it should
            receive = replay
        if faults.close_connection:
            await self._drop(send)
            return
        if faults.error_rate and state.fault_random.random() < faults.error_rate:
            await Response(_SERVER_ERROR_HTML, 500, media_type="text/html")(scope, receive, send)
            return
        if faults.reject_token:
            await JSONResponse(_BAD_TOKEN, 401, headers={"WWW-Authenticate": 'Bearer realm="api"'})(
                scope, receive, send
            )
            return
        if faults.malformed and _auth_problem(Request(scope), state) is None:
            await Response(_MALFORMED_BODY, 200, media_type="application/json")(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _hang(receive: Receive, seconds: float) -> Receive | None:
        """Hold the request until the client disconnects (→ None) or ``hang_seconds`` pass (→ a receive that
        replays what was read meanwhile, so the request is then served normally, only very late)."""
        buffered: list[Message] = []

        async def until_disconnect() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                buffered.append(message)

        try:
            await asyncio.wait_for(until_disconnect(), seconds)
        except TimeoutError:
            pass
        else:
            return None

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        return replay

    @staticmethod
    async def _drop(send: Send) -> None:
        """Abort the TCP connection. uvicorn's ``send`` is a method of its request cycle, which holds the
        transport; elsewhere, start a response and stop mid-body, which clients also see as a dropped
        connection."""
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is not None and hasattr(transport, "abort"):
            transport.abort()
            for _ in range(3):  # let uvicorn notice the disconnect, so it does not try to answer 500
                await asyncio.sleep(0)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
            }
        )
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b'{"count": ', "more_body": True})


# --- the app -----------------------------------------------------------------------------------------------


async def _not_found(request: Request, exc: Exception) -> Response:
    return _json({"detail": "Not found."}, 404)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return _json({"detail": f'Method "{request.method}" not allowed.'}, 405)


async def _http_error(request: Request, exc: Exception) -> Response:
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    return _json({"detail": str(getattr(exc, "detail", "Error"))}, code)


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
        Route(f"{ADMIN_PREFIX}/faults", _admin(admin_faults), methods=["GET", "PUT", "PATCH"]),
        Route(f"{ADMIN_PREFIX}/advance", _admin(admin_advance), methods=["POST"]),
        Route(f"{ADMIN_PREFIX}/devices", _admin(admin_devices), methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/devices/{{serial}}", _admin(admin_device), methods=["PUT", "PATCH"]),
        Route(f"{ADMIN_PREFIX}/operations/{{op_id}}/status", _admin(admin_operation_status), methods=["POST"]),
        Route(f"{ADMIN_PREFIX}/operations/{{op_id}}", _admin(admin_operation), methods=["DELETE"]),
        Route(f"{ADMIN_PREFIX}/operations/{{op_id}}/restore", _admin(admin_operation_restore), methods=["POST"]),
        Route(f"{ADMIN_PREFIX}/state", _admin(admin_state), methods=["GET"]),
    ]
    handlers: MutableMapping[Any, Any] = {404: _not_found, 405: _method_not_allowed, HTTPException: _http_error}
    app = SimulatorApp(routes=routes, exception_handlers=handlers)
    app.state.simulator = state
    return app
