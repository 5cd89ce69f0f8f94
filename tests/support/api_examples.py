"""The Control API reference's own examples (``shared/reference/control-api.txt``), once, for the tests that read
or serve them: the operation of its GET example, and that GET answer."""

from __future__ import annotations

from typing import Any

#: The operation of the reference's ``GET /inventory_device_serial_headless_operation/?id=txn_12345`` example.
DOCUMENTED_OPERATION: dict[str, Any] = {
    "id": "txn_12345",
    "device_serial": "SN123456789",
    "operation_type": "firmware_update",
    "status": "scheduled",
    "scheduled_time": "2024-01-15T10:30:00Z",
    "created_at": "2024-01-14T14:22:00Z",
    "device_status": {"online": True, "last_seen": "2024-01-15T09:45:00Z", "firmware_version": "1.2.3"},
}

#: That GET answer, whole.
DOCUMENTED_GET_RESPONSE: dict[str, Any] = {"count": 1, "results": [DOCUMENTED_OPERATION]}
