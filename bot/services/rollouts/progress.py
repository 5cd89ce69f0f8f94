"""Where a rollout stands: each wave's numbers, read from its request's items and the notifier's known states.

A wave's operations are watched by the notifier like every other (one list call per poll, never
``update_status=true``); the rollout reads the statuses the notifier recorded, so a rollout of 5,000 devices costs
the Control API nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.requests import ItemState, ScheduleRecord
from bot.domain.rollout_records import RolloutRecord
from bot.domain.rollouts import OperationOutcome, WaveTally, tally_wave, wave_shares
from bot.store import Store


@dataclass(frozen=True)
class WaveView:
    """One wave: its number (1-based), cumulative percentage, devices, and (once started) its numbers."""

    number: int
    percent: int
    size: int
    tally: WaveTally | None  # None: not started
    request_id: str | None = None
    scheduled_time: datetime | None = None


@dataclass(frozen=True)
class RolloutView:
    """A rollout with its waves' numbers, as its message shows it."""

    record: RolloutRecord
    waves: tuple[WaveView, ...]
    now: datetime
    failed_serials: tuple[str, ...] = ()
    unfinished: tuple[tuple[str, str], ...] = ()  # (serial, operation id): created, not final
    operations: dict[str, str] = field(default_factory=dict)  # serial → operation id, of every created device

    @property
    def started(self) -> list[WaveView]:
        return [wave for wave in self.waves if wave.tally is not None]

    @property
    def executed(self) -> int:
        return sum(w.tally.executed for w in self.started if w.tally)

    @property
    def failures(self) -> int:
        return sum(w.tally.failures for w in self.started if w.tally)

    @property
    def created(self) -> int:
        return sum(w.tally.created for w in self.started if w.tally)

    @property
    def never_created(self) -> list[str]:
        """Devices that never received the operation: of waves not started, and not created in started ones."""
        missing = [s for w in self.started if w.tally for s in w.tally.not_created_serials]
        for wave in self.waves:
            if wave.tally is None:
                missing += self.record.plan[wave.number - 1]
        return missing

    def current(self) -> WaveView | None:
        number = self.record.current_wave
        return self.waves[number - 1] if 0 < number <= len(self.waves) else None


def _outcomes(request: ScheduleRecord, statuses: dict[str, str]) -> list[OperationOutcome]:
    outcomes = []
    for item in request.items:
        if item.state is ItemState.CREATED and item.operation_id:
            status = statuses.get(item.operation_id)
            outcomes.append(OperationOutcome(item.device_serial, status, item.scheduled_time, True))
        elif item.state is ItemState.FAILED:  # the API refused it: the device did not get it, a failure
            outcomes.append(OperationOutcome(item.device_serial, "failed", item.scheduled_time, True))
        else:
            outcomes.append(OperationOutcome(item.device_serial, None, item.scheduled_time, False))
    return outcomes


async def rollout_view(store: Store, record: RolloutRecord, *, now: datetime) -> RolloutView:
    """The rollout's waves as they stand at ``now``."""
    requests = {request.wave: request for request in await store.wave_requests(record.id)}
    ids = [i.operation_id for r in requests.values() for i in r.items if i.operation_id]
    known = await store.operation_states_for(ids) if ids else {}
    statuses = {op_id: state.status for op_id, state in known.items()}
    waves: list[WaveView] = []
    done = 0
    failed: list[str] = []
    unfinished: list[tuple[str, str]] = []
    operations: dict[str, str] = {}
    shares = wave_shares(record.total, record.options.waves) if record.total else []
    for number, serials in enumerate(record.plan, 1):
        done += len(serials)
        planned = shares[number - 1][0] if len(shares) == len(record.plan) else None
        percent = planned if planned is not None else round(100 * done / max(1, record.total))
        percent = 100 if number == len(record.plan) else percent  # the last wave reaches every device
        request = requests.get(number)
        if request is None:
            waves.append(WaveView(number, percent, len(serials), None))
            continue
        tally = tally_wave(_outcomes(request, statuses), now=now, op_timeout=record.options.op_timeout)
        waves.append(WaveView(number, percent, len(serials), tally, request.id, request.scheduled_time))
        failed += tally.failed_serials
        by_serial = {i.device_serial: i.operation_id for i in request.items if i.operation_id}
        operations.update(by_serial)
        unfinished += [(s, by_serial[s]) for s in tally.unfinished_serials if s in by_serial]
    return RolloutView(
        record=record, waves=tuple(waves), now=now, failed_serials=tuple(failed), unfinished=tuple(unfinished),
        operations=operations,
    )  # fmt: skip


__all__ = ["RolloutView", "WaveView", "rollout_view"]
