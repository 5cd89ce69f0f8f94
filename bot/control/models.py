"""Typed shapes of the Control API's operations, and what their statuses mean.

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

#: Statuses the API documents or the simulator produces, in lifecycle order (``cancelled`` last: it is a
#: person's decision and can end any non-terminal state).
KNOWN_STATUSES: tuple[str, ...] = (
    "scheduled",
    "pending",
    "in_progress",
    "completed",
    "failed",
    "expired",
    "cancelled",
)

#: Statuses after which an operation never changes again: watchers stop polling, notifiers announce the end.
TERMINAL_STATUSES: tuple[str, ...] = (
    "completed",
    "succeeded",
    "success",
    "done",
    "failed",
    "error",
    "expired",
    "aborted",
    "timed_out",
    "timeout",
    "rejected",
    "cancelled",
    "canceled",
)

#: Terminal statuses that mean "the operation did not do its job", which is what people get paged about.
#: ``cancelled`` is deliberately *not* a failure: somebody chose it, so it is terminal but not alarming.
#: ``expired`` *is* a failure: the device never came online in time and the work was not done.
FAILURE_STATUSES: tuple[str, ...] = (
    "failed",
    "error",
    "expired",
    "aborted",
    "timed_out",
    "timeout",
    "rejected",
)

# Substrings that mark a status the bot has never seen as a failure (e.g. "firmware_error",
# "aborted_by_device").
_FAILURE_WORDS: tuple[str, ...] = ("fail", "error", "expire", "abort", "timeout", "timed_out", "reject")


def normalize_status(status: str | None) -> str:
    """``" In-Progress "`` → ``"in_progress"``: how statuses are compared, whatever the API's spelling."""
    return str(status or "").strip().casefold().replace("-", "_").replace(" ", "_")


def is_failure(status: str | None) -> bool:
    """Did the operation end badly? Known failure statuses, plus any unknown status that *sounds* like one.

    The heuristic exists so a new failure status from the API still reaches the on-call people instead of
    being silently treated as "still running".
    """
    key = normalize_status(status)
    return key in FAILURE_STATUSES or any(word in key for word in _FAILURE_WORDS)


def is_terminal(status: str | None) -> bool:
    """Will the operation never change again? Known terminal statuses, and anything :func:`is_failure` flags.

    An unknown status that does not look like a failure counts as *not* terminal: polling a little too long is
    cheaper than announcing an end that has not happened.
    """
    key = normalize_status(status)
    return key in TERMINAL_STATUSES or is_failure(key)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


_fromisoformat = datetime.fromisoformat


def _parse_utc_text(value: Any) -> Any:
    """Fast path of the API's own time format, run before pydantic's parser: a ``str`` shaped exactly
    ``YYYY-MM-DDTHH:MM:SS[.f…]`` (1 to 6 fraction digits) ending in ``Z`` or ``+00:00`` becomes an aware UTC
    ``datetime`` here (``datetime.fromisoformat``, in C); anything else (other shapes and offsets, naive
    times, numbers, ``datetime`` objects, garbage, a date that does not exist) is handed on untouched, so
    pydantic parses and rejects it exactly as before and ``_utc_after`` normalises the result.

    The shape check matters: ``fromisoformat`` alone accepts forms pydantic refuses (week dates, the basic
    format, any separator instead of ``T``); within this shape the two agree (``tests/test_control_models.py``
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
ApiTime = Annotated[datetime, BeforeValidator(_parse_utc_text), AfterValidator(_utc_after)]


class DeviceStatus(BaseModel):
    """What the API last knew about a device; every field may be missing (``None``) in a real answer."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    online: bool | None = None
    last_seen: ApiTime | None = None
    firmware_version: str | None = None


class Operation(BaseModel):
    """One headless operation as the API returns it (GET results, POST 201 body).

    ``device_status`` is absent from the POST answer and present on GET; ``created_at`` and ``parameters`` may
    be missing from older records. Numeric ids are accepted and turned into strings. Use :func:`is_terminal`
    and :func:`is_failure` on ``status`` (no properties here: with ``extra="allow"`` a property could shadow a
    field the API adds later).
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
    "FAILURE_STATUSES",
    "KNOWN_STATUSES",
    "TERMINAL_STATUSES",
    "CreateOperationRequest",
    "DeviceStatus",
    "Operation",
    "format_api_time",
    "is_failure",
    "is_terminal",
    "normalize_status",
]
