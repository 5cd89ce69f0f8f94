"""Staged rollouts, the pure part: a rollout's states, its options (read and written by
``bot.domain.rollout_options``, re-exported here), the plan of its waves, the abort rule and the tally of a wave.
No I/O, no clock: ``now`` is always given.

Options in the quick form (names case-insensitive, ``-`` read as ``_``; each at most once)::

    waves=1,10,50,100        cumulative percentages (a % after each is allowed), strictly increasing, the last 100,
                             at most 10, each 1..100
    soak=30m                 a duration: 90s, 30m, 2h, 1d, 1h30m, 0; a bare number is minutes; at most 7 days
    gate=auto|manual
    failure_threshold=10%    10% (a percent, decimals allowed: 12.5%), 10 (a whole number is a percent),
                             0.1 (a number with a decimal point is a fraction, 0..1); 0 aborts on the first failure
    min_executed=5           a whole number ≥ 1 (clamped to the rollout's size)
    max_failures=3           a whole number ≥ 1, or none/off
    rate=60/min              operations created per second, minute or hour: 1/s, 60/min, 600/h (a bare number is a
                             minute); above 0, at most 60,000 a minute
    op_timeout=60m           a duration as for soak, 1 minute .. 7 days (10,080 minutes)

Wave plan: devices ordered by sha256(rollout id + ``serial_key(serial)``) in hex (case does not change a device's
place), wave *i* gets ``ceil(pᵢ·N/100) − ceil(pᵢ₋₁·N/100)`` of them, and a wave left empty merges into the next.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from bot.domain import rollout_reasons as reasons
from bot.domain.ids import serial_key
from bot.domain.rollout_options import (
    DEFAULT_WAVES,
    MAX_WAVES,
    OPTION_NAMES,
    Gate,
    RolloutOptionError,
    RolloutOptions,
    format_duration,
    format_percent,
    format_rate,
    option_words,
    parse_duration,
    split_rollout_options,
    waves_problem,
)
from bot.domain.statuses import KNOWN_STATUSES, is_failure, is_terminal, normalize_status
from bot.i18n import N_, _, ngettext


class RolloutState(StrEnum):
    """Where a rollout stands."""

    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    SOAKING = "soaking"
    WAITING_PROMOTE = "waiting_promote"
    PAUSED = "paused"
    ABORTED = "aborted"
    COMPLETED = "completed"
    COMPLETED_WITH_FAILURES = "completed_with_failures"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


#: A device in a rollout in one of these states is "in an active rollout" (a draft is not yet).
ACTIVE_ROLLOUT_STATES: frozenset[RolloutState] = frozenset(
    {
        RolloutState.PENDING_APPROVAL,
        RolloutState.SCHEDULED,
        RolloutState.RUNNING,
        RolloutState.SOAKING,
        RolloutState.WAITING_PROMOTE,
        RolloutState.PAUSED,
    }
)
#: A rollout in one of these states never changes again.
FINAL_ROLLOUT_STATES: frozenset[RolloutState] = frozenset(
    {
        RolloutState.ABORTED,
        RolloutState.COMPLETED,
        RolloutState.COMPLETED_WITH_FAILURES,
        RolloutState.REJECTED,
        RolloutState.CANCELLED,
        RolloutState.EXPIRED,
    }
)

_STATE_WORDS = {
    RolloutState.DRAFT: N_("draft"),
    RolloutState.PENDING_APPROVAL: N_("pending approval"),
    RolloutState.SCHEDULED: N_("scheduled"),
    RolloutState.RUNNING: N_("running"),
    RolloutState.SOAKING: N_("soaking"),
    RolloutState.WAITING_PROMOTE: N_("waiting for promote"),
    RolloutState.PAUSED: N_("paused"),
    RolloutState.ABORTED: N_("aborted"),
    RolloutState.COMPLETED: N_("completed"),
    RolloutState.COMPLETED_WITH_FAILURES: N_("completed with failures"),
    RolloutState.REJECTED: N_("rejected"),
    RolloutState.CANCELLED: N_("cancelled"),
    RolloutState.EXPIRED: N_("expired"),
}


def state_words(state: str) -> str:
    """A state as the rollout message says it, in the reader's language: ``waiting for promote``, ``completed with
    failures``, ``paused``…"""
    return _(_STATE_WORDS[RolloutState(state)])


# --- the plan --------------------------------------------------------------------------------------------------


def device_order(rollout_id: str, serials: Sequence[str]) -> list[str]:
    """The rollout's devices in their fixed order: by sha256(rollout id + ``serial_key(serial)``) in hex, ascending,
    so the order (and the canary set) depends neither on the order given nor on a serial's case. Duplicates (same
    ``serial_key``) are dropped, keeping the first spelling."""
    first: dict[str, str] = {}
    for serial in serials:
        first.setdefault(serial_key(serial), serial)

    def rank(key: str) -> tuple[str, str]:
        return hashlib.sha256((rollout_id + key).encode()).hexdigest(), key

    return [first[key] for key in sorted(first, key=rank)]


def wave_shares(total: int, waves: Sequence[int]) -> list[tuple[int, int]]:
    """(cumulative percent, size) of each wave of ``total`` devices, a wave left empty merged into the next (so
    dropped: its percent is not reached by any device of its own). Sizes sum to ``total``; none is 0."""
    if (problem := waves_problem(waves)) is not None:
        raise ValueError(f"waves {list(waves)}: {problem}")
    shares: list[tuple[int, int]] = []
    before = 0
    for percent in waves:
        upto = -(-percent * total // 100)  # ceil(percent·total/100), in integers
        if upto > before:
            shares.append((percent, upto - before))
            before = upto
    return shares


def plan_waves(rollout_id: str, serials: Sequence[str], waves: Sequence[int]) -> list[list[str]]:
    """The devices of each wave: :func:`device_order`, cut by :func:`wave_shares` (no empty wave)."""
    ordered = device_order(rollout_id, serials)
    plan: list[list[str]] = []
    start = 0
    for _percent, size in wave_shares(len(ordered), waves):
        plan.append(ordered[start : start + size])
        start += size
    return plan


def wave_sizes(plan: Sequence[Sequence[str]]) -> list[int]:
    """How many devices each wave of a plan has (for the preview)."""
    return [len(wave) for wave in plan]


# --- the abort rule --------------------------------------------------------------------------------------------


def _exact(fraction: float) -> Fraction:
    """A threshold as the decimal it was written as (0.07, not the float nearest it), for exact comparisons."""
    return Fraction(repr(fraction))


def effective_min_executed(options: RolloutOptions, total: int) -> int:
    """``min_executed``, clamped to the rollout's ``total`` devices (and at least 1)."""
    return max(1, min(options.min_executed, total))


def abort_reason(options: RolloutOptions, *, total: int, executed: int, failures: int) -> str | None:
    """Why the rollout must abort now (in English, as it is stored: ``rollout_reasons.reason_words`` says it in the
    reader's language), or ``None``. ``executed``: operations that reached a final status (completed,
    failed, expired) or timed out; ``failures``: failed, expired or timed out.

    Abort when at least :func:`effective_min_executed` operations executed and ``failures / executed`` is at or
    above ``failure_threshold`` (exactly at it aborts); ``failure_threshold`` 0 aborts on the first failure, however
    few executed; or when ``max_failures`` is given and reached."""
    threshold = _exact(options.failure_threshold)
    if failures >= 1 and threshold == 0:
        return reasons.english(reasons.FIRST_FAILURE, failures=failures)
    minimum = effective_min_executed(options, total)
    if failures >= 1 and executed >= minimum and Fraction(failures, executed) >= threshold:
        return reasons.english(
            reasons.OVER_THRESHOLD, failures=failures, executed=executed, rate=format_percent(failures / executed),
            threshold=format_percent(options.failure_threshold),
        )  # fmt: skip
    if options.max_failures is not None and failures >= options.max_failures:
        return reasons.english(reasons.MAX_FAILURES, failures=failures, max_failures=options.max_failures)
    return None


def abort_rule_text(options: RolloutOptions, total: int) -> str:
    """The abort rule in words (the reader's language) for the preview, saying when ``min_executed`` was clamped to
    the rollout's size."""
    threshold = _exact(options.failure_threshold)
    minimum = effective_min_executed(options, total)
    if threshold == 0:
        text = _("Abort at the first failure (failure_threshold=0%)")
    else:
        if threshold == 1:
            text = _("Abort when every one of the executed operations failed, once at least {minimum} have executed")
        else:
            text = _(
                "Abort when {threshold} or more of the executed operations failed, once at least {minimum} have "
                "executed"
            )
        text = text.format(threshold=format_percent(options.failure_threshold), minimum=minimum)
        if minimum < options.min_executed:
            text += " " + ngettext(
                "(min_executed={min_executed} lowered to the rollout's {total} device)",
                "(min_executed={min_executed} lowered to the rollout's {total} devices)",
                total,
            ).format(min_executed=options.min_executed, total=total)
    if options.max_failures is not None:
        text += _(", or at {max_failures} failures").format(max_failures=options.max_failures)
    return _(
        "{rule}. Failed, expired and timed-out operations (not final {timeout} after their scheduled time) count as "
        "failures."
    ).format(rule=text, timeout=format_duration(options.op_timeout))


def wave_passes(options: RolloutOptions, *, executed: int, failures: int) -> bool:
    """Does a settled wave let the next one start: its success rate at or above ``100% − failure_threshold``
    (``failures / executed ≤ failure_threshold``)? A wave where nothing executed passes (nothing failed)."""
    if executed <= 0:
        return failures <= 0
    return Fraction(failures, executed) <= _exact(options.failure_threshold)


# --- the tally of a wave ---------------------------------------------------------------------------------------

#: The final statuses the Control API documents; others are read with ``bot.domain.statuses`` (a ``firmware_error``
#: is a failure, a ``cancelled`` is final but not one, an unknown status is still running).
FINAL_OPERATION_STATUSES: tuple[str, ...] = tuple(s for s in KNOWN_STATUSES if s in ("completed", "failed", "expired"))
_CANCELLED = ("cancelled", "canceled")


@dataclass(frozen=True)
class OperationOutcome:
    """One device of a wave: its operation's API status (``None`` when not known yet), its scheduled time, and
    whether the operation was created at all."""

    serial: str
    status: str | None
    scheduled_time: datetime
    created: bool


@dataclass(frozen=True)
class WaveTally:
    """How a wave stands. ``timed_out``: created, not final, and ``op_timeout`` passed after its scheduled time;
    ``pending``: created and neither final nor timed out; ``cancelled``: final but neither success nor failure
    (the API has no cancel; counted as executed, not failed). Serial tuples are in the outcomes' order."""

    total: int
    created: int
    completed: int
    failed: int
    expired: int
    timed_out: int
    pending: int
    not_created: int
    cancelled: int = 0
    failed_serials: tuple[str, ...] = ()  # failed, expired or timed out
    unfinished_serials: tuple[str, ...] = ()  # created, not final (pending or timed out): cannot be cancelled
    not_created_serials: tuple[str, ...] = ()

    @property
    def executed(self) -> int:
        """Reached a final status or timed out."""
        return self.completed + self.failed + self.expired + self.timed_out + self.cancelled

    @property
    def failures(self) -> int:
        return self.failed + self.expired + self.timed_out

    @property
    def settled(self) -> bool:
        """Every device's operation was created and reached a final status or timed out. A device never created
        keeps a wave unsettled (it may still be created); for a rollout that stopped, see :attr:`finished`."""
        return self.pending == 0 and self.not_created == 0

    @property
    def finished(self) -> bool:
        """Nothing created is still pending: the wave's end for a rollout that stopped creating (aborted)."""
        return self.pending == 0

    @property
    def success_rate(self) -> float:
        """Executed operations that did not fail, as a fraction (1.0 when nothing executed)."""
        return 1.0 if self.executed == 0 else (self.executed - self.failures) / self.executed


def tally_wave(outcomes: Sequence[OperationOutcome], *, now: datetime, op_timeout: timedelta) -> WaveTally:
    """Count a wave's outcomes: ``completed`` (and other success words), ``failed`` (any failure status but
    ``expired``), ``expired``, cancelled, timed out (created, not final, ``scheduled_time + op_timeout <= now``),
    pending, not created."""
    counts = dict.fromkeys(("completed", "failed", "expired", "timed_out", "pending", "not_created", "cancelled"), 0)
    failed: list[str] = []
    unfinished: list[str] = []
    not_created: list[str] = []
    for outcome in outcomes:
        key = normalize_status(outcome.status)
        if not outcome.created:
            kind = "not_created"
            not_created.append(outcome.serial)
        elif is_terminal(key):
            kind = ("expired" if key == "expired" else "failed") if is_failure(key) else "completed"
            kind = "cancelled" if key in _CANCELLED else kind
        else:
            kind = "timed_out" if outcome.scheduled_time + op_timeout <= now else "pending"
            unfinished.append(outcome.serial)
        if kind in ("failed", "expired", "timed_out"):
            failed.append(outcome.serial)
        counts[kind] += 1
    total = len(outcomes)
    return WaveTally(
        total=total,
        created=total - counts["not_created"],
        **counts,
        failed_serials=tuple(failed),
        unfinished_serials=tuple(unfinished),
        not_created_serials=tuple(not_created),
    )


def wave_line(index: int, count: int, percent: int, tally: WaveTally) -> str:
    """``Wave 2/4 · 10 % · 45 ✅ 3 ❌ 2 ⏳``: ✅ completed, ❌ failures (failed, expired, timed out — the timed-out
    ones said), ⏳ created and still pending; devices not created yet said apart, a wave not begun by its size."""
    if tally.created == 0:
        return ngettext(
            "Wave {index}/{count} · {percent} % · {n} device, not started",
            "Wave {index}/{count} · {percent} % · {n} devices, not started",
            tally.total,
        ).format(index=index, count=count, percent=percent, n=f"{tally.total:,}")
    line = _("Wave {index}/{count} · {percent} % · {completed} ✅ {failures} ❌ {pending} ⏳").format(
        index=index, count=count, percent=percent, completed=f"{tally.completed:,}", failures=f"{tally.failures:,}",
        pending=f"{tally.pending:,}",
    )  # fmt: skip
    if tally.timed_out:
        line += " " + _("({n} timed out)").format(n=f"{tally.timed_out:,}")
    if tally.cancelled:
        line += " · " + _("{n} cancelled").format(n=f"{tally.cancelled:,}")
    if tally.not_created:
        line += " · " + _("{n} not created").format(n=f"{tally.not_created:,}")
    return line


__all__ = [
    "ACTIVE_ROLLOUT_STATES",
    "DEFAULT_WAVES",
    "FINAL_OPERATION_STATUSES",
    "FINAL_ROLLOUT_STATES",
    "MAX_WAVES",
    "OPTION_NAMES",
    "Gate",
    "OperationOutcome",
    "RolloutOptionError",
    "RolloutOptions",
    "RolloutState",
    "WaveTally",
    "abort_reason",
    "abort_rule_text",
    "device_order",
    "effective_min_executed",
    "format_duration",
    "format_percent",
    "format_rate",
    "option_words",
    "parse_duration",
    "plan_waves",
    "split_rollout_options",
    "state_words",
    "tally_wave",
    "wave_line",
    "wave_passes",
    "wave_shares",
    "wave_sizes",
    "waves_problem",
]
