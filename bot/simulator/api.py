"""The simulator's Control API: the one documented path, its Bearer authentication, and DRF's manners.

* ``GET`` lists (DRF page-number pagination when asked) or looks one operation up (``?id=``), and
  ``?update_status=true`` refreshes device status after ``refresh_delay``.
* ``POST`` creates, validating the body as DRF would (``{"field": ["message"]}`` errors), from JSON, a form
  field ``data=<json>`` or a JSON ``{"data": "<json>"}`` wrapper.
* ``auth_problem`` is DRF's ``TokenAuthentication``; the admin endpoints use it too, with the same token.

Choices where the documentation is silent, made to catch client bugs early: a naive ``scheduled_time`` is
refused (real DRF would assume the server's zone), as is one more than ``past_grace`` seconds in the past.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.simulator.state import SimulatorState

API_PREFIX = "/api/v1"
ENDPOINT = "inventory_device_serial_headless_operation/"
API_PATH = f"{API_PREFIX}/{ENDPOINT}"

NO_CREDENTIALS = {"detail": "Authentication credentials were not provided."}
BAD_TOKEN = {"detail": "Invalid token."}

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


class FastJSONResponse(JSONResponse):
    """``JSONResponse`` encoded by orjson (a page of 1,000 operations in about a millisecond, ~8× the standard
    module): the same compact JSON, UTF-8, keys in insertion order. What orjson refuses (integers beyond 64 bits,
    which a client may send in ``parameters``) falls back to the standard encoder, so every answer stays possible."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            return super().render(content)


def json_response(data: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """Every answer of the simulator (API, admin, errors) is JSON, as DRF's are."""
    return FastJSONResponse(data, status_code=status_code, headers=headers)


def auth_problem(request: Request, state: SimulatorState) -> JSONResponse | None:
    """DRF's TokenAuthentication answers for a missing or wrong ``Authorization: Bearer`` header."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.strip().partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="api"'}
    if not header or scheme.casefold() != "bearer":
        return json_response(NO_CREDENTIALS, 401, challenge)
    if not hmac.compare_digest(credentials.strip().encode(), state.config.token.encode()):
        return json_response(BAD_TOKEN, 401, challenge)
    return None


def simulator_state(request: Request) -> SimulatorState:
    """The world this request is served from: ``app.state.simulator``, which a test may swap between tests."""
    return request.app.state.simulator  # type: ignore[no-any-return]


async def api_endpoint(request: Request) -> Response:
    """The one documented path: GET lists or looks up, POST creates."""
    state = simulator_state(request)
    problem = auth_problem(request, state)
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
        return json_response({"update_status": ["Must be a valid boolean."]}, 400)
    op_id = (params.get("id") or "").strip()
    if op_id:
        op = state.operations.get(op_id)
        if op is None:
            return json_response({"detail": "Transaction not found."}, 404)
        if update:
            await asyncio.sleep(state.config.refresh_delay)
            state.refresh_device(op.device_serial)
        return json_response({"count": 1, "results": [state.render(op)]})

    if update:
        await asyncio.sleep(state.config.refresh_delay)
        for serial in state.devices:
            state.refresh_device(serial)
    # The list is never copied: a page is a slice of it, so a page of 1,000 costs the same among 10 or 1,000,000.
    operations = state.order
    total = len(operations)
    ts = state.now_ts()
    cache: dict[str, dict[str, Any]] = {}
    size = _positive_int(params.get("page_size")) or state.config.page_size
    if size is None:
        return json_response({"count": total, "results": [state.render(op, ts, cache) for op in operations]})

    size = min(size, state.config.max_page_size)
    pages = max(1, math.ceil(total / size))
    page = _positive_int(params.get("page") or "1")
    if page is None or page > pages:
        return json_response({"detail": "Invalid page."}, 404)
    chunk = operations[(page - 1) * size : page * size]
    url = request.url
    next_url = str(url.include_query_params(page=page + 1)) if page < pages else None
    if page <= 1:
        previous_url = None
    elif page == 2:
        previous_url = str(url.remove_query_params("page"))
    else:
        previous_url = str(url.include_query_params(page=page - 1))
    return json_response(
        {
            "count": total,
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
            return None, json_response({"data": ["This field is required."]}, 400)
        body = form["data"][0].encode()
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, json_response({"detail": f"JSON parse error - {exc}"}, 400)
    if isinstance(data, dict) and set(data) == {"data"} and isinstance(data["data"], str):
        try:
            data = json.loads(data["data"])
        except ValueError as exc:
            return None, json_response({"data": [f"JSON parse error - {exc}"]}, 400)
    if not isinstance(data, dict):
        kind = {list: "list", str: "str", int: "int", float: "float", bool: "bool"}.get(type(data), "NoneType")
        return None, json_response({"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]}, 400)
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


_VERSION = re.compile(r"^\d+(\.\d+){1,3}\Z")


def _parameter_errors(operation_type: str, parameters: dict[str, Any]) -> dict[str, list[str]]:
    """What a device would refuse in ``parameters`` (``check_parameters``), per parameter, as DRF nests them."""
    version = parameters.get("target_version")
    if operation_type == "firmware_update" and version is not None:
        if not isinstance(version, str) or not _VERSION.match(version):
            return {"target_version": ["Enter a valid version number, like 1.2.3."]}
    return {}


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
    elif state.config.check_parameters and (refused := _parameter_errors(operation_type, parameters)):
        errors["parameters"] = refused

    if errors:
        return json_response(errors, 400)
    if serial not in state.devices:
        return json_response({"detail": "Device serial number not found."}, 404)
    assert scheduled is not None  # no errors means it parsed
    op = state.create_operation(serial, operation_type, scheduled, parameters)
    return json_response(state.render_created(op), 201)


__all__ = [
    "API_PATH",
    "API_PREFIX",
    "BAD_TOKEN",
    "ENDPOINT",
    "NO_CREDENTIALS",
    "api_endpoint",
    "auth_problem",
    "json_response",
    "simulator_state",
]
