"""Staged rollouts, the pure part: a rollout's states, its options (and how the quick form writes them), the plan
of its waves, the abort rule and the tally of a wave. No I/O, no clock: ``now`` is always given.

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
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.domain.ids import serial_key
from bot.domain.statuses import KNOWN_STATUSES, is_failure, is_terminal, normalize_status


class Gate(StrEnum):
    """How the next wave starts: after the soak (auto) or on an approver's Promote click (manual)."""

    AUTO = "auto"
    MANUAL = "manual"


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

_STATE_WORDS = {RolloutState.WAITING_PROMOTE: "waiting for promote"}


def state_words(state: str) -> str:
    """A state as the rollout message says it: ``waiting for promote``, ``completed with failures``, ``paused``…"""
    state = RolloutState(state)
    return _STATE_WORDS.get(state, state.value.replace("_", " "))


# --- options ---------------------------------------------------------------------------------------------------

DEFAULT_WAVES: tuple[int, ...] = (1, 10, 50, 100)
MAX_WAVES = 10
MAX_SOAK = timedelta(days=7)
MIN_OP_TIMEOUT = timedelta(minutes=1)
MAX_OP_TIMEOUT = timedelta(minutes=10_080)
MAX_RATE_PER_MINUTE = 60_000.0
_WAVES_EXAMPLE = "waves=1,10,50,100"


def waves_problem(waves: Sequence[int]) -> str | None:
    """What is wrong with a list of cumulative wave percentages, or ``None``."""
    if not waves:
        return "give at least one wave"
    if len(waves) > MAX_WAVES:
        return f"{len(waves)} waves is more than {MAX_WAVES}"
    if any(not 1 <= p <= 100 for p in waves):
        return "each wave is a percentage from 1 to 100"
    if any(b <= a for a, b in itertools.pairwise(waves)):
        return "the percentages are cumulative, so each must be larger than the one before"
    if waves[-1] != 100:
        return "the last wave must be 100 (every device)"
    return None


class RolloutOptions(BaseModel):
    """How a rollout proceeds. Validated here too, so the modal and the store get the quick form's rules."""

    model_config = ConfigDict(frozen=True)

    waves: tuple[int, ...] = DEFAULT_WAVES
    soak: timedelta = timedelta(minutes=30)
    gate: Gate = Gate.AUTO
    failure_threshold: float = Field(0.10, ge=0, le=1)
    min_executed: int = Field(5, ge=1)
    max_failures: int | None = Field(None, ge=1)
    rate_per_minute: float = Field(60.0, gt=0, le=MAX_RATE_PER_MINUTE)
    op_timeout: timedelta = Field(timedelta(minutes=60), ge=MIN_OP_TIMEOUT, le=MAX_OP_TIMEOUT)

    @field_validator("waves")
    @classmethod
    def _waves(cls, waves: tuple[int, ...]) -> tuple[int, ...]:
        if (problem := waves_problem(waves)) is not None:
            raise ValueError(f"{problem}, like {_WAVES_EXAMPLE}")
        return waves

    @field_validator("soak")
    @classmethod
    def _soak(cls, soak: timedelta) -> timedelta:
        if not timedelta(0) <= soak <= MAX_SOAK:
            raise ValueError("soak is 0 to 7 days")
        return soak


class RolloutOptionError(ValueError):
    """Options of the quick form that cannot be used. ``field``: the (first) option's name; ``message``: what to type
    instead, with an example; ``problems``: every (option, message) of the call, all reported at once (``str()``
    joins their messages, one a line). Messages quote at most 40 characters of what was typed, in backticks: a Slack
    front end escapes them as any text."""

    def __init__(self, field: str, message: str, problems: Sequence[tuple[str, str]] = ()) -> None:
        self.field = field
        self.message = message
        self.problems: tuple[tuple[str, str], ...] = tuple(problems) or ((field, message),)
        super().__init__("\n".join(text for _, text in self.problems))


_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION_PART = re.compile(r"(\d{1,7})(d|days?|h|hrs?|hours?|m|mins?|minutes?|s|secs?|seconds?)", re.IGNORECASE)
_DURATION = re.compile(rf"(?:{_DURATION_PART.pattern})+\Z", re.IGNORECASE)
_NUMBER = re.compile(r"(\d{1,9}(?:\.\d{0,9})?|\.\d{1,9})\Z")
_RATE = re.compile(
    r"(\d{1,9}(?:\.\d{0,9})?|\.\d{1,9})(?:/(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?))?\Z", re.IGNORECASE
)
_WHOLE = re.compile(r"\d{1,9}\Z")


def parse_duration(text: str) -> timedelta | None:
    """``30m``, ``2h``, ``90s``, ``1d``, ``1h30m`` (units spelled out too: ``30min``, ``2hours``) or a bare whole
    number of minutes (``0``, ``45``); ``None`` if it is none of these."""
    text = text.strip()
    if _WHOLE.match(text):
        return timedelta(minutes=int(text))
    if not _DURATION.match(text):
        return None
    seconds = sum(int(n) * _UNIT_SECONDS[unit[0].lower()] for n, unit in _DURATION_PART.findall(text))
    return timedelta(seconds=seconds) if seconds <= 3650 * 86400 else None


def _shown(name: str, value: str) -> str:
    shown = value[:40].replace("`", "'")
    return f"`{name}={shown}`"


def _parse_waves(value: str) -> tuple[int, ...]:
    parts = [part.strip().removesuffix("%") for part in value.split(",")]
    if not all(_WHOLE.match(part) for part in parts):
        raise ValueError("not a list of whole percentages")
    waves = tuple(int(part) for part in parts)
    if (problem := waves_problem(waves)) is not None:
        raise ValueError(problem)
    return waves


def _parse_soak(value: str) -> timedelta:
    soak = parse_duration(value)
    if soak is None:
        raise ValueError("not a duration")
    if soak > MAX_SOAK:
        raise ValueError("at most 7 days")
    return soak


def _parse_op_timeout(value: str) -> timedelta:
    timeout = parse_duration(value)
    if timeout is None:
        raise ValueError("not a duration")
    if not MIN_OP_TIMEOUT <= timeout <= MAX_OP_TIMEOUT:
        raise ValueError("it is 1 minute to 7 days (10,080 minutes)")
    return timeout


def _parse_gate(value: str) -> Gate:
    try:
        return Gate(value.strip().lower())
    except ValueError:
        raise ValueError("it is auto or manual") from None


def _parse_threshold(value: str) -> float:
    text = value.strip()
    percent = text.endswith("%")
    number = text.removesuffix("%").strip()
    if not _NUMBER.match(number):
        raise ValueError("not a percentage")
    try:
        amount = Decimal(number)
    except InvalidOperation:  # pragma: no cover - the pattern lets only numbers through
        raise ValueError("not a percentage") from None
    if percent or "." not in number:
        if amount > 100:
            raise ValueError("a percentage is 0 to 100")
        amount /= 100
    elif amount > 1:
        raise ValueError("a number with a decimal point is a fraction, 0 to 1")
    return float(amount)


def _parse_whole(value: str) -> int:
    if not _WHOLE.match(value.strip()) or int(value) < 1:
        raise ValueError("a whole number, 1 or more")
    return int(value)


def _parse_max_failures(value: str) -> int | None:
    if value.strip().lower() in ("none", "off"):
        return None
    return _parse_whole(value)


def _parse_rate(value: str) -> float:
    match = _RATE.match(value.strip())
    if match is None:
        raise ValueError("not a rate")
    per = {"s": 60, "m": 1, "h": Fraction(1, 60)}[(match.group(2) or "m")[0].lower()]
    rate = float(Fraction(Decimal(match.group(1))) * per)
    if not 0 < rate <= MAX_RATE_PER_MINUTE:
        raise ValueError(f"above 0 and at most {MAX_RATE_PER_MINUTE:,.0f} a minute")
    return rate


# name → (field of RolloutOptions, reader, how to write it)
_OPTIONS: dict[str, tuple[str, Callable[[str], object], str]] = {
    "waves": (
        "waves",
        _parse_waves,
        "cumulative percentages, strictly increasing, the last 100, like " + _WAVES_EXAMPLE,
    ),
    "soak": ("soak", _parse_soak, "a duration, like soak=30m, soak=2h, soak=1h30m or soak=0"),
    "gate": ("gate", _parse_gate, "gate=auto or gate=manual"),
    "failure_threshold": (
        "failure_threshold",
        _parse_threshold,
        "a percentage, like failure_threshold=10% (or 0.1), failure_threshold=0% to abort on the first failure",
    ),
    "min_executed": ("min_executed", _parse_whole, "a whole number, like min_executed=5"),
    "max_failures": ("max_failures", _parse_max_failures, "a whole number, like max_failures=3 (or none)"),
    "rate": ("rate_per_minute", _parse_rate, "operations per second, minute or hour, like rate=60/min or rate=2/s"),
    "op_timeout": ("op_timeout", _parse_op_timeout, "a duration of 1 minute to 7 days, like op_timeout=60m or 2h"),
}
#: The quick form's option names, as they are written.
OPTION_NAMES: tuple[str, ...] = tuple(_OPTIONS)
_OPTION_WORD = re.compile(r"([A-Za-z][A-Za-z_-]*)(:?=)(.*)\Z", re.DOTALL)
_PAIR_START = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*(:?=)")
_QUOTES = {
    '"': '"',
    "'": "'",
    "\u201c": "\u201d\u201c",
    "\u201e": "\u201c\u201d",
    "\u2018": "\u2019",
    "\u201a": "\u2018\u2019",
}
_DOUBLE_QUOTES = '"\u201c\u201d\u201e\u201f'


@dataclass
class _Scan:
    """Where the parameter words stand: inside a quoted value (``closers``) or a JSON value (``depth``)."""

    closers: str = ""
    depth: int = 0
    in_string: bool = False

    def inside(self) -> bool:
        return bool(self.closers) or self.depth > 0 or self.in_string

    def json(self, text: str) -> None:
        escaped = False
        for ch in text:
            if self.in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch in _DOUBLE_QUOTES:
                    self.in_string = False
            elif ch in _DOUBLE_QUOTES:
                self.in_string = True
            elif ch in "{[":
                self.depth += 1
            elif ch in "}]":
                self.depth = max(0, self.depth - 1)

    def step(self, word: str) -> None:
        """Follow a parameter word, so an option-like word inside a quoted or JSON value stays in it."""
        if self.closers:
            if any(c in word for c in self.closers):
                self.closers = ""
        elif self.depth or self.in_string:
            self.json(word)
        elif word.startswith("{"):
            self.json(word)
        elif pair := _PAIR_START.match(word):
            value = word[pair.end() :]
            if pair.group(1) == ":=":
                self.json(value)
            elif value[:1] in _QUOTES and not any(c in value[1:] for c in _QUOTES[value[:1]]):
                self.closers = _QUOTES[value[:1]]


def split_rollout_options(words: Sequence[str]) -> tuple[RolloutOptions, list[str]]:
    """The quick form's trailing words → (the options, the other words in order: the operation's parameters).

    An option is ``name=value`` with a name of :data:`OPTION_NAMES` (case-insensitive, ``-`` for ``_``); a word inside
    a quoted parameter value (``note="rate=5 please"``) or a JSON one stays a parameter. Every problem (a bad value,
    an option given twice, ``name:=value``) is reported at once in one :class:`RolloutOptionError`."""
    values: dict[str, object] = {}
    seen: set[str] = set()
    rest: list[str] = []
    problems: list[tuple[str, str]] = []
    scan = _Scan()
    for word in words:
        match = None if scan.inside() else _OPTION_WORD.match(word)
        name = match.group(1).lower().replace("-", "_") if match else ""
        if match is None or name not in _OPTIONS:
            rest.append(word)
            scan.step(word)
            continue
        operator, value = match.group(2), match.group(3)
        field, reader, how = _OPTIONS[name]
        if name in seen:
            problems.append((name, f"`{name}` is given twice; keep one."))
            continue
        seen.add(name)
        if operator == ":=":
            problems.append((name, f"{_shown(name + ':', value)}: write {name}= (with no colon); {how}."))
            continue
        if not value.strip():
            problems.append((name, f"`{name}=` has no value: {how}."))
            continue
        try:
            values[field] = reader(value)
        except ValueError as exc:
            problems.append((name, f"{_shown(name, value)}: {exc}. Write {how}."))
    if problems:
        raise RolloutOptionError(problems[0][0], problems[0][1], problems)
    return RolloutOptions.model_validate(values), rest


def format_duration(duration: timedelta) -> str:
    """``1h30m``, ``30m``, ``90s`` → ``1m30s``, ``0``: a duration as the options write it (and read it back)."""
    seconds = int(duration.total_seconds())
    if seconds <= 0:
        return "0"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def format_percent(fraction: float) -> str:
    """0.1 → ``10 %``, 0.125 → ``12.5 %`` (the issue's spacing)."""
    return f"{fraction * 100:.2f}".rstrip("0").rstrip(".") + " %"


def format_rate(rate_per_minute: float) -> str:
    """60.0 → ``60/min``, 2.5 → ``2.5/min``; under one a minute, by the hour when whole (0.5 → ``30/h``)."""
    if rate_per_minute < 1 and (hourly := round(rate_per_minute * 60, 6)).is_integer():
        return f"{hourly:g}/h"
    return f"{rate_per_minute:g}/min"


def option_words(options: RolloutOptions, *, every: bool = False) -> list[str]:
    """The options as quick-form words that read back to them (the defaults left out unless ``every``): for the
    preview's parameters and a cloned rollout's command."""
    default = RolloutOptions()
    threshold = f"{Decimal(repr(options.failure_threshold)) * 100:f}".rstrip("0").rstrip(".")
    words = {
        "waves": ",".join(str(p) for p in options.waves),
        "soak": format_duration(options.soak),
        "gate": options.gate.value,
        "failure_threshold": f"{threshold}%",
        "min_executed": str(options.min_executed),
        "max_failures": "none" if options.max_failures is None else str(options.max_failures),
        "rate": format_rate(options.rate_per_minute),
        "op_timeout": format_duration(options.op_timeout),
    }
    return [
        f"{name}={text}"
        for name, text in words.items()
        if every or getattr(options, _OPTIONS[name][0]) != getattr(default, _OPTIONS[name][0])
    ]


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
    for _, size in wave_shares(len(ordered), waves):
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
    """Why the rollout must abort now, or ``None``. ``executed``: operations that reached a final status (completed,
    failed, expired) or timed out; ``failures``: failed, expired or timed out.

    Abort when at least :func:`effective_min_executed` operations executed and ``failures / executed`` is at or
    above ``failure_threshold`` (exactly at it aborts); ``failure_threshold`` 0 aborts on the first failure, however
    few executed; or when ``max_failures`` is given and reached."""
    threshold = _exact(options.failure_threshold)
    if failures >= 1 and threshold == 0:
        noun = "operation" if failures == 1 else "operations"
        return f"{failures} {noun} failed, and failure_threshold is 0 %: a rollout stops at its first failure."
    minimum = effective_min_executed(options, total)
    if failures >= 1 and executed >= minimum and Fraction(failures, executed) >= threshold:
        rate = format_percent(failures / executed)
        return (
            f"{failures} of {executed} executed operations failed ({rate}), "
            f"at or above the {format_percent(options.failure_threshold)} threshold."
        )
    if options.max_failures is not None and failures >= options.max_failures:
        return f"{failures} operations failed, reaching max_failures={options.max_failures}."
    return None


def abort_rule_text(options: RolloutOptions, total: int) -> str:
    """The abort rule in words for the preview, saying when ``min_executed`` was clamped to the rollout's size."""
    threshold = _exact(options.failure_threshold)
    minimum = effective_min_executed(options, total)
    if threshold == 0:
        text = "Abort at the first failure (failure_threshold=0%)"
    else:
        share = "every one" if threshold == 1 else f"{format_percent(options.failure_threshold)} or more"
        text = f"Abort when {share} of the executed operations failed, once at least {minimum} have executed"
        if minimum < options.min_executed:
            devices = "device" if total == 1 else "devices"
            text += f" (min_executed={options.min_executed} lowered to the rollout's {total} {devices})"
    if options.max_failures is not None:
        text += f", or at {options.max_failures} failures"
    return (
        f"{text}. Failed, expired and timed-out operations (not final {format_duration(options.op_timeout)} after "
        "their scheduled time) count as failures."
    )


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
    head = f"Wave {index}/{count} · {percent} %"
    if tally.created == 0:
        devices = "device" if tally.total == 1 else "devices"
        return f"{head} · {tally.total:,} {devices}, not started"
    line = f"{head} · {tally.completed:,} ✅ {tally.failures:,} ❌ {tally.pending:,} ⏳"
    if tally.timed_out:
        line += f" ({tally.timed_out:,} timed out)"
    if tally.cancelled:
        line += f" · {tally.cancelled:,} cancelled"
    if tally.not_created:
        line += f" · {tally.not_created:,} not created"
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
