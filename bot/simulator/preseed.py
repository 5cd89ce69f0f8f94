"""Preseeding: a fleet's history of operations created at start (``preseed_operations``), up to 1,000,000.

The operations are spread over the fleet, the past and the future, hence over every status: about a third lie in the
future (``scheduled``), a tenth (at most 1,000) started within the last ``run_seconds`` (``in_progress`` or
``pending``), the rest ended in the past week (``completed``, ``failed``, ``expired``). The cap keeps a large fleet
realistic (a million operations a week start about two a second, so a few hundred run at any moment) and its lists
quiet: ten percent of a million would all end within ``run_seconds`` of the start, a hundred thousand changes.

Built for a benchmark's million in a few seconds and a few hundred MB:

* **History is drawn, not replayed.** An operation that ended before the simulator started gets its outcome from the
  seeded random draw (``expired`` for a share of ``offline_rate²``, then ``failed`` at ``failure_rate``, else
  ``completed``; a completed firmware update changes its device's firmware at its end), instead of walking the
  device's online history lazily on the first read. The first read of a million operations then costs what every
  later one does, and the list stays reproducible from the seed. Operations still running or in the future follow
  the lifecycle of ``bot.simulator.state`` as any created one does.
* **Parameters are shared**: equal parameter dicts are one object (the API never mutates them).
* **Times are formatted with a per-day prefix**, the same text as ``iso()`` at a fraction of its cost.
"""

from __future__ import annotations

import gc
import math
import random
from datetime import UTC, datetime
from typing import Any

from bot.simulator.config import SimulatorConfig
from bot.simulator.records import OPERATION_TYPES, SimDevice, SimOperation

_WEEK = 7 * 24 * 3600.0
_DAY = 86400
_MAX_RUNNING = 1000  # operations preseeded as started within the last run_seconds, at most (see above)
_SECONDS = tuple(f"{second:02d}Z" for second in range(60))
_VERSIONS = tuple(f"{major}.{minor}.{patch}" for major in range(2, 5) for minor in range(10) for patch in range(10))


class IsoFormatter:
    """``iso(ts)`` for many timestamps: the text up to the minute is formatted once per minute."""

    def __init__(self) -> None:
        self._minutes: dict[int, str] = {}

    def __call__(self, ts: float) -> str:
        whole = math.floor(ts)
        minute = whole // 60
        prefix = self._minutes.get(minute)
        if prefix is None:
            prefix = self._minutes[minute] = datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%dT%H:%M:")
        return prefix + _SECONDS[whole - minute * 60]


def preseed(
    config: SimulatorConfig, devices: list[SimDevice], now: float, first_number: int, count: int
) -> list[SimOperation]:
    """``count`` operations numbered from ``txn_<first_number>`` on, in creation order, on ``devices`` at ``now``
    (epoch seconds), reproducible from ``config.seed``: the caller lists them; the devices already know theirs
    (``active_ops``, and the firmware their completed updates installed).

    The cyclic garbage collector is paused meanwhile: a million new objects would trigger full collections that
    traverse all of them again and again (a third of the time), and none of them can be garbage.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _create(config, devices, now, first_number, count)
    finally:
        if collecting:
            gc.enable()


def _create(
    config: SimulatorConfig, devices: list[SimDevice], now: float, number: int, count: int
) -> list[SimOperation]:
    rng = random.Random(f"{config.seed}:preseed")  # noqa: S311 - reproducible data
    run, expire = config.run_seconds, config.expire_after
    expired_share = config.offline_rate**2
    fmt = IsoFormatter()
    types, versions = OPERATION_TYPES, _VERSIONS
    shared: dict[tuple[Any, ...], dict[str, Any]] = {(): {}}
    touched: set[int] = set()
    operations: list[SimOperation] = []
    draw = rng.random
    running = 0.35 + min(0.1, _MAX_RUNNING / max(count, 1))
    for _ in range(count):
        when = draw()
        if when < 0.35:
            scheduled = now + 60 + draw() * (_WEEK - 60)
        elif when < running:
            scheduled = now - draw() * max(run, 1.0)
        else:
            scheduled = now - run - expire - 1 - draw() * (_WEEK - run - expire - 1)
        created = min(now, scheduled - 600 - draw() * (3 * _DAY - 600))
        kind = types[int(draw() * len(types))]
        key: tuple[Any, ...] = ()
        if kind == "firmware_update":
            key = ("target_version", versions[int(draw() * len(versions))])
        elif kind == "configuration_update":
            key = ("config_profile", draw() < 0.5)
        parameters = shared.get(key)
        if parameters is None:
            if key[0] == "target_version":
                parameters = {"target_version": key[1]}
            else:
                parameters = {"config_profile": "production_v2", "restart_required": key[1]}
            shared[key] = parameters
        device = devices[int(draw() * len(devices))]
        op = SimOperation(
            id=f"txn_{number}",
            device_serial=device.serial,
            operation_type=kind,
            scheduled_at=scheduled,
            created_at=created,
            parameters=parameters,
            scheduled_text=fmt(scheduled),
            created_text=fmt(created),
        )
        number += 1
        if scheduled < now - run - expire:  # over whatever the device did: history
            outcome = draw()
            if outcome < expired_share:
                op.status, op.ended_at = "expired", scheduled + expire
            else:
                op.started_at, op.ended_at = scheduled, scheduled + run
                op.status = "failed" if draw() < config.failure_rate else "completed"
                if op.status == "completed" and key and key[0] == "target_version":
                    device.firmware_changes.append((op.ended_at, key[1]))
                    touched.add(id(device))
        else:
            device.active_ops.append(op)
        operations.append(op)
    for device in devices:
        if id(device) in touched:
            device.firmware_changes.sort(key=lambda item: item[0])
    return operations


__all__ = ["IsoFormatter", "preseed"]
