"""Staged rollouts, the pure domain: states, the quick form's options, the wave plan, the abort rule, a wave's tally.

Expected plan sizes are worked by hand from the issue's rule (wave i gets ceil(pᵢ·N) − ceil(pᵢ₋₁·N), an empty wave
merges into the next); the device order is checked against sha256 computed here, not against the module's output.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.domain.rollouts import (
    ACTIVE_ROLLOUT_STATES,
    DEFAULT_WAVES,
    FINAL_ROLLOUT_STATES,
    OPTION_NAMES,
    Gate,
    OperationOutcome,
    RolloutOptionError,
    RolloutOptions,
    RolloutState,
    WaveTally,
    abort_reason,
    abort_rule_text,
    device_order,
    effective_min_executed,
    format_duration,
    option_words,
    parse_duration,
    plan_waves,
    split_rollout_options,
    state_words,
    tally_wave,
    wave_line,
    wave_passes,
    wave_shares,
    wave_sizes,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def fleet(n: int, prefix: str = "SN") -> list[str]:
    return [f"{prefix}{i:06d}" for i in range(n)]


# --- states ----------------------------------------------------------------------------------------------------


def test_state_words_for_every_state() -> None:
    expected = {
        "draft": "draft",
        "pending_approval": "pending approval",
        "scheduled": "scheduled",
        "running": "running",
        "soaking": "soaking",
        "waiting_promote": "waiting for promote",
        "paused": "paused",
        "aborted": "aborted",
        "completed": "completed",
        "completed_with_failures": "completed with failures",
        "rejected": "rejected",
        "cancelled": "cancelled",
        "expired": "expired",
    }
    assert {state.value for state in RolloutState} == set(expected)
    for state in RolloutState:
        assert state_words(state) == expected[state.value]
        assert state_words(state.value) == expected[state.value]  # plain strings too
    with pytest.raises(ValueError):
        state_words("done")


def test_active_and_final_states_split_the_states() -> None:
    assert not ACTIVE_ROLLOUT_STATES & FINAL_ROLLOUT_STATES
    assert ACTIVE_ROLLOUT_STATES | FINAL_ROLLOUT_STATES | {RolloutState.DRAFT} == set(RolloutState)
    assert RolloutState.PAUSED in ACTIVE_ROLLOUT_STATES and RolloutState.DRAFT not in ACTIVE_ROLLOUT_STATES
    assert "completed_with_failures" in FINAL_ROLLOUT_STATES


# --- the plan --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "waves", "sizes", "percents"),
    [
        (1, DEFAULT_WAVES, [1], [1]),
        (2, DEFAULT_WAVES, [1, 1], [1, 100]),  # 10 % and 50 % of 2 round up to the canary: merged
        (7, DEFAULT_WAVES, [1, 3, 3], [1, 50, 100]),
        (100, DEFAULT_WAVES, [1, 9, 40, 50], [1, 10, 50, 100]),
        (2000, DEFAULT_WAVES, [20, 180, 800, 1000], [1, 10, 50, 100]),
        (3, (50, 100), [2, 1], [50, 100]),
        (5, (100,), [5], [100]),
        (10, (1, 2, 3, 100), [1, 9], [1, 100]),
        (100, (33, 66, 100), [33, 33, 34], [33, 66, 100]),
        (2000, (1, 2, 3, 4, 5, 10, 20, 40, 80, 100), [20, 20, 20, 20, 20, 100, 200, 400, 800, 400], None),
    ],
)
def test_plan_sizes(n: int, waves: tuple[int, ...], sizes: list[int], percents: list[int] | None) -> None:
    plan = plan_waves("ro_1", fleet(n), waves)
    assert wave_sizes(plan) == sizes
    assert sum(sizes) == n and all(sizes)
    assert [size for _, size in wave_shares(n, waves)] == sizes
    if percents is not None:
        assert [percent for percent, _ in wave_shares(n, waves)] == percents


def test_no_devices_no_waves() -> None:
    assert plan_waves("ro_1", [], DEFAULT_WAVES) == []


def test_plan_refuses_bad_waves() -> None:
    for waves in [(), (10, 50), (50, 10, 100), (0, 100), (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100)]:
        with pytest.raises(ValueError):
            plan_waves("ro_1", fleet(10), waves)


@st.composite
def wave_lists(draw: st.DrawFn) -> tuple[int, ...]:
    inner = draw(st.lists(st.integers(1, 99), max_size=9, unique=True))
    return (*sorted(inner), 100)


@settings(max_examples=300, deadline=None)
@given(n=st.integers(0, 5000), waves=wave_lists(), rollout_id=st.text(min_size=1, max_size=20))
def test_plan_properties(n: int, waves: tuple[int, ...], rollout_id: str) -> None:
    serials = fleet(n)
    plan = plan_waves(rollout_id, serials, waves)
    sizes = wave_sizes(plan)
    assert sum(sizes) == n and all(size > 0 for size in sizes) and len(sizes) <= len(waves)
    assert [serial for wave in plan for serial in wave] == device_order(rollout_id, serials)
    # each wave ends where its cumulative percentage says (the ceiling of p·N/100, checked by its definition)
    ends = [sum(sizes[: i + 1]) for i in range(len(sizes))]
    for (percent, _), end in zip(wave_shares(n, waves), ends, strict=True):
        assert end * 100 >= percent * n > (end - 1) * 100
    # and a percentage left out was empty: it rounds to the end of the wave before it
    kept = {percent for percent, _ in wave_shares(n, waves)}
    for index, percent in enumerate(waves):
        if percent not in kept:
            before = max(
                (end for (p, _), end in zip(wave_shares(n, waves), ends, strict=True) if p < percent), default=0
            )
            assert -(-percent * n // 100) == before, (index, percent)


def test_order_is_sha256_of_rollout_id_and_serial_without_case() -> None:
    serials = ["SN-B", "sn-a", "SN-C", "Sn-D"]
    expected = sorted(serials, key=lambda s: hashlib.sha256(("ro_7" + s.lower()).encode()).hexdigest())
    assert device_order("ro_7", serials) == expected


def test_duplicates_dropped_keeping_first_spelling() -> None:
    ordered = device_order("ro_1", ["sn100", "SN200", "SN100", "sn200", "SN300"])
    assert sorted(ordered) == ["SN200", "SN300", "sn100"]
    assert wave_sizes(plan_waves("ro_1", ["SN1X", "sn1x", "SN1x"], DEFAULT_WAVES)) == [1]


def test_canary_set_is_stable() -> None:
    serials = fleet(2000)
    plan = plan_waves("ro_42", serials, DEFAULT_WAVES)
    assert plan_waves("ro_42", serials, DEFAULT_WAVES) == plan  # re-planned (after a restart)
    shuffled = serials[:]
    random.Random(7).shuffle(shuffled)
    assert plan_waves("ro_42", shuffled, DEFAULT_WAVES) == plan  # another order
    upper = [serial.lower() for serial in serials]
    assert [[s.upper() for s in wave] for wave in plan_waves("ro_42", upper, DEFAULT_WAVES)] == plan  # another case


def test_different_rollouts_different_orders() -> None:
    serials = fleet(200)
    orders = {tuple(device_order(f"ro_{i}", serials)) for i in range(5)}
    assert len(orders) == 5
    canaries = {tuple(plan_waves(f"ro_{i}", serials, DEFAULT_WAVES)[0]) for i in range(5)}
    assert len(canaries) == 5  # the first 2 devices differ from rollout to rollout
    assert device_order("ro_1", serials) != serials


# --- options ---------------------------------------------------------------------------------------------------


def test_defaults() -> None:
    options, rest = split_rollout_options([])
    assert options == RolloutOptions()
    assert rest == []
    assert options.waves == (1, 10, 50, 100) and options.soak == timedelta(minutes=30) and options.gate is Gate.AUTO
    assert options.failure_threshold == 0.10 and options.min_executed == 5 and options.max_failures is None
    assert options.rate_per_minute == 60.0 and options.op_timeout == timedelta(minutes=60)
    assert set(OPTION_NAMES) == {
        "waves",
        "soak",
        "gate",
        "failure_threshold",
        "min_executed",
        "max_failures",
        "rate",
        "op_timeout",
    }


def test_every_option_and_the_rest_left_in_order() -> None:
    words = [
        "config=prod",
        "waves=5,25,100",
        "soak=1h30m",
        "retries:=3",
        "gate=manual",
        "failure_threshold=12.5%",
        "min_executed=20",
        "max_failures=7",
        "rate=2/s",
        "op_timeout=2h",
        "note=hi",
    ]
    options, rest = split_rollout_options(words)
    assert rest == ["config=prod", "retries:=3", "note=hi"]
    assert options == RolloutOptions(
        waves=(5, 25, 100),
        soak=timedelta(minutes=90),
        gate=Gate.MANUAL,
        failure_threshold=0.125,
        min_executed=20,
        max_failures=7,
        rate_per_minute=120.0,
        op_timeout=timedelta(hours=2),
    )


@pytest.mark.parametrize(
    ("word", "field", "value"),
    [
        ("WAVES=1%,10%,100%", "waves", (1, 10, 100)),
        ("waves=100", "waves", (100,)),
        ("soak=0", "soak", timedelta(0)),
        ("soak=90s", "soak", timedelta(seconds=90)),
        ("soak=45", "soak", timedelta(minutes=45)),  # a bare number is minutes
        ("soak=2hours", "soak", timedelta(hours=2)),
        ("soak=1d", "soak", timedelta(days=1)),
        ("Gate=AUTO", "gate", Gate.AUTO),
        ("failure_threshold=10%", "failure_threshold", 0.10),
        ("failure_threshold=0.1", "failure_threshold", 0.10),
        ("failure_threshold=10", "failure_threshold", 0.10),
        ("failure_threshold=0%", "failure_threshold", 0.0),
        ("failure_threshold=0", "failure_threshold", 0.0),
        ("failure_threshold=100%", "failure_threshold", 1.0),
        ("failure_threshold=1.0", "failure_threshold", 1.0),
        ("failure-threshold=7%", "failure_threshold", 0.07),
        ("min_executed=1", "min_executed", 1),
        ("max_failures=1", "max_failures", 1),
        ("max_failures=none", "max_failures", None),
        ("rate=60/min", "rate_per_minute", 60.0),
        ("rate=600/h", "rate_per_minute", 10.0),
        ("rate=1/s", "rate_per_minute", 60.0),
        ("rate=0.5/min", "rate_per_minute", 0.5),
        ("rate=30", "rate_per_minute", 30.0),
        ("rate=1000/s", "rate_per_minute", 60_000.0),
        ("op_timeout=1m", "op_timeout", timedelta(minutes=1)),
        ("op_timeout=10080m", "op_timeout", timedelta(minutes=10_080)),
        ("op_timeout=7d", "op_timeout", timedelta(days=7)),
        ("OP_TIMEOUT=90", "op_timeout", timedelta(minutes=90)),
    ],
)
def test_accepted_forms(word: str, field: str, value: object) -> None:
    options, rest = split_rollout_options([word])
    assert getattr(options, field) == value
    assert rest == []


@pytest.mark.parametrize(
    ("word", "field", "hint"),
    [
        ("waves=1,10,50", "waves", "the last wave must be 100"),
        ("waves=10,5,100", "waves", "larger than the one before"),
        ("waves=0,100", "waves", "from 1 to 100"),
        ("waves=1,2,3,4,5,6,7,8,9,10,100", "waves", "more than 10"),
        ("waves=a,b", "waves", "waves=1,10,50,100"),
        ("waves=1,,100", "waves", "waves=1,10,50,100"),
        ("soak=soon", "soak", "soak=30m"),
        ("soak=8d", "soak", "at most 7 days"),
        ("soak=-5m", "soak", "soak=30m"),
        ("gate=later", "gate", "gate=manual"),
        ("failure_threshold=150%", "failure_threshold", "0 to 100"),
        ("failure_threshold=1.5", "failure_threshold", "failure_threshold=10%"),
        ("failure_threshold=ten", "failure_threshold", "failure_threshold=10%"),
        ("min_executed=0", "min_executed", "min_executed=5"),
        ("min_executed=2.5", "min_executed", "min_executed=5"),
        ("max_failures=0", "max_failures", "max_failures=3"),
        ("rate=0/min", "rate", "rate=60/min"),
        ("rate=fast", "rate", "rate=60/min"),
        ("rate=60/day", "rate", "rate=60/min"),
        ("rate=2000/s", "rate", "60,000 a minute"),
        ("op_timeout=30s", "op_timeout", "op_timeout=60m"),
        ("op_timeout=0", "op_timeout", "1 minute to 7 days"),
        ("op_timeout=10081m", "op_timeout", "1 minute to 7 days"),
        ("soak=", "soak", "soak=30m"),
        ("rate:=5", "rate", "write rate= (with no colon)"),
    ],
)
def test_bad_values_name_the_option_and_say_what_to_type(word: str, field: str, hint: str) -> None:
    with pytest.raises(RolloutOptionError) as caught:
        split_rollout_options(["config=prod", word])
    assert caught.value.field == field
    assert hint in caught.value.message
    assert caught.value.message.startswith(f"`{word.split('=')[0].split(':')[0]}")


def test_an_option_given_twice_is_refused() -> None:
    with pytest.raises(RolloutOptionError) as caught:
        split_rollout_options(["soak=10m", "Soak=20m"])
    assert caught.value.field == "soak"
    assert "given twice" in caught.value.message


def test_every_problem_reported_at_once() -> None:
    with pytest.raises(RolloutOptionError) as caught:
        split_rollout_options(["waves=5,3", "gate=x", "ok=1", "rate=0"])
    assert [field for field, _ in caught.value.problems] == ["waves", "gate", "rate"]
    assert caught.value.field == "waves"
    assert str(caught.value).count("\n") == 2


def test_typed_text_in_messages_is_cut_and_keeps_its_backticks_balanced() -> None:
    with pytest.raises(RolloutOptionError) as caught:
        split_rollout_options(["soak=`" + "x" * 300])
    assert "x" * 40 not in caught.value.message and caught.value.message.count("`") % 2 == 0


def test_words_inside_a_quoted_or_json_parameter_stay_parameters() -> None:
    words = ['note="please', "rate=5/min", 'gently"', 'cfg:={"soak":', '"soak=1m",', '"n": [1, 2]}', "waves=50,100"]
    options, rest = split_rollout_options(words)
    assert rest == words[:-1]
    assert options.waves == (50, 100) and options.rate_per_minute == 60.0 and options.soak == timedelta(minutes=30)
    # a quote closed in its own word does not swallow the next option
    options, rest = split_rollout_options(['note="x"', "gate=manual", "other=y"])
    assert options.gate is Gate.MANUAL and rest == ['note="x"', "other=y"]


def test_non_option_words_untouched() -> None:
    words = ["firmware=v2.1", "rates=1", "{", "x", "soaking=1", "gate"]
    assert split_rollout_options(words)[1] == words


def test_options_model_refuses_what_the_quick_form_refuses() -> None:
    for bad in [
        {"waves": (10, 5, 100)},
        {"waves": (1, 50)},
        {"failure_threshold": 10},
        {"min_executed": 0},
        {"max_failures": 0},
        {"rate_per_minute": 0},
        {"op_timeout": timedelta(seconds=30)},
        {"soak": timedelta(minutes=-1)},
    ]:
        with pytest.raises(ValidationError):
            RolloutOptions(**bad)
    stored = RolloutOptions(soak=timedelta(0), max_failures=3).model_dump(mode="json")
    assert RolloutOptions.model_validate(stored) == RolloutOptions(soak=timedelta(0), max_failures=3)


def test_durations() -> None:
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("30min") == timedelta(minutes=30)
    assert parse_duration("1h 30m") is None
    assert parse_duration("") is None
    assert [format_duration(timedelta(seconds=s)) for s in (0, 90, 1800, 5400, 90000)] == [
        "0",
        "1m30s",
        "30m",
        "1h30m",
        "1d1h",
    ]


@settings(max_examples=200, deadline=None)
@given(
    waves=wave_lists(),
    soak=st.integers(0, 7 * 86400),
    gate=st.sampled_from(list(Gate)),
    threshold=st.integers(0, 1000).map(lambda n: n / 1000),
    min_executed=st.integers(1, 10_000),
    max_failures=st.none() | st.integers(1, 10_000),
    rate=st.sampled_from([0.5, 1.0, 2.5, 60.0, 120.0, 60_000.0, 1 / 60, 0.1]),
    op_timeout=st.integers(60, 10_080 * 60),
)
def test_option_words_read_back(
    waves: tuple[int, ...],
    soak: int,
    gate: Gate,
    threshold: float,
    min_executed: int,
    max_failures: int | None,
    rate: float,
    op_timeout: int,
) -> None:
    options = RolloutOptions(
        waves=waves,
        soak=timedelta(seconds=soak),
        gate=gate,
        failure_threshold=threshold,
        min_executed=min_executed,
        max_failures=max_failures,
        rate_per_minute=rate,
        op_timeout=timedelta(seconds=op_timeout),
    )
    for every in (False, True):
        parsed, rest = split_rollout_options(option_words(options, every=every))
        assert rest == []
        assert parsed.model_dump(exclude={"rate_per_minute"}) == options.model_dump(exclude={"rate_per_minute"})
        assert parsed.rate_per_minute == pytest.approx(options.rate_per_minute, rel=1e-6)
    assert option_words(RolloutOptions()) == []


# --- the abort rule --------------------------------------------------------------------------------------------


def opts(**values: object) -> RolloutOptions:
    return RolloutOptions.model_validate(values)


def test_abort_at_the_threshold_after_min_executed() -> None:
    options = opts()  # 10 %, min_executed 5
    assert abort_reason(options, total=100, executed=4, failures=4) is None  # fewer than 5 executed
    reason = abort_reason(options, total=100, executed=5, failures=3)
    assert reason == "3 of 5 executed operations failed (60 %), at or above the 10 % threshold."
    assert abort_reason(options, total=100, executed=10, failures=1) is not None  # exactly at 10 %
    assert abort_reason(options, total=100, executed=11, failures=1) is None  # 9.09 %
    assert abort_reason(options, total=100, executed=50, failures=0) is None


def test_exactly_at_threshold_with_decimal_thresholds() -> None:
    for percent, executed in [(7, 100), (3, 100), (33.3, 1000), (12.5, 8), (0.1, 1000)]:
        options = split_rollout_options([f"failure_threshold={percent}%", "min_executed=1"])[0]
        failures = round(percent * executed / 100)
        assert abort_reason(options, total=executed, executed=executed, failures=failures) is not None, percent
        assert abort_reason(options, total=executed, executed=executed, failures=failures - 1) is None, percent
        assert wave_passes(options, executed=executed, failures=failures), percent
        assert not wave_passes(options, executed=executed, failures=failures + 1), percent


def test_threshold_zero_aborts_on_the_first_failure() -> None:
    options = opts(failure_threshold=0)
    assert abort_reason(options, total=100, executed=3, failures=0) is None
    reason = abort_reason(options, total=100, executed=1, failures=1)
    assert reason is not None and "first failure" in reason and "1 operation failed" in reason
    assert "first failure" in abort_rule_text(options, 100)
    assert not wave_passes(options, executed=100, failures=1)
    assert wave_passes(options, executed=100, failures=0)


def test_threshold_hundred_percent_aborts_only_when_all_failed() -> None:
    options = opts(failure_threshold=1.0)
    assert abort_reason(options, total=100, executed=5, failures=4) is None
    assert abort_reason(options, total=100, executed=5, failures=5) is not None
    assert abort_reason(options, total=100, executed=4, failures=4) is None  # min_executed still applies
    assert "every one of the executed operations" in abort_rule_text(options, 100)
    assert wave_passes(options, executed=5, failures=5)


def test_min_executed_clamped_to_the_rollout() -> None:
    options = opts(min_executed=5)
    assert effective_min_executed(options, 3) == 3
    assert effective_min_executed(options, 500) == 5
    assert effective_min_executed(options, 0) == 1
    assert abort_reason(options, total=3, executed=3, failures=3) is not None
    assert abort_reason(options, total=100, executed=3, failures=3) is None
    text = abort_rule_text(options, 3)
    assert "once at least 3 have executed" in text and "min_executed=5 lowered to the rollout's 3 devices" in text
    assert "lowered" not in abort_rule_text(options, 5)
    assert "once at least 5 have executed" in abort_rule_text(options, 5)


def test_max_failures() -> None:
    options = opts(max_failures=3, failure_threshold=0.5)
    assert abort_reason(options, total=1000, executed=100, failures=2) is None
    reason = abort_reason(options, total=1000, executed=100, failures=3)
    assert reason == "3 operations failed, reaching max_failures=3."
    assert abort_reason(options, total=1000, executed=3, failures=3) is not None  # before min_executed too
    assert "or at 3 failures" in abort_rule_text(options, 1000)
    assert "failures" not in abort_rule_text(opts(), 1000).split(".")[0]


def test_abort_rule_text_says_timeouts_count() -> None:
    text = abort_rule_text(opts(op_timeout=timedelta(minutes=90)), 10)
    assert text.startswith("Abort when 10 % or more of the executed operations failed, once at least 5 have executed")
    assert "timed-out operations (not final 1h30m after their scheduled time) count as failures" in text


@settings(max_examples=300, deadline=None)
@given(
    threshold=st.integers(0, 100),
    min_executed=st.integers(1, 50),
    total=st.integers(1, 200),
    executed=st.integers(0, 200),
    failures=st.integers(0, 200),
)
def test_abort_is_monotonic_in_failures(threshold: int, min_executed: int, total: int, executed: int, failures: int):
    executed = min(executed, total)
    failures = min(failures, executed)
    options = opts(failure_threshold=threshold / 100, min_executed=min_executed)
    aborted = abort_reason(options, total=total, executed=executed, failures=failures) is not None
    if failures == 0:
        assert not aborted
    if aborted and failures < executed:
        assert abort_reason(options, total=total, executed=executed, failures=failures + 1) is not None
    if executed >= effective_min_executed(options, total) and executed:
        # past min_executed, the rule and a settled wave's pass are two sides of the threshold (both at it)
        assert aborted or wave_passes(options, executed=executed, failures=failures)


def test_wave_passes() -> None:
    options = opts()  # 10 %
    assert wave_passes(options, executed=10, failures=1)  # 90 % success = 100 % − 10 %
    assert not wave_passes(options, executed=10, failures=2)
    assert wave_passes(options, executed=20, failures=2)
    assert not wave_passes(options, executed=1, failures=1)
    assert wave_passes(options, executed=0, failures=0)


# --- the tally -------------------------------------------------------------------------------------------------


def outcome(serial: str, status: str | None, *, ago: timedelta = timedelta(0), created: bool = True):
    return OperationOutcome(serial=serial, status=status, scheduled_time=NOW - ago, created=created)


def test_tally_with_timeouts() -> None:
    outcomes = [
        outcome("SN01", "completed"),
        outcome("SN02", "COMPLETED"),
        outcome("SN03", "failed"),
        outcome("SN04", "expired"),
        outcome("SN05", "firmware_error"),  # an unknown failure word is a failure
        outcome("SN06", "scheduled", ago=HOUR),  # op_timeout passed exactly now: timed out
        outcome("SN07", None, ago=2 * HOUR),  # never polled, long past: timed out
        outcome("SN08", "in-progress", ago=HOUR - timedelta(seconds=1)),  # still within op_timeout
        outcome("SN09", None),
        outcome("SN10", "cancelled"),
        outcome("SN11", None, ago=2 * HOUR, created=False),  # never created: neither timed out nor pending
    ]
    tally = tally_wave(outcomes, now=NOW, op_timeout=HOUR)
    assert tally == WaveTally(
        total=11,
        created=10,
        completed=2,
        failed=2,
        expired=1,
        timed_out=2,
        pending=2,
        not_created=1,
        cancelled=1,
        failed_serials=("SN03", "SN04", "SN05", "SN06", "SN07"),
        unfinished_serials=("SN06", "SN07", "SN08", "SN09"),
        not_created_serials=("SN11",),
    )
    assert tally.executed == 8 and tally.failures == 5
    assert tally.success_rate == pytest.approx(3 / 8)
    assert not tally.settled and not tally.finished


def test_settled_and_finished() -> None:
    done = [outcome("SN01", "completed"), outcome("SN02", "failed"), outcome("SN03", "pending", ago=3 * HOUR)]
    tally = tally_wave(done, now=NOW, op_timeout=HOUR)
    assert tally.settled and tally.finished and tally.executed == 3 and tally.failures == 2
    stopped = [*done, outcome("SN04", None, created=False)]
    tally = tally_wave(stopped, now=NOW, op_timeout=HOUR)
    assert not tally.settled and tally.finished
    later = tally_wave([outcome("SN01", "pending", ago=HOUR)], now=NOW, op_timeout=2 * HOUR)
    assert not later.settled and later.pending == 1
    assert tally_wave([outcome("SN01", "pending", ago=HOUR)], now=NOW + HOUR, op_timeout=2 * HOUR).settled


def test_tally_feeds_the_rules() -> None:
    outcomes = [outcome(f"SN{i:02d}", "completed") for i in range(9)] + [outcome("SN99", "pending", ago=2 * HOUR)]
    tally = tally_wave(outcomes, now=NOW, op_timeout=HOUR)
    assert tally.settled and tally.timed_out == 1
    assert wave_passes(opts(), executed=tally.executed, failures=tally.failures)
    assert abort_reason(opts(), total=10, executed=tally.executed, failures=tally.failures) is not None  # 10 %


def test_wave_line() -> None:
    outcomes = (
        [outcome(f"OK{i:03d}", "completed") for i in range(45)]
        + [outcome(f"BAD{i:02d}", "failed") for i in range(3)]
        + [outcome(f"RUN{i:02d}", "in_progress") for i in range(2)]
    )
    tally = tally_wave(outcomes, now=NOW, op_timeout=HOUR)
    assert wave_line(2, 4, 10, tally) == "Wave 2/4 · 10 % · 45 ✅ 3 ❌ 2 ⏳"
    slow = tally_wave(
        [*outcomes, outcome("OLD", None, ago=2 * HOUR), outcome("NEW", None, created=False)], now=NOW, op_timeout=HOUR
    )
    assert wave_line(2, 4, 10, slow) == "Wave 2/4 · 10 % · 45 ✅ 4 ❌ 2 ⏳ (1 timed out) · 1 not created"
    waiting = tally_wave([outcome(f"W{i:03d}", None, created=False) for i in range(950)], now=NOW, op_timeout=HOUR)
    assert wave_line(3, 4, 50, waiting) == "Wave 3/4 · 50 % · 950 devices, not started"
