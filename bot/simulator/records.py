"""What the simulator's world is made of: devices and the operations scheduled on them (plain records; how they
behave over time is ``bot.simulator.state``'s)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

OPERATION_TYPES = ("firmware_update", "configuration_update", "reboot", "diagnostics", "factory_reset")


@dataclass(slots=True, eq=False)
class SimDevice:
    """One device of the inventory and what the simulator knows about it."""

    serial: str
    firmware_version: str
    timezone: str | None
    phase: float
    always_online: bool = False
    # (since, online) pins set by tests; online=None returns the device to its drift. Sorted by ``since``.
    overrides: list[tuple[float, bool | None]] = field(default_factory=list)
    # (at, version) firmware changes made by completed firmware updates. Sorted by ``at``.
    firmware_changes: list[tuple[float, str]] = field(default_factory=list)
    snapshot: dict[str, Any] | None = None
    snapshot_at: float = -math.inf
    active_ops: list[SimOperation] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class SimOperation:
    """One operation; ``status`` is the furthest lifecycle state reached so far (read it via the state)."""

    id: str
    device_serial: str
    operation_type: str
    scheduled_at: float
    created_at: float
    parameters: dict[str, Any]
    scheduled_text: str
    created_text: str
    status: str = "scheduled"
    forced: str | None = None
    started_at: float | None = None
    scanned_until: float | None = None
    ended_at: float | None = None


__all__ = ["OPERATION_TYPES", "SimDevice", "SimOperation"]
