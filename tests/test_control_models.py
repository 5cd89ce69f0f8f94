"""The Control API models: lenient on what comes in, strict on what goes out, statuses that mean something."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.control.errors import (
    ControlApiError,
    ControlApiUnavailable,
    DeviceNotFound,
    InvalidRequest,
    OperationNotFound,
    Unauthorized,
)
from bot.control.models import (
    FAILURE_STATUSES,
    KNOWN_STATUSES,
    TERMINAL_STATUSES,
    CreateOperationRequest,
    Operation,
    is_failure,
    is_terminal,
)

DOC_GET_RESULT = {
    "id": "txn_12345",
    "device_serial": "SN123456789",
    "operation_type": "firmware_update",
    "status": "scheduled",
    "scheduled_time": "2024-01-15T10:30:00Z",
    "created_at": "2024-01-14T14:22:00Z",
    "device_status": {"online": True, "last_seen": "2024-01-15T09:45:00Z", "firmware_version": "1.2.3"},
}


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
