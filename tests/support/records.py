"""Schedule requests as the store takes them, for tests that need one without going through Slack.

``new_request(**overrides)`` is a valid ``NewScheduleRequest`` (two devices, a firmware update two hours after
``T0``, waiting for approval); a test overrides only the fields it is about.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.requests import NewScheduleRequest

T0 = datetime(2030, 1, 6, 12, 0, tzinfo=UTC)


def new_request(**overrides: object) -> NewScheduleRequest:
    fields: dict[str, object] = {
        "requester_id": "UREQ",
        "team_id": "T1",
        "origin_channel_id": "CORIGIN",
        "device_serials": ["SN-1", "SN-2"],
        "operation_type": "firmware_update",
        "scheduled_time": T0 + timedelta(hours=2),
        "parameters": {"firmware": "1.2.3", "nested": {"a": [1, 2]}},
        "requester_tz": "America/Costa_Rica",
        "approval_required": True,
        "state": "pending_approval",
    }
    fields.update(overrides)
    return NewScheduleRequest.model_validate(fields)
