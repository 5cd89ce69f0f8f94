"""Typed shapes of the Control API's operations (what their statuses mean is ``bot.domain.statuses``).

The API documents only a handful of fields and statuses, and a real service grows new ones without notice, so
the response models are lenient on purpose: unknown fields are kept (``extra="allow"``, readable as attributes
and via ``model_extra``), ``status`` is a plain string, and only the fields the bot cannot work without are
required. Times are normalised to aware UTC ``datetime`` (a naive time from the API is taken to be UTC, the
documented format being ``...Z``), because everything inside the bot is aware UTC.

The request model is strict instead: the bot should never send something the API would have to guess about.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, field_serializer


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 has no UTC instant: a field error (record skipped), not a crash
        raise ValueError("the time is out of range once converted to UTC") from None


_fromisoformat = datetime.fromisoformat


def parse_utc_text(value: Any) -> Any:
    """Fast path of the API's own time format, run before pydantic's parser: a ``str`` shaped exactly
    ``YYYY-MM-DDTHH:MM:SS[.f…]`` (1 to 6 fraction digits) ending in ``Z`` or ``+00:00`` becomes an aware UTC
    ``datetime`` here (``datetime.fromisoformat``, in C); anything else (other shapes and offsets, naive
    times, numbers, ``datetime`` objects, garbage, a date that does not exist) is handed on untouched, so
    pydantic parses and rejects it exactly as before and ``_utc_after`` normalises the result.

    The shape check matters: ``fromisoformat`` alone accepts forms pydantic refuses (week dates, the basic
    format, any separator instead of ``T``); within this shape the two agree (``tests/unit/test_control_models.py``
    checks it property-based). Saves about half of what validating a listed operation cost.
    """
    if value.__class__ is str and value[4:17:3] == "--T::" and value.isascii():
        if value[-1] == "Z":
            end = len(value) - 1
        elif value.endswith("+00:00"):
            end = len(value) - 6
        else:
            return value
        if end == 19 or (19 < end <= 26 and value[19] == "." and value[20:end].isdigit()):
            try:
                return _fromisoformat(value)  # tzinfo is datetime.UTC for both Z and +00:00
            except ValueError:  # e.g. 2024-02-30: pydantic gives the error
                return value
    return value


def _utc_after(value: datetime) -> datetime:
    """Aware UTC, with ``datetime.UTC`` as ``tzinfo``: naive taken as UTC, other offsets converted."""
    if value.tzinfo is UTC:  # the fast path's result (astimezone would return it unchanged too)
        return value
    return _as_utc(value)  # type: ignore[return-value]


#: A time from the API: any form pydantic's ``datetime`` accepts, normalised to aware UTC (``tzinfo is UTC``);
#: a naive time is taken to be UTC. Two plain function validators, no wrap (a wrap validator's handler costs
#: more than the parse it saves).
ApiTime = Annotated[datetime, BeforeValidator(parse_utc_text), AfterValidator(_utc_after)]


class DeviceStatus(BaseModel):
    """What the API last knew about a device; every field may be missing (``None``) in a real answer."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    online: bool | None = None
    last_seen: ApiTime | None = None
    firmware_version: str | None = None


class Operation(BaseModel):
    """One headless operation as the API returns it (GET results, POST 201 body).

    ``device_status`` is absent from the POST answer and present on GET; ``created_at`` and ``parameters`` may
    be missing from older records. Numeric ids are accepted and turned into strings. Use ``is_terminal`` and
    ``is_failure`` (``bot.domain.statuses``) on ``status`` (no properties here: with ``extra="allow"`` a property
    could shadow a field the API adds later).
    """

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    id: str
    device_serial: str
    operation_type: str
    status: str
    scheduled_time: ApiTime
    created_at: ApiTime | None = None
    device_status: DeviceStatus | None = None
    parameters: dict[str, Any] | None = None


def format_api_time(moment: datetime) -> str:
    """The API's documented time format: UTC, whole seconds, ``Z`` suffix (``2024-01-16T02:00:00Z``).

    Microseconds are dropped (truncated) because the documentation never shows them and a strict parser on the
    other side may refuse them.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive datetime has no defined instant; give it a time zone")
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


class CreateOperationRequest(BaseModel):
    """The body of ``POST /inventory_device_serial_headless_operation/``.

    ``scheduled_time`` must be aware (a naive time is ambiguous by hours, and this is what gets executed on a
    device); it is sent in the documented ``...Z`` form. Unknown keyword arguments are refused
    (``extra="forbid"``) so a typo cannot silently become an extra field in a request that cannot be undone.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    device_serial: str = Field(min_length=1, max_length=128)
    operation_type: str = Field(min_length=1, max_length=128)
    scheduled_time: AwareDatetime
    parameters: dict[str, Any] = Field(default_factory=dict)

    @field_serializer("scheduled_time", when_used="json")
    def _api_time(self, value: datetime) -> str:
        return format_api_time(value)


__all__ = [
    "CreateOperationRequest",
    "DeviceStatus",
    "Operation",
    "format_api_time",
    "parse_utc_text",
]
