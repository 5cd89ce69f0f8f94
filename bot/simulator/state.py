"""The simulator's world: a device inventory, the operations scheduled on it, and a clock.

Nothing here runs in the background. Every status is a pure function of the seed and the clock, computed
lazily when something is read, so tests move time with ``state.advance(seconds)`` (or an injected
``ManualClock``) and see exactly what a real fleet would have done meanwhile, and a list of 10,000 operations
costs one cheap pass.

**Devices** drift deterministically: time is cut into ``drift_period`` slots (shifted per device so the fleet
does not flip at once), and in each slot a device is offline with probability ``offline_rate``, decided by a
hash of (seed, serial, slot). While online, ``last_seen`` follows a one-minute heartbeat; while offline it is
the moment the device went offline. The documented ``SN123456789`` (firmware ``1.2.3``) is always online, so
the documentation's examples behave as documented. Tests can pin any device online or offline from a moment on
(``set_device_online``), which overrides the drift from then on and never rewrites the past.

**Operations** follow the lifecycle ``scheduled`` → (at ``scheduled_time``) ``in_progress`` if the device is
online, else ``pending`` until it comes online (→ ``in_progress``) or ``expire_after`` passes (→ ``expired``);
``in_progress`` ends after ``run_seconds`` as ``completed`` or ``failed`` (decided by a hash of seed and id
against ``failure_rate``). A completed ``firmware_update`` with a ``target_version`` (or ``version`` /
``firmware_version``) parameter changes the device's firmware from that moment. Status never goes backwards,
even if the clock does. ``force_status`` pins any string (also unknown ones) and freezes the lifecycle.

**Device status in answers** is what the API last *knew*, not the truth: the API's own helpers poll devices
every ``poll_interval`` seconds (modelled as a snapshot at the latest multiple of ``poll_interval``, taken
lazily), and ``update_status=true`` takes a fresh snapshot at "now", which later plain reads keep returning
until the next poll.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.simulator.config import Faults, SimulatorConfig
from bot.simulator.preseed import preseed
from bot.simulator.records import SimDevice, SimOperation

Clock = Callable[[], datetime]

DOCUMENTED_SERIAL = "SN123456789"
DOCUMENTED_FIRMWARE = "1.2.3"
FIRST_OPERATION_NUMBER = 10000
_TXN_NUMBER = re.compile(r"txn_(\d{1,18})")

TIMEZONES = (
    "America/Mexico_City",
    "America/Costa_Rica",
    "America/Bogota",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/Madrid",
    "Europe/London",
    "Asia/Tokyo",
    "Australia/Sydney",
    "UTC",
)

_RANK = {"scheduled": 0, "pending": 1, "in_progress": 2, "completed": 3, "failed": 3, "expired": 3}
_ENDED = frozenset({"completed", "failed", "expired"})
_VERSION_KEYS = ("target_version", "firmware_version", "version")
_HEARTBEAT = 60.0  # seconds between an online device's check-ins
_LOOKBACK_SLOTS = 2000  # how far back last_seen of an offline device is searched


def _utc_now() -> datetime:
    return datetime.now(UTC)


def iso(ts: float) -> str:
    """Epoch seconds → the API's format, ``2024-01-15T10:30:00Z`` (whole seconds, floored)."""
    return datetime.fromtimestamp(math.floor(ts), UTC).replace(tzinfo=None).isoformat() + "Z"


def _unit(seed: int, *parts: object) -> float:
    """A deterministic number in [0, 1) for ``parts``; the same on every machine and run."""
    text = "|".join([str(seed), *map(str, parts)]).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") / 2.0**64


class ManualClock:
    """A clock that only moves when told: ``ManualClock(datetime(2024, 1, 15, 10, tzinfo=UTC))``.

    Callable like ``bot.clock.utcnow``; ``advance(seconds)`` and ``set(moment)`` move it.
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or _utc_now()
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = moment.astimezone(UTC)


class SimulatorState:
    """Devices, operations, faults and the clock of one simulated Control API.

    Safe to share between the server thread and a test's thread for what tests do (set faults, advance time,
    create or force operations): mutations are single assignments or appends.
    """

    def __init__(self, config: SimulatorConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config or SimulatorConfig(token="simulator-token")  # noqa: S106 - a stand-in's token
        self.clock: Clock = clock or _utc_now
        self.faults: Faults = self.config.initial_faults()
        self.offset = 0.0  # seconds added to the clock by advance()
        self.devices: dict[str, SimDevice] = {}
        self.operations: dict[str, SimOperation] = {}
        self.order: list[SimOperation] = []  # creation order, what the list endpoint returns
        self.removed: dict[str, SimOperation] = {}  # taken out of the API's answers by remove_operation()
        self.hits: Counter[str] = Counter()  # API requests by method, counted before any fault
        self.fault_random = random.Random(self.config.seed)  # noqa: S311 - reproducible fault injection
        self.next_number = FIRST_OPERATION_NUMBER  # of the next operation created: txn_<next_number>
        self._seed_devices()
        if self.config.preseed_operations:
            self._preseed(self.config.preseed_operations)

    # --- time ---------------------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The simulator's "now": the clock plus everything ``advance`` added."""
        return self.clock() + timedelta(seconds=self.offset)

    def now_ts(self) -> float:
        return self.now().timestamp()

    def advance(self, seconds: float) -> datetime:
        """Move the simulator's time forward; statuses catch up on the next read."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.offset += seconds
        return self.now()

    # --- inventory ----------------------------------------------------------------------------------------

    def _seed_devices(self) -> None:
        rng = random.Random(self.config.seed)  # noqa: S311 - a reproducible inventory, not a secret
        period = self.config.drift_period
        self.devices[DOCUMENTED_SERIAL] = SimDevice(
            DOCUMENTED_SERIAL, DOCUMENTED_FIRMWARE, None, rng.uniform(0, period), always_online=True
        )
        while len(self.devices) < self.config.extra_devices + 1:
            serial = f"SN{rng.randrange(100_000_000, 1_000_000_000):09d}"
            if serial in self.devices:
                continue
            firmware = f"{rng.randint(1, 3)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}"
            zone = rng.choice(TIMEZONES) if rng.random() < 0.5 else None
            self.devices[serial] = SimDevice(serial, firmware, zone, rng.uniform(0, period))
        for serial, zone in self.config.known_devices.items():  # after the drawn ones: those stay as they were
            if serial not in self.devices:
                firmware = f"{rng.randint(1, 3)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}"
                self.devices[serial] = SimDevice(serial, firmware, zone, rng.uniform(0, period))

    def online_at(self, device: SimDevice, ts: float) -> bool:
        """Is ``device`` online at ``ts`` (epoch seconds)? Pins first, then the drift model."""
        if device.overrides:
            index = bisect.bisect_right(device.overrides, ts, key=lambda item: item[0]) - 1
            if index >= 0 and device.overrides[index][1] is not None:
                return bool(device.overrides[index][1])
        if device.always_online:
            return True
        slot = math.floor((ts + device.phase) / self.config.drift_period)
        return _unit(self.config.seed, "online", device.serial, slot) >= self.config.offline_rate

    def _changes(self, device: SimDevice, start: float, end: float) -> list[float]:
        """Moments in (start, end] at which ``device`` may change state (slot edges, pins), in order."""
        period = self.config.drift_period
        first = math.floor((start + device.phase) / period) + 1
        last = math.floor((end + device.phase) / period)
        edges = [k * period - device.phase for k in range(first, last + 1)]
        pins = [since for since, _ in device.overrides if start < since <= end]
        return sorted({*edges, *pins})

    def first_online(self, device: SimDevice, start: float, end: float) -> float | None:
        """The first moment in [start, end] at which ``device`` is online, or None."""
        if end < start:
            return None
        if self.online_at(device, start):
            return start
        for moment in self._changes(device, start, end):
            if self.online_at(device, moment):
                return moment
        return None

    def last_seen(self, device: SimDevice, ts: float) -> float:
        """When the device last checked in: its latest heartbeat if online, else when it went offline."""
        if self.online_at(device, ts):
            return ts - ((ts + device.phase) % _HEARTBEAT)
        window = 50 * self.config.drift_period
        high = ts
        horizon = ts - _LOOKBACK_SLOTS * self.config.drift_period
        while high > horizon:
            low = high - window
            for moment in reversed(self._changes(device, low, high)):
                if self.online_at(device, moment - 1e-3):
                    return moment
            high = low
        return horizon

    def firmware_at(self, device: SimDevice, ts: float) -> str:
        version = device.firmware_version
        for at, new in device.firmware_changes:
            if at > ts:
                break
            version = new
        return version

    def device_truth(self, device: SimDevice, ts: float) -> dict[str, Any]:
        """The device's real status at ``ts``, as the API's ``device_status`` object."""
        for op in list(device.active_ops):  # finished firmware updates change the firmware
            self._advance(op, ts)
        status: dict[str, Any] = {
            "online": self.online_at(device, ts),
            "last_seen": iso(self.last_seen(device, ts)),
            "firmware_version": self.firmware_at(device, ts),
        }
        if device.timezone:
            status["timezone"] = device.timezone
        return status

    def cached_device_status(self, device: SimDevice, ts: float | None = None) -> dict[str, Any]:
        """What the API returns without update_status: the latest poll (or refresh), polled lazily."""
        ts = self.now_ts() if ts is None else ts
        tick = math.floor(ts / self.config.poll_interval) * self.config.poll_interval
        if device.snapshot is None or tick > device.snapshot_at:
            device.snapshot = self.device_truth(device, tick)
            device.snapshot_at = tick
        return device.snapshot

    def refresh_device(self, serial: str) -> dict[str, Any]:
        """What update_status=true does: a fresh snapshot at "now", kept until the next poll."""
        device = self.devices[serial]
        ts = self.now_ts()
        device.snapshot = self.device_truth(device, ts)
        device.snapshot_at = ts
        return device.snapshot

    def set_device_online(self, serial: str, online: bool | None) -> None:
        """Pin a device online/offline from now on (``None``: back to its drift). Raises KeyError."""
        device = self.devices[serial]
        device.overrides.append((self.now_ts(), online))
        device.overrides.sort(key=lambda item: item[0])

    # --- operations ---------------------------------------------------------------------------------------

    def number_after(self, operation_ids: Iterable[str]) -> None:
        """Number new operations after every ``txn_N`` in ``operation_ids``: a fresh simulator serving a bot whose
        database remembers an earlier simulator's operations must not hand out their ids again."""
        numbers = [int(match.group(1)) for op_id in operation_ids if (match := _TXN_NUMBER.fullmatch(op_id))]
        self.next_number = max([self.next_number, *(number + 1 for number in numbers)])

    def create_operation(
        self,
        device_serial: str,
        operation_type: str,
        scheduled_time: datetime,
        parameters: dict[str, Any] | None = None,
        *,
        created_at: datetime | None = None,
    ) -> SimOperation:
        """Schedule an operation as the POST endpoint does (no validation beyond the device existing)."""
        device = self.devices[device_serial]
        if scheduled_time.tzinfo is None:
            raise ValueError("scheduled_time must be aware")
        created = (created_at or self.now()).timestamp()
        scheduled = scheduled_time.timestamp()
        op = SimOperation(
            id=f"txn_{self.next_number}",
            device_serial=device.serial,
            operation_type=operation_type,
            scheduled_at=scheduled,
            created_at=created,
            parameters=dict(parameters or {}),
            scheduled_text=iso(scheduled),
            created_text=iso(created),
        )
        self.next_number += 1
        self.operations[op.id] = op
        self.order.append(op)
        device.active_ops.append(op)
        return op

    def status_of(self, op: SimOperation | str, ts: float | None = None) -> str:
        """The operation's status now (or at ``ts``), advancing its lifecycle as far as time allows."""
        operation = self.operations[op] if isinstance(op, str) else op
        return self._advance(operation, self.now_ts() if ts is None else ts)

    def force_status(self, op_id: str, status: str | None) -> SimOperation:
        """Pin an operation's status (any string); ``None`` returns it to its lifecycle. Raises KeyError."""
        op = self.operations[op_id]
        op.forced = status
        return op

    def remove_operation(self, op_id: str) -> SimOperation:
        """Take an operation out of the API's answers (the list and ``?id=``), as if it was deleted or archived;
        its device is untouched and ``restore_operation`` brings it back. Raises KeyError."""
        op = self.operations.pop(op_id)
        self.order.remove(op)
        self.removed[op_id] = op
        return op

    def restore_operation(self, op_id: str) -> SimOperation:
        """Put a removed operation back in the API's answers, at its place in creation order. Raises KeyError."""
        op = self.removed.pop(op_id)
        self.operations[op_id] = op
        self.order.append(op)
        self.order.sort(key=lambda item: int(item.id.rpartition("_")[2]))
        return op

    def _advance(self, op: SimOperation, ts: float) -> str:
        if op.forced is not None:
            return op.forced
        if op.status in _ENDED or ts < op.scheduled_at:
            return op.status
        config = self.config
        device = self.devices[op.device_serial]
        status = op.status
        if op.started_at is None:
            deadline = op.scheduled_at + config.expire_after
            start = op.scheduled_at if op.scanned_until is None else op.scanned_until
            end = min(ts, deadline)
            found = self.first_online(device, start, end)
            if found is not None:
                op.started_at = found
            elif end >= start:
                op.scanned_until = end
                status = "expired" if ts >= deadline else "pending"
                if status == "expired":
                    op.ended_at = deadline
        if op.started_at is not None:
            finish = op.started_at + config.run_seconds
            if ts >= finish:
                failed = _unit(config.seed, "outcome", op.id) < config.failure_rate
                status = "failed" if failed else "completed"
                op.ended_at = finish
                if not failed and op.operation_type == "firmware_update":
                    self._record_firmware(device, op, finish)
            else:
                status = "in_progress"
        if _RANK.get(status, 0) > _RANK.get(op.status, 0):
            op.status = status
        if op.status in _ENDED and op in device.active_ops:
            device.active_ops.remove(op)
        return op.status

    @staticmethod
    def _record_firmware(device: SimDevice, op: SimOperation, at: float) -> None:
        version = next((op.parameters[key] for key in _VERSION_KEYS if op.parameters.get(key)), None)
        if isinstance(version, str | int | float):
            device.firmware_changes.append((at, str(version)))
            device.firmware_changes.sort(key=lambda item: item[0])

    # --- rendering ----------------------------------------------------------------------------------------

    def render(
        self,
        op: SimOperation,
        ts: float | None = None,
        device_cache: dict[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The operation as the GET endpoint returns it (with the cached ``device_status``)."""
        ts = self.now_ts() if ts is None else ts
        status = self._advance(op, ts)
        if device_cache is not None and op.device_serial in device_cache:
            device_status = device_cache[op.device_serial]
        else:
            device_status = self.cached_device_status(self.devices[op.device_serial], ts)
            if device_cache is not None:
                device_cache[op.device_serial] = device_status
        return {
            "id": op.id,
            "device_serial": op.device_serial,
            "operation_type": op.operation_type,
            "status": status,
            "scheduled_time": op.scheduled_text,
            "created_at": op.created_text,
            "device_status": device_status,
            "parameters": op.parameters,
        }

    @staticmethod
    def render_created(op: SimOperation) -> dict[str, Any]:
        """The operation as the POST endpoint returns it: the documented keys, status ``scheduled``."""
        return {
            "id": op.id,
            "device_serial": op.device_serial,
            "operation_type": op.operation_type,
            "status": "scheduled",
            "scheduled_time": op.scheduled_text,
            "created_at": op.created_text,
            "parameters": op.parameters,
        }

    def describe_devices(self) -> list[dict[str, Any]]:
        """Every device with its true status now and what the API currently reports (admin endpoint)."""
        ts = self.now_ts()
        return [
            {
                "serial": device.serial,
                "firmware_version": self.firmware_at(device, ts),
                "timezone": device.timezone,
                "always_online": device.always_online,
                "status": self.device_truth(device, ts),
                "reported_status": self.cached_device_status(device, ts),
                "pinned": device.overrides[-1][1] if device.overrides else None,
            }
            for device in self.devices.values()
        ]

    # --- benchmarks ---------------------------------------------------------------------------------------

    def _preseed(self, count: int) -> None:
        """``count`` operations over the fleet, the past and the future (see ``bot.simulator.preseed``)."""
        operations = preseed(self.config, list(self.devices.values()), self.now_ts(), self.next_number, count)
        self.order.extend(operations)
        self.operations.update((op.id, op) for op in operations)
        self.next_number += len(operations)
