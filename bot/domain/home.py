"""What the App Home shows that is no request or rollout record: an operation as the notifier last recorded it.

The home is rendered from the bot's own database only (no Control API call), so an operation there is the
notifier's known state (``operation_states``), as fresh as its last poll.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class KnownOperation(BaseModel):
    """One operation as the notifier last recorded it."""

    model_config = ConfigDict(frozen=True)

    operation_id: str
    device_serial: str
    operation_type: str
    status: str
    scheduled_time: datetime
    updated_at: datetime


__all__ = ["KnownOperation"]
