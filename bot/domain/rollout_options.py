"""A rollout's options: how the quick form writes them, how they are checked, and how they are written back.

Names case-insensitive, ``-`` read as ``_``; each at most once (see ``bot.domain.rollouts`` for what they mean)::

    waves=1,10,50,100  soak=30m  gate=auto|manual  failure_threshold=10%  min_executed=5  max_failures=3
    rate=60/min  op_timeout=60m
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.domain.quotes import CLOSING_QUOTES, DOUBLE_QUOTES
from bot.i18n import N_, _


class Gate(StrEnum):
    """How the next wave starts: after the soak (auto) or on an approver's Promote click (manual)."""

    AUTO = "auto"
    MANUAL = "manual"


# --- options ---------------------------------------------------------------------------------------------------

DEFAULT_WAVES: tuple[int, ...] = (1, 10, 50, 100)
MAX_WAVES = 10
MAX_SOAK = timedelta(days=7)
MIN_OP_TIMEOUT = timedelta(minutes=1)
MAX_OP_TIMEOUT = timedelta(minutes=10_080)
MAX_RATE_PER_MINUTE = 60_000.0
_WAVES_EXAMPLE = "waves=1,10,50,100"


def waves_problem(waves: Sequence[int]) -> str | None:
    """What is wrong with a list of cumulative wave percentages (in the reader's language), or ``None``."""
    if not waves:
        return _("give at least one wave")
    if len(waves) > MAX_WAVES:
        return _("{count} waves is more than {max_waves}").format(count=len(waves), max_waves=MAX_WAVES)
    if any(not 1 <= p <= 100 for p in waves):
        return _("each wave is a percentage from 1 to 100")
    if any(b <= a for a, b in itertools.pairwise(waves)):
        return _("the percentages are cumulative, so each must be larger than the one before")
    if waves[-1] != 100:
        return _("the last wave must be 100 (every device)")
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
            raise ValueError(_("{problem}, like {example}").format(problem=problem, example=_WAVES_EXAMPLE))
        return waves

    @field_validator("soak")
    @classmethod
    def _soak(cls, soak: timedelta) -> timedelta:
        if not timedelta(0) <= soak <= MAX_SOAK:
            raise ValueError(_("soak is 0 to 7 days"))
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
        super().__init__("\n".join(text for _name, text in self.problems))


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
        raise ValueError(_("not a list of whole percentages"))
    waves = tuple(int(part) for part in parts)
    if (problem := waves_problem(waves)) is not None:
        raise ValueError(problem)
    return waves


def _parse_soak(value: str) -> timedelta:
    soak = parse_duration(value)
    if soak is None:
        raise ValueError(_("not a duration"))
    if soak > MAX_SOAK:
        raise ValueError(_("at most 7 days"))
    return soak


def _parse_op_timeout(value: str) -> timedelta:
    timeout = parse_duration(value)
    if timeout is None:
        raise ValueError(_("not a duration"))
    if not MIN_OP_TIMEOUT <= timeout <= MAX_OP_TIMEOUT:
        raise ValueError(_("it is 1 minute to 7 days (10,080 minutes)"))
    return timeout


def _parse_gate(value: str) -> Gate:
    try:
        return Gate(value.strip().lower())
    except ValueError:
        raise ValueError(_("it is auto or manual")) from None


def _parse_threshold(value: str) -> float:
    text = value.strip()
    percent = text.endswith("%")
    number = text.removesuffix("%").strip()
    if not _NUMBER.match(number):
        raise ValueError(_("not a percentage"))
    try:
        amount = Decimal(number)
    except InvalidOperation:  # pragma: no cover - the pattern lets only numbers through
        raise ValueError(_("not a percentage")) from None
    if percent or "." not in number:
        if amount > 100:
            raise ValueError(_("a percentage is 0 to 100"))
        amount /= 100
    elif amount > 1:
        raise ValueError(_("a number with a decimal point is a fraction, 0 to 1"))
    return float(amount)


def _parse_whole(value: str) -> int:
    if not _WHOLE.match(value.strip()) or int(value) < 1:
        raise ValueError(_("a whole number, 1 or more"))
    return int(value)


def _parse_max_failures(value: str) -> int | None:
    if value.strip().lower() in ("none", "off"):
        return None
    return _parse_whole(value)


def _parse_rate(value: str) -> float:
    match = _RATE.match(value.strip())
    if match is None:
        raise ValueError(_("not a rate"))
    per = {"s": 60, "m": 1, "h": Fraction(1, 60)}[(match.group(2) or "m")[0].lower()]
    rate = float(Fraction(Decimal(match.group(1))) * per)
    if not 0 < rate <= MAX_RATE_PER_MINUTE:
        raise ValueError(_("above 0 and at most {rate} a minute").format(rate=f"{MAX_RATE_PER_MINUTE:,.0f}"))
    return rate


# name → (field of RolloutOptions, reader, how to write it: marked here, said with ``_how`` in the reader's language)
_OPTIONS: dict[str, tuple[str, Callable[[str], object], str]] = {
    "waves": (
        "waves",
        _parse_waves,
        N_("cumulative percentages, strictly increasing, the last 100, like {example}"),
    ),
    "soak": ("soak", _parse_soak, N_("a duration, like soak=30m, soak=2h, soak=1h30m or soak=0")),
    "gate": ("gate", _parse_gate, N_("gate=auto or gate=manual")),
    "failure_threshold": (
        "failure_threshold",
        _parse_threshold,
        N_("a percentage, like failure_threshold=10% (or 0.1), failure_threshold=0% to abort on the first failure"),
    ),
    "min_executed": ("min_executed", _parse_whole, N_("a whole number, like min_executed=5")),
    "max_failures": ("max_failures", _parse_max_failures, N_("a whole number, like max_failures=3 (or none)")),
    "rate": (
        "rate_per_minute", _parse_rate, N_("operations per second, minute or hour, like rate=60/min or rate=2/s")
    ),
    "op_timeout": (
        "op_timeout", _parse_op_timeout, N_("a duration of 1 minute to 7 days, like op_timeout=60m or 2h")
    ),
}  # fmt: skip


def _how(how: str) -> str:
    """How to write an option, in the reader's language."""
    return _(how).format(example=_WAVES_EXAMPLE)


#: The quick form's option names, as they are written.
OPTION_NAMES: tuple[str, ...] = tuple(_OPTIONS)
_OPTION_WORD = re.compile(r"([A-Za-z][A-Za-z_-]*)(:?=)(.*)\Z", re.DOTALL)
_PAIR_START = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*(:?=)")
_QUOTES = CLOSING_QUOTES
_DOUBLE_QUOTES = DOUBLE_QUOTES


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
            problems.append((name, _("`{name}` is given twice; keep one.").format(name=name)))
            continue
        seen.add(name)
        if operator == ":=":
            text = _("{shown}: write {name}= (with no colon); {how}.")
            problems.append((name, text.format(shown=_shown(name + ":", value), name=name, how=_how(how))))
            continue
        if not value.strip():
            problems.append((name, _("`{name}=` has no value: {how}.").format(name=name, how=_how(how))))
            continue
        try:
            values[field] = reader(value)
        except ValueError as exc:
            text = _("{shown}: {problem}. Write {how}.")
            problems.append((name, text.format(shown=_shown(name, value), problem=exc, how=_how(how))))
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


__all__ = [
    "DEFAULT_WAVES",
    "MAX_WAVES",
    "OPTION_NAMES",
    "Gate",
    "RolloutOptionError",
    "RolloutOptions",
    "format_duration",
    "format_percent",
    "format_rate",
    "option_words",
    "parse_duration",
    "split_rollout_options",
    "waves_problem",
]
