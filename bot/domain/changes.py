"""What changed since the last poll: the notifier's diff, as pure functions (no I/O, no clock, no Slack), and the
records the notifier keeps in the store (known states, outbox rows, where the bot's own operations report).

``diff_operations(operations, known, now=…, baseline=…)`` compares one poll of the Control API with the states
recorded after the previous one and returns the rows to write back and the changes worth telling people about:

* a **status transition** (``scheduled → in_progress``, ``in_progress → failed``…);
* the **device going offline / coming back** while the operation is not finished;
* a **failure**: a status meaning failure (``is_failure``: failed, error, expired, …), or an unfinished
  operation whose device is offline at/after its scheduled time (reported once per operation).

An operation seen for the first time is recorded silently while its status is still an initial one
(scheduled, pending…); a first sighting already past those (created and finished between two polls) is
reported as a transition from "unknown", so nothing is missed. On the very first poll (``baseline=True``) every
first sighting is recorded silently, so a new installation does not flood channels with the fleet's history. For the
same reason a first sighting whose scheduled time is before ``history_before`` is recorded silently: the API
refuses to schedule in the past, so such an operation is not new but history — one the notifier forgot after it
left the list (``NOTIFIER_FORGET_AFTER_DAYS``) and that is listed again, or one the token could not see before.

An operation the bot created is never a first sighting: the store records it as known, in its POST answer's status
(``scheduled``), when its item is marked created (``bot.store.states.seed_known_state``), so its first change
reads "Scheduled → In progress" (on the very first poll too); "first seen" is only said of operations the bot never
knew.

The known states are plain ``NamedTuple``s, not pydantic records: the notifier's hot path loads 10,000 of them per
poll and they must be cheap to build. Outbox rows are few per cycle and stay pydantic. An operation is anything
shaped like ``bot.control.models.Operation`` (``PolledOperation``): this module sits below the API client.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict

from bot.domain.statuses import is_failure, is_terminal, normalize_status

#: Statuses in which a first sighting is not news (the operation has not started doing anything yet).
INITIAL_STATUSES = frozenset({"scheduled", "pending", "created", "queued", "new", "waiting"})

#: Longest status / serial / type the store keeps (longer values are cut, consistently, before comparing).
FIELD_LIMIT = 128

#: The status an operation is created in: the Control API's answer to the POST says ``scheduled``.
CREATED_STATUS = "scheduled"


class PolledDevice(Protocol):
    """What a poll says of an operation's device (``bot.control.models.DeviceStatus``)."""

    @property
    def online(self) -> bool | None: ...
    @property
    def last_seen(self) -> datetime | None: ...
    @property
    def firmware_version(self) -> str | None: ...


class PolledOperation(Protocol):
    """One operation of a poll (``bot.control.models.Operation``)."""

    @property
    def id(self) -> str: ...
    @property
    def device_serial(self) -> str: ...
    @property
    def operation_type(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def scheduled_time(self) -> datetime: ...
    @property
    def device_status(self) -> PolledDevice | None: ...


class KnownState(NamedTuple):
    """The part of an operation's stored state the diff needs (loaded for every operation, every poll)."""

    status: str
    device_online: bool | None
    offline_reported: bool
    version: int
    scheduled_time: datetime | None = None  # None: not loaded (a state built by hand); never compared then


class Failure(StrEnum):
    """Why a change is a failure (what on-call is paged about)."""

    STATUS = "status"  # the status means failure (failed, error, expired, aborted, …)
    OFFLINE_AT_SCHEDULED_TIME = "offline_at_scheduled_time"  # unfinished, device offline when it was due


class ChangeKind(StrEnum):
    FAILURE = "failure"
    STATUS = "status"
    DEVICE = "device"


@lru_cache(maxsize=256)
def _terminal(status: str) -> bool:
    return is_terminal(status)


@lru_cache(maxsize=256)
def _failure(status: str) -> bool:
    return is_failure(status)


@lru_cache(maxsize=256)
def _initial(status: str) -> bool:
    return normalize_status(status) in INITIAL_STATUSES


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def fingerprint(status: str, online: bool | None, scheduled_time: datetime) -> int:
    """A compact print of what the diff compares: status, device online (unless the status is terminal, where the
    diff ignores the device), and scheduled time. In memory only (``hash`` differs between processes).

    ``status`` is the stored one (cut to ``FIELD_LIMIT``).
    """
    return hash((status, None if _terminal(status) else online, scheduled_time))


def packed_print(status: str, online: bool | None, scheduled_time: datetime, offline_reported: bool) -> int:
    """``fingerprint`` and the ``offline_reported`` flag in one int: what the notifier keeps per operation."""
    return fingerprint(status, online, scheduled_time) << 1 | offline_reported


def known_print(state: KnownState) -> int | None:
    """The packed print of a recorded state (``None`` if it was built without its scheduled time)."""
    if state.scheduled_time is None:
        return None
    return packed_print(state.status, state.device_online, state.scheduled_time, state.offline_reported)


def is_quiet(packed: int | None, status: str, online: bool | None, scheduled_time: datetime, now: datetime) -> bool:
    """Would ``diff_operations`` find nothing to tell and nothing to write for this operation? ``packed`` is its
    recorded state's ``packed_print`` (``None``: not recorded, so not quiet).

    Exact for what it answers ``True`` to: same status, same ``online`` (or a terminal status), same scheduled
    time, and not newly due while offline (the one change that comes with time alone). ``False`` only means "diff
    it": the operation is then read in full and diffed against its stored state (``tests/unit`` checks both ways).
    """
    if packed is None or packed >> 1 != fingerprint(status, online, scheduled_time):
        return False
    return bool(packed & 1) or online is not False or _terminal(status) or now < scheduled_time


@dataclass(frozen=True, slots=True)
class OperationChange:
    """One operation's change in one poll: everything a message about it needs, JSON-serialisable."""

    operation_id: str
    device_serial: str
    operation_type: str
    scheduled_time: datetime
    status: str
    old_status: str | None  # None: first seen
    device_online: bool | None
    last_seen: datetime | None
    firmware_version: str | None
    version: int  # the operation's recorded-change counter after this change (part of the dedupe key)
    device_change: str | None = None  # "offline" | "online"
    failure: Failure | None = None

    @property
    def kind(self) -> ChangeKind:
        if self.failure is not None:
            return ChangeKind.FAILURE
        if self.old_status != self.status:
            return ChangeKind.STATUS
        return ChangeKind.DEVICE

    @property
    def status_changed(self) -> bool:
        return self.old_status != self.status

    def dedupe_key(self, channel_id: str, thread_ts: str | None) -> str:
        """Unique per (operation, its change counter, kind, destination): a second notifier (or a retried
        cycle) computing the same change inserts nothing new."""
        key = f"op:{self.operation_id}:{self.version}:{self.kind.value}:{channel_id}:{thread_ts or '-'}"
        if len(key) <= 255:
            return key
        return "op-h:" + hashlib.blake2b(key.encode(), digest_size=24).hexdigest()

    def to_payload(self) -> dict[str, Any]:
        return {
            "operation_id": self.operation_id,
            "device_serial": self.device_serial,
            "operation_type": self.operation_type,
            "scheduled_time": _iso(self.scheduled_time),
            "status": self.status,
            "old_status": self.old_status,
            "device_online": self.device_online,
            "last_seen": _iso(self.last_seen),
            "firmware_version": self.firmware_version,
            "version": self.version,
            "device_change": self.device_change,
            "failure": None if self.failure is None else self.failure.value,
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> OperationChange:
        scheduled = _parse(data.get("scheduled_time")) or datetime.fromtimestamp(0, UTC)
        failure = data.get("failure")
        return cls(
            operation_id=str(data.get("operation_id", "")),
            device_serial=str(data.get("device_serial", "")),
            operation_type=str(data.get("operation_type", "")),
            scheduled_time=scheduled,
            status=str(data.get("status", "")),
            old_status=data.get("old_status"),
            device_online=data.get("device_online"),
            last_seen=_parse(data.get("last_seen")),
            firmware_version=data.get("firmware_version"),
            version=int(data.get("version", 0) or 0),
            device_change=data.get("device_change"),
            failure=Failure(failure) if failure else None,
        )


@dataclass
class Diff:
    """The result of one poll's diff: state rows to upsert and the changes to notify."""

    states: list[dict[str, Any]] = field(default_factory=list)
    changes: list[OperationChange] = field(default_factory=list)
    first_seen: int = 0
    history: int = 0  # first sightings recorded silently because they were scheduled before ``history_before``


def diff_operations(
    operations: Iterable[PolledOperation],
    known: Mapping[str, KnownState],
    *,
    now: datetime,
    baseline: bool,
    history_before: datetime | None = None,
) -> Diff:
    """Compare one poll with the recorded states (see the module docstring). Pure; fast for 10,000."""
    result = Diff()
    states, changes = result.states, result.changes
    for op in operations:
        status = op.status[:FIELD_LIMIT]
        device = op.device_status
        online = device.online if device is not None else None
        terminal = _terminal(status)
        due_offline = not terminal and online is False and now >= op.scheduled_time
        old = known.get(op.id)

        failure: Failure | None = None
        device_change: str | None = None
        if old is None:
            result.first_seen += 1
            version = 1
            offline_reported = due_offline
            notify = False
            if not baseline and history_before is not None and op.scheduled_time < history_before:
                result.history += 1
            elif not baseline:
                if _failure(status):
                    failure, notify = Failure.STATUS, True
                elif due_offline:
                    failure, notify = Failure.OFFLINE_AT_SCHEDULED_TIME, True
                elif not _initial(status):
                    notify = True
            old_status: str | None = None
        else:
            old_status = old.status
            status_changed = old.status != status
            if not terminal and online is not None and old.device_online is not None and online != old.device_online:
                device_change = "online" if online else "offline"
            if status_changed and _failure(status):
                failure = Failure.STATUS
            elif due_offline and not old.offline_reported:
                failure = Failure.OFFLINE_AT_SCHEDULED_TIME
            offline_reported = old.offline_reported or due_offline
            notify = status_changed or device_change is not None or failure is not None
            silent_update = (
                offline_reported != old.offline_reported
                or (not terminal and online != old.device_online)
                or (old.scheduled_time is not None and op.scheduled_time != old.scheduled_time)
            )
            if not (notify or silent_update):
                continue
            version = old.version + 1

        last_seen = device.last_seen if device is not None else None
        states.append(
            {
                "operation_id": op.id,
                "device_serial": op.device_serial[:FIELD_LIMIT],
                "operation_type": op.operation_type[:FIELD_LIMIT],
                "status": status,
                "scheduled_time": op.scheduled_time,
                "device_online": online,
                "last_seen": last_seen,
                "offline_reported": offline_reported,
                "version": version,
                "updated_at": now,
            }
        )
        if notify:
            changes.append(
                OperationChange(
                    operation_id=op.id,
                    device_serial=op.device_serial,
                    operation_type=op.operation_type,
                    scheduled_time=op.scheduled_time,
                    status=status,
                    old_status=old_status,
                    device_online=online,
                    last_seen=last_seen,
                    firmware_version=device.firmware_version if device is not None else None,
                    version=version,
                    device_change=device_change,
                    failure=failure,
                )
            )
    return result


class NotificationState(StrEnum):
    """Where one outbox row stands."""

    PENDING = "pending"  # recorded, not yet accepted by Slack
    SENT = "sent"  # Slack accepted it (alone or inside a digest)
    SKIPPED = "skipped"  # will never be posted (channel unpostable, message refused, too many attempts)


class BotThread(NamedTuple):
    """Where an operation the bot created reports: the thread of its approval / confirmation message, and the
    channel its requester chose for status updates (the schedule form's "Post status updates in")."""

    thread_channel_id: str | None
    thread_ts: str | None
    notify_channel_id: str | None
    rollout: bool = False  # a rollout's operation: its failures page on-call once, through the rollout's abort


class NewNotification(NamedTuple):
    """An outbox row to insert (insert-or-ignore on ``dedupe_key``)."""

    dedupe_key: str
    operation_id: str | None
    channel_id: str
    thread_ts: str | None
    kind: str
    payload: dict[str, Any]


class NotificationRecord(BaseModel):
    """An outbox row as stored."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    dedupe_key: str
    operation_id: str | None
    channel_id: str
    thread_ts: str | None
    kind: str
    payload: dict[str, Any]
    state: NotificationState
    attempts: int
    error: str | None
    created_at: datetime
    sent_at: datetime | None


__all__ = [
    "CREATED_STATUS",
    "FIELD_LIMIT",
    "INITIAL_STATUSES",
    "BotThread",
    "ChangeKind",
    "Diff",
    "Failure",
    "KnownState",
    "NewNotification",
    "NotificationRecord",
    "NotificationState",
    "OperationChange",
    "PolledDevice",
    "PolledOperation",
    "diff_operations",
    "fingerprint",
    "is_quiet",
    "known_print",
    "packed_print",
]
