"""The Control API models: lenient on what comes in, strict on what goes out, statuses that mean something."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError, field_validator

from bot.control.errors import (
    ControlApiError,
    ControlApiUnavailable,
    DeviceNotFound,
    InvalidRequest,
    OperationNotFound,
    Unauthorized,
)
from bot.control.models import CreateOperationRequest, DeviceStatus, Operation
from bot.domain.statuses import FAILURE_STATUSES, KNOWN_STATUSES, TERMINAL_STATUSES, is_failure, is_terminal
from tests.support.api_examples import DOCUMENTED_OPERATION

DOC_GET_RESULT = DOCUMENTED_OPERATION


def test_the_documented_get_result_parses() -> None:
    op = Operation.model_validate(DOC_GET_RESULT)
    assert op.scheduled_time == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert op.device_status is not None
    assert op.device_status.last_seen == datetime(2024, 1, 15, 9, 45, tzinfo=UTC)
    assert op.parameters is None
    assert not is_terminal(op.status) and not is_failure(op.status)


def test_times_are_normalised_to_aware_utc() -> None:
    op = Operation.model_validate(
        {**DOC_GET_RESULT, "scheduled_time": "2024-01-15T04:30:00-06:00", "created_at": "2024-01-14T14:22:00"}
    )
    assert op.scheduled_time == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert op.scheduled_time.tzinfo is UTC
    assert op.created_at == datetime(2024, 1, 14, 14, 22, tzinfo=UTC)  # naive from the API: taken as UTC


class _Reference(BaseModel):
    """How API times were validated before the fast path: pydantic's own parser, then to aware UTC."""

    moment: datetime | None = None

    @field_validator("moment")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _outcome(value: object) -> tuple[str, object]:
    """``("ok", aware UTC datetime)`` or ``("error", error type)`` for ``value`` as ``scheduled_time``,
    ``created_at`` and ``device_status.last_seen`` (all three must agree)."""
    record = {**DOC_GET_RESULT, "scheduled_time": value, "created_at": value, "device_status": {"last_seen": value}}
    try:
        op = Operation.model_validate(record)
    except ValidationError as exc:
        types = {(error["loc"], error["type"]) for error in exc.errors()}
        assert {loc for loc, _ in types} == {("scheduled_time",), ("created_at",), ("device_status", "last_seen")}
        assert len({kind for _, kind in types}) == 1
        return "error", types.pop()[1]
    assert op.device_status is not None
    moments = {op.scheduled_time, op.created_at, op.device_status.last_seen}
    assert len(moments) == 1
    assert all(
        m is not None and m.tzinfo is UTC for m in (op.scheduled_time, op.created_at, op.device_status.last_seen)
    )
    return "ok", op.scheduled_time


def _reference(value: object) -> tuple[str, object]:
    try:
        return "ok", _Reference(moment=value).moment  # type: ignore[arg-type]
    except ValidationError as exc:
        return "error", exc.errors()[0]["type"]


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [
        ("2024-01-15T10:30:00Z", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),  # the documented form (fast path)
        ("2024-01-15T10:30:00+00:00", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),  # fast path
        ("2024-01-15T10:30:00.123456Z", datetime(2024, 1, 15, 10, 30, 0, 123456, tzinfo=UTC)),  # fast path
        ("2024-01-15T10:30:00.5+00:00", datetime(2024, 1, 15, 10, 30, 0, 500000, tzinfo=UTC)),  # fast path
        ("2024-01-15T16:00:00+05:30", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),  # converted
        ("2024-01-15T04:30:00-06:00", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        ("2024-01-15T10:30:00-00:00", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        ("2024-01-15T10:30:00", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),  # naive: taken as UTC
        ("2024-01-15 10:30:00Z", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),  # pydantic's forms still work
        ("2024-01-15t10:30:00z", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        ("2024-01-15T10:30Z", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        ("2024-01-15T10:30:00.1234567Z", datetime(2024, 1, 15, 10, 30, 0, 123456, tzinfo=UTC)),
        ("2024-01-15T10:30:00,5+00:00", datetime(2024, 1, 15, 10, 30, 0, 500000, tzinfo=UTC)),
        ("2024-01-15", datetime(2024, 1, 15, tzinfo=UTC)),
        (1705314600, datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),  # Unix time
        ("1705314600", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        (datetime(2024, 1, 15, 10, 30), datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),  # naive object
        (datetime(2024, 1, 15, 16, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
         datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_api_times_become_aware_utc(given_value: object, expected: datetime) -> None:
    outcome = _outcome(given_value)
    assert outcome == ("ok", expected)
    assert outcome == _reference(given_value)


@pytest.mark.parametrize(
    "garbage",
    [
        "garbage",
        "",
        "2024-02-30T10:30:00Z",  # the fast path's shape, a day that does not exist
        "2024-01-15T24:00:00Z",
        "2024-01-15T23:59:60Z",
        "0000-01-01T00:00:00Z",
        "2024-W03-1T10:30:00Z",  # forms datetime.fromisoformat accepts and pydantic does not
        "20240115T103000.12Z",
        "2024-01-15X10:30:00Z",
        "2024-01-15T10:30:00.Z",
        "２０２４-01-15T10:30:00Z",
        [2024, 1, 15],
        {"when": "now"},
    ],
)
def test_api_times_that_are_not_times_are_refused_as_before(garbage: object) -> None:
    outcome = _outcome(garbage)
    assert outcome[0] == "error"
    assert outcome == _reference(garbage)


def test_absent_times_stay_none_where_allowed() -> None:
    op = Operation.model_validate({**DOC_GET_RESULT, "created_at": None, "device_status": {"last_seen": None}})
    assert op.created_at is None and op.device_status is not None and op.device_status.last_seen is None
    assert DeviceStatus.model_validate({}).last_seen is None
    with pytest.raises(ValidationError) as caught:
        Operation.model_validate({**DOC_GET_RESULT, "scheduled_time": None})
    assert caught.value.errors()[0]["type"] == "datetime_type"


_DIGIT = st.sampled_from("0123456789") | st.sampled_from("0123456789+- :.Tt٣Ⅸ\x00a")
_SEPARATOR = {
    "-": st.just("-") | st.sampled_from("-/ :T"),
    "T": st.just("T") | st.sampled_from("t _:-"),
    ":": st.just(":") | st.sampled_from(":.-T "),
}
_SUFFIX = st.sampled_from(["Z", "+00:00", "z", "-00:00", "+05:30", "-06:00", "", "+0000", "+00", "+24:00", "Z+00:00"])


@st.composite
def _time_texts(draw: st.DrawFn) -> str:
    """Strings of (nearly) the API's shape: where the fast path and pydantic's parser could disagree."""
    shape = "dddd-dd-ddTdd:dd:dd"
    text = "".join(draw(_DIGIT) if c == "d" else draw(_SEPARATOR[c]) for c in shape)
    fraction = draw(st.one_of(st.just(""), st.text(alphabet="0123456789", min_size=0, max_size=8).map(".".__add__)))
    return text + fraction + draw(_SUFFIX)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_time_texts(), st.datetimes(timezones=st.none() | st.timezones()).map(str), st.text(max_size=40)))
def test_the_fast_path_agrees_with_pydantics_parser(text: str) -> None:
    assert _outcome(text) == _reference(text)


def test_unknown_fields_are_kept_and_unknown_statuses_accepted() -> None:
    op = Operation.model_validate({**DOC_GET_RESULT, "status": "waiting_for_window", "priority": 3})
    assert op.status == "waiting_for_window"
    assert op.priority == 3  # type: ignore[attr-defined]
    assert op.model_dump()["priority"] == 3


def test_an_operation_without_its_essentials_is_refused() -> None:
    with pytest.raises(ValidationError):
        Operation.model_validate({"id": "txn_1", "status": "scheduled"})


def test_the_request_serialises_in_the_documented_form() -> None:
    request = CreateOperationRequest(
        device_serial=" SN123456789 ",
        operation_type="configuration_update",
        scheduled_time=datetime(2024, 1, 15, 20, 0, 0, 999999, tzinfo=timezone(timedelta(hours=-6))),
        parameters={"config_profile": "production_v2", "restart_required": True},
    )
    assert request.model_dump(mode="json") == {
        "device_serial": "SN123456789",
        "operation_type": "configuration_update",
        "scheduled_time": "2024-01-16T02:00:00Z",
        "parameters": {"config_profile": "production_v2", "restart_required": True},
    }
    assert (
        CreateOperationRequest(
            device_serial="SN1", operation_type="reboot", scheduled_time=datetime(2024, 1, 16, tzinfo=UTC)
        ).model_dump(mode="json")["parameters"]
        == {}
    )


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2999, 12, 30), timezones=st.timezones()))
def test_any_aware_time_serialises_to_z_and_whole_seconds(moment: datetime) -> None:
    text = CreateOperationRequest(device_serial="SN1", operation_type="reboot", scheduled_time=moment).model_dump(
        mode="json"
    )["scheduled_time"]
    assert text.endswith("Z") and len(text) == 20
    parsed = datetime.fromisoformat(text)
    assert timedelta(0) <= moment - parsed < timedelta(seconds=1)


def test_the_request_refuses_naive_times_blank_fields_and_typos() -> None:
    with pytest.raises(ValidationError):
        CreateOperationRequest(device_serial="SN1", operation_type="reboot", scheduled_time=datetime(2024, 1, 16))
    with pytest.raises(ValidationError):
        CreateOperationRequest(
            device_serial="  ", operation_type="reboot", scheduled_time=datetime(2024, 1, 16, tzinfo=UTC)
        )
    with pytest.raises(ValidationError):
        CreateOperationRequest(
            device_serial="SN1",
            operation_type="reboot",
            scheduled_time=datetime(2024, 1, 16, tzinfo=UTC),
            parameter={"typo": True},  # type: ignore[call-arg]
        )


@pytest.mark.parametrize("status", KNOWN_STATUSES)
def test_known_statuses_are_classified(status: str) -> None:
    assert is_terminal(status) == (status in ("completed", "failed", "expired", "cancelled"))
    assert is_failure(status) == (status in ("failed", "expired"))


def test_every_failure_is_terminal() -> None:
    assert set(FAILURE_STATUSES) <= set(TERMINAL_STATUSES)
    assert not is_failure("cancelled") and is_terminal("cancelled")


@pytest.mark.parametrize(
    ("status", "terminal", "failure"),
    [
        ("Firmware-Error", True, True),
        ("aborted_by_device", True, True),
        ("TIMED OUT", True, True),
        ("upload_timeout", True, True),
        ("Completed", True, False),
        ("awaiting_window", False, False),
        ("", False, False),
    ],
)
def test_unknown_statuses_are_guessed_sensibly(status: str, terminal: bool, failure: bool) -> None:
    assert (is_terminal(status), is_failure(status)) == (terminal, failure)


def test_errors_read_as_sentences_and_carry_their_facts() -> None:
    errors: list[ControlApiError] = [
        Unauthorized(),
        Unauthorized(status_code=403),
        OperationNotFound("txn_1"),
        DeviceNotFound("SN1"),
        InvalidRequest("scheduled_time: Scheduled time must be in the future."),
        ControlApiUnavailable("HTTP 503", status_code=503),
        ControlApiUnavailable("it timed out after 10 s", outcome_unknown=True),
    ]
    for exc in errors:
        text = str(exc)
        assert text[0].isupper() and text.endswith(".") and ".." not in text
    assert errors[2].status_code == 404 and errors[2].operation_id == "txn_1"  # type: ignore[attr-defined]
    assert errors[3].device_serial == "SN1"  # type: ignore[attr-defined]
    assert errors[4].detail.startswith("scheduled_time")  # type: ignore[attr-defined]
    assert errors[5].reason == "HTTP 503" and not errors[5].outcome_unknown  # type: ignore[attr-defined]
    assert "check before retrying" in str(errors[6])
    assert all(isinstance(exc, ControlApiError) for exc in errors)
