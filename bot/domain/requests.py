"""Schedule requests and their items: the states they move through and the frozen records the store hands out
(never ORM objects), the store's other records (watches, audit lines), and the outcome of a decision.

States are ``StrEnum`` members, so ``record.state == "approved"`` works and plain strings are accepted
wherever a state is expected.

A schedule request moves::

    draft ──confirm──▶ pending_approval ──approve──▶ approved ──all items settled──▶ done
      │                     │  └──reject──▶ rejected
      └──────────┬──────────┘
                 ├──cancel──▶ cancelled   (also from approved)
                 └──expire──▶ expired     (scheduled time passed while undecided)

Each of its device serials is an item::

    waiting ──claim (intent recorded)──▶ creating ──POST answered──▶ created | failed
       └──request rejected / cancelled / expired──▶ cancelled
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.domain.ids import serial_key


class RequestState(StrEnum):
    """Where a schedule request stands."""

    DRAFT = "draft"  # awaiting the requester's Confirm
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    DONE = "done"


class ItemState(StrEnum):
    """Where the creation of one device serial's operation stands."""

    WAITING = "waiting"
    CREATING = "creating"  # intent recorded, the POST is about to be (or was) sent; result not yet recorded
    CREATED = "created"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: A request in one of these states is settled; its ``waiting`` items are cancelled when it gets there.
TERMINAL_REQUEST_STATES = frozenset(
    {RequestState.REJECTED, RequestState.CANCELLED, RequestState.EXPIRED, RequestState.DONE}
)
#: States the expiry sweep looks at: nobody has decided yet.
UNDECIDED_REQUEST_STATES = frozenset({RequestState.DRAFT, RequestState.PENDING_APPROVAL})


def request_states(states: Iterable[str]) -> list[RequestState]:
    """Validate state names (a typo is a bug, not an empty result)."""
    return [RequestState(state) for state in states]


class NewScheduleRequest(BaseModel):
    """What a person asked for, before it has an id.

    ``item_times`` gives devices their own scheduled time (device-local time: one instant per device zone), keyed
    by the serial as given (matched as ``device_serials`` are, by ``serial_key``); a serial it leaves out is
    scheduled at ``scheduled_time``, which is the earliest of the items' times.
    """

    model_config = ConfigDict(frozen=True)

    requester_id: str = Field(min_length=1)
    team_id: str
    origin_channel_id: str | None = None
    device_serials: list[str] = Field(min_length=1)
    operation_type: str = Field(min_length=1)
    scheduled_time: AwareDatetime
    parameters: dict[str, Any] = Field(default_factory=dict)
    notify_channel_id: str | None = None
    requester_tz: str = "UTC"
    approval_required: bool = True
    window_note: str | None = None
    state: RequestState = RequestState.DRAFT
    confirm_response_url: str | None = None
    item_times: dict[str, AwareDatetime] | None = None

    @field_validator("device_serials")
    @classmethod
    def _dedupe_serials(cls, serials: list[str]) -> list[str]:
        """Strip, drop blanks, deduplicate keeping the first occurrence's order and spelling (serials differing
        only by case are one device: ``serial_key``, as ``bot.services.inputs.parse_serials`` reads them)."""
        seen: dict[str, str] = {}
        for serial in serials:
            cleaned = serial.strip()
            if cleaned:
                seen.setdefault(serial_key(cleaned), cleaned)
        if not seen:
            raise ValueError("at least one device serial is required")
        return list(seen.values())

    @field_validator("scheduled_time")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @field_validator("state")
    @classmethod
    def _initial_state(cls, value: RequestState) -> RequestState:
        if value not in (RequestState.DRAFT, RequestState.PENDING_APPROVAL):
            raise ValueError("a new request starts as 'draft' or 'pending_approval'")
        return value

    @model_validator(mode="after")
    def _check_item_times(self) -> NewScheduleRequest:
        """``item_times`` keyed by the stored spelling of its serials, in UTC; ``scheduled_time`` their earliest."""
        if not self.item_times:
            object.__setattr__(self, "item_times", None)
            return self
        spelling = {serial_key(serial): serial for serial in self.device_serials}
        times: dict[str, datetime] = {}
        for given, when in self.item_times.items():
            serial = spelling.get(serial_key(given.strip()))
            if serial is None:
                raise ValueError(f"item_times names {given!r}, which is not one of the device serials")
            if serial in times and times[serial] != when:
                raise ValueError(f"item_times gives {serial!r} two different times")
            times[serial] = when.astimezone(UTC)
        earliest = min(times.get(serial, self.scheduled_time) for serial in self.device_serials)
        if earliest != self.scheduled_time:
            raise ValueError(
                f"scheduled_time must be the earliest of the items' times ({earliest.isoformat()}), "
                f"not {self.scheduled_time.isoformat()}"
            )
        object.__setattr__(self, "item_times", times)
        return self

    def time_of(self, serial: str) -> datetime:
        """The scheduled time of one of the serials (as stored in ``device_serials``)."""
        return (self.item_times or {}).get(serial, self.scheduled_time)


class ItemRecord(BaseModel):
    """One device serial of a request, and the operation created for it."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    request_id: str
    position: int
    device_serial: str
    scheduled_time: datetime  # the item's own time: the request's unless it was given one (``item_times``)
    state: ItemState
    operation_id: str | None
    error: str | None
    attempted_at: datetime | None
    completed_at: datetime | None
    thread_channel_id: str | None
    thread_ts: str | None


class ScheduleRecord(BaseModel):
    """A schedule request with its items (in the order the serials were given)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: str
    requester_id: str
    team_id: str
    origin_channel_id: str | None
    operation_type: str
    scheduled_time: datetime
    parameters: dict[str, Any]
    notify_channel_id: str | None
    requester_tz: str
    approval_required: bool
    window_note: str | None
    state: RequestState
    created_at: datetime
    updated_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    approval_channel_id: str | None
    approval_ts: str | None
    confirm_response_url: str | None
    version: int
    items: list[ItemRecord]
    rollout_id: str | None = None  # a wave of a rollout (its messages are the rollout's, not this request's)
    wave: int | None = None

    @property
    def device_serials(self) -> list[str]:
        """The serials, in the order they were given."""
        return [item.device_serial for item in self.items]

    def item_for(self, device_serial: str) -> ItemRecord | None:
        """The item of one serial, if the request names it."""
        return next((item for item in self.items if item.device_serial == device_serial), None)


class WatchRecord(BaseModel):
    """A channel that wants status notifications for one operation."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    operation_id: str
    channel_id: str
    created_by: str
    created_at: datetime


class AuditRecord(BaseModel):
    """One line of the audit log: who did what to which subject, and how it went."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    at: datetime
    actor_id: str
    action: str
    subject: str
    request_id: str | None
    channel_id: str | None
    outcome: str
    detail: dict[str, Any] | None


Action = Literal["confirm", "cancel", "approve", "reject"]


class Refusal(StrEnum):
    """Why a decision did not win (``bot.slack.wording.refusal_text`` words it)."""

    NO_SUCH_REQUEST = "no_such_request"
    NOT_REQUESTER = "not_requester"  # only the requester may confirm or cancel
    SELF_APPROVAL = "self_approval"  # the four-eyes rule (ALLOW_SELF_APPROVAL off)
    NOT_APPROVER = "not_approver"
    ALREADY_DECIDED = "already_decided"  # another decision won first: ``record`` (read after the attempt) says which
    TOO_LATE = "too_late"  # too close to the scheduled time: this click expired the request


class Decision(BaseModel):
    """The outcome of a click on Confirm / Approve / Reject / Cancel: who won, and why a click lost, as facts.

    Every decision is a compare-and-set in the store; a click that loses carries where the request stands *now*
    (``record`` is read after its attempt, never the state seen before it), so its words can be those of what was
    tried: a second Confirm reads "already confirmed", not "approved".
    """

    model_config = ConfigDict(frozen=True)

    won: bool
    record: ScheduleRecord | None
    action: Action = "approve"
    refusal: Refusal | None = None
    time_left: timedelta | None = None  # TOO_LATE: how far the scheduled time was when the click came
    lead: timedelta | None = None  # TOO_LATE: how far ahead it had to be (MIN_LEAD_SECONDS)

    @property
    def expired(self) -> bool:
        """This click came too close to the scheduled time and expired the request: show it now."""
        return self.refusal is Refusal.TOO_LATE
