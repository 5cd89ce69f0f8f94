"""A rollout as the store hands it out (a frozen record, never an ORM row), and what a person asked for.

A rollout is one approved campaign: its devices in their stable order, cut into waves (``plan``), the options that
decide when a wave may follow the last and when everything stops (``RolloutOptions``), and where it stands
(``RolloutState``). Each wave, once started, is a schedule request of its own (``rollout_id`` + ``wave``), so a
wave's operations are created exactly once by the same machinery as a single request's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from bot.domain.rollouts import RolloutOptions, RolloutState


class NewRollout(BaseModel):
    """What a person asked for, before it has an id (the plan is computed with the id: ``bot.store``'s caller
    passes the id it planned with)."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=32)
    requester_id: str = Field(min_length=1)
    team_id: str
    origin_channel_id: str | None = None
    operation_type: str = Field(min_length=1)
    parameters: dict[str, Any] = Field(default_factory=dict)
    requester_tz: str = "UTC"
    options: RolloutOptions = RolloutOptions()
    plan: list[list[str]] = Field(min_length=1)  # the waves, each its serials in order
    scheduled_time: AwareDatetime  # wave 1's (the earliest when device-local)
    item_times: dict[str, AwareDatetime] | None = None  # device-local: wave 1's devices, each its own instant
    when_text: str = ""
    approval_required: bool = True
    window_note: str | None = None
    state: RolloutState = RolloutState.DRAFT

    @field_validator("scheduled_time")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)


class RolloutRecord(BaseModel):
    """A stored rollout."""

    model_config = ConfigDict(frozen=True)

    id: str
    requester_id: str
    team_id: str
    origin_channel_id: str | None
    operation_type: str
    parameters: dict[str, Any]
    requester_tz: str
    options: RolloutOptions
    plan: list[list[str]]
    scheduled_time: datetime
    item_times: dict[str, datetime] | None
    when_text: str
    approval_required: bool
    window_note: str | None
    state: RolloutState
    current_wave: int  # 0: no wave started yet; i: waves 1..i were started (their requests exist)
    wave_started_at: datetime | None
    soak_until: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    approval_channel_id: str | None
    approval_ts: str | None
    stop_reason: str | None  # why it was aborted or paused, in words
    told: list[str]  # the thread replies already posted (each state change is told once, across restarts)
    failed_polls: int
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def devices(self) -> list[str]:
        return [serial for wave in self.plan for serial in wave]

    @property
    def total(self) -> int:
        return sum(len(wave) for wave in self.plan)

    def time_of(self, serial: str) -> datetime:
        """Wave 1's time of one device (its device-local instant, or the requested time)."""
        return (self.item_times or {}).get(serial, self.scheduled_time)


__all__ = ["NewRollout", "RolloutRecord"]
