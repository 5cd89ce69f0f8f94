"""The notifier's shortcut around pydantic, held to the model it stands in for.

``glance`` reads four fields of a listed record; whenever it answers, ``Operation.model_validate`` must read the
same record the same way (and a ``msgspec.Raw`` the same way as the dict it encodes). ``is_quiet`` tells, from a
print of the recorded state, that ``diff_operations`` would find nothing; it must never say so when the diff finds
something, and (given the state's scheduled time) should say so whenever the diff finds nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.control.glance import Glance, decoded, glance
from bot.control.models import DeviceStatus, Operation
from bot.control.pages import parse_records
from bot.domain.changes import FIELD_LIMIT, KnownState, diff_operations, is_quiet, known_print
from bot.domain.statuses import KNOWN_STATUSES
from tests.support.api_examples import DOCUMENTED_OPERATION

DOCUMENTED = DOCUMENTED_OPERATION

MISSING: Any = object()  # a field left out of the record


def raw(record: Any) -> msgspec.Raw:
    return msgspec.Raw(msgspec.json.encode(record))


def build(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not MISSING}


# ---------------------------------------------------------------------------------------------------------------
# What records look like

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=10)  # no lone surrogates: not encodable
NUMBERS = st.one_of(st.integers(), st.integers(2**63, 2**80), st.floats(allow_nan=False, allow_infinity=False))
SUFFIXES = ["Z", "+00:00", "-00:00", "+02:00", "-05:30", "+14:00", "", "z", "+0000", " UTC", "Z ", "+00:00Z"]


@st.composite
def written_times(draw: st.DrawFn) -> str:
    """A moment written the API's way or nearly: any offset, 0 to 7 fraction digits, another separator."""
    moment = draw(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31)))
    digits = draw(st.integers(0, 7))
    fraction = f"{moment.microsecond:06d}{draw(st.integers(0, 9))}"[:digits]
    separator = draw(st.sampled_from(["T", "T", "T", " ", "t", "_"]))
    text = moment.strftime(f"%Y-%m-%d{separator}%H:%M:%S") + ("." + fraction if digits else "")
    return text + draw(st.sampled_from(SUFFIXES))


ODD_TIMES = [
    "2024-02-30T10:00:00Z",  # no such day
    "2023-02-29T10:00:00Z",
    "2024-13-01T10:00:00Z",
    "2024-01-15T24:00:00Z",
    "2024-01-15T10:60:00Z",
    "2024-01-15T10:30:60Z",
    "2024-01-15T10:30:00.Z",
    "2024-01-15T10:30Z",
    "2024-01-15",
    "20240115T103000Z",
    "2024-W03-1T10:30:00Z",
    "2024-01-15T10:30:00.1234567Z",
    "２０２４-01-15T10:30:00Z",  # full-width digits
    "1700000000",
    "",
    "now",
]

SCHEDULED = st.one_of(
    written_times(),
    st.from_regex(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|\+00:00)", fullmatch=True),  # any digits
    st.from_regex(r"[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](\.[0-9]{1,7})?Z", fullmatch=True),
    st.sampled_from(ODD_TIMES),
    TEXT,
    NUMBERS,
    st.booleans(),
    st.none(),
    st.just(MISSING),
)
IDS = st.one_of(TEXT, st.from_regex(r"txn_[0-9a-f]{8}", fullmatch=True), NUMBERS, st.booleans(), st.none())
STATUSES = st.one_of(st.sampled_from(KNOWN_STATUSES), TEXT, st.integers(), st.booleans(), st.none())
ONLINE = st.one_of(st.booleans(), st.none(), st.sampled_from(["true", "false", 1, 0, "yes", 1.0]))
LAST_SEEN = st.one_of(st.just("2024-01-15T09:45:00Z"), st.just("2024-01-15T09:45:00+02:00"), st.none())
DEVICES = st.one_of(
    st.fixed_dictionaries({}, optional={"online": ONLINE, "last_seen": LAST_SEEN, "firmware_version": TEXT}),
    st.none(),
    st.lists(st.booleans(), max_size=2),
    st.just("online"),
    st.just(MISSING),
)
NAMES = st.one_of(st.just("SN123456789"), TEXT, st.integers(), st.none(), st.just(MISSING))


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(strategy, st.just(MISSING))


RECORDS = st.builds(
    build,
    id=maybe(IDS),
    status=maybe(STATUSES),
    device_status=DEVICES,
    scheduled_time=SCHEDULED,
    device_serial=NAMES,
    operation_type=NAMES,
    created_at=maybe(st.just("2024-01-14T14:22:00Z")),
    parameters=maybe(st.fixed_dictionaries({"version": TEXT})),
    extra=maybe(st.lists(st.integers(), max_size=2)),
)


@st.composite
def api_times(draw: st.DrawFn) -> str:
    """The API's own format: ``Z`` or ``+00:00``, 0 to 6 fraction digits, a date that exists."""
    moment = draw(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 12, 31)))
    digits = draw(st.integers(0, 6))
    fraction = "." + f"{moment.microsecond:06d}"[:digits] if digits else ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + draw(st.sampled_from(["Z", "+00:00"]))


DOCUMENTED_RECORDS = st.builds(
    build,
    id=st.one_of(TEXT, st.integers()),
    status=st.one_of(st.sampled_from(KNOWN_STATUSES), TEXT),
    device_status=st.one_of(
        st.fixed_dictionaries({}, optional={"online": st.one_of(st.booleans(), st.none()), "last_seen": LAST_SEEN}),
        st.none(),
        st.just(MISSING),
    ),
    scheduled_time=api_times(),
    device_serial=TEXT,
    operation_type=TEXT,
    created_at=maybe(st.just("2024-01-14T14:22:00Z")),
)


# ---------------------------------------------------------------------------------------------------------------
# glance


def agree(seen: Glance, record: dict[str, Any]) -> None:
    """``seen`` reads ``record`` as ``Operation`` does (which must accept it)."""
    op = Operation.model_validate(record)
    online = op.device_status.online if op.device_status is not None else None
    assert seen.id.__class__ is str and seen.id == op.id
    assert seen.status.__class__ is str and seen.status == op.status
    assert seen.online is online
    assert seen.scheduled_time == op.scheduled_time
    assert hash(seen.scheduled_time) == hash(op.scheduled_time)
    assert seen.scheduled_time.utcoffset() == timedelta(0)
    (from_bytes,), skipped = parse_records([raw(record)])  # how the notifier reads it in full: from its bytes
    assert skipped == [] and from_bytes == op


def same(a: Glance | None, b: Glance | None) -> None:
    assert (a is None) == (b is None), (a, b)
    if a is not None and b is not None:
        assert a == b
        assert a.online is b.online
        assert hash(a.scheduled_time) == hash(b.scheduled_time)


@settings(max_examples=600, deadline=None)
@given(record=RECORDS)
def test_whenever_a_glance_answers_the_model_reads_the_same(record: dict[str, Any]) -> None:
    as_dict, as_raw = glance(record), glance(raw(record))
    same(as_dict, as_raw)
    if as_dict is not None:
        agree(as_dict, record)


@settings(max_examples=300, deadline=None)
@given(record=DOCUMENTED_RECORDS)
def test_records_of_the_documented_shape_are_glanced(record: dict[str, Any]) -> None:
    """The shortcut is taken for what the API documents (else every record would be read in full)."""
    as_dict, as_raw = glance(record), glance(raw(record))
    assert as_dict is not None
    same(as_dict, as_raw)
    agree(as_dict, record)


def test_the_documented_record() -> None:
    expected = Glance("txn_12345", "scheduled", True, datetime(2024, 1, 15, 10, 30, tzinfo=UTC))
    assert glance(DOCUMENTED) == expected
    assert glance(raw(DOCUMENTED)) == expected


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"id": 12345}, "12345"),
        ({"id": -7}, "-7"),
        ({"id": 2**70}, str(2**70)),
        ({"id": ""}, ""),
    ],
)
def test_an_id_is_read_as_the_model_reads_it(change: dict[str, Any], expected: str) -> None:
    record = {**DOCUMENTED, **change}
    for form in (record, raw(record)):
        seen = glance(form)
        assert seen is not None and seen.id == expected == Operation.model_validate(record).id


@pytest.mark.parametrize(
    "change",
    [
        {"id": True},
        {"id": 1.0},
        {"id": None},
        {"status": 3},
        {"status": None},
        {"device_serial": 123},  # the model would take it; the glance leaves it to the model
        {"operation_type": None},
        {"device_status": {"online": "true"}},
        {"device_status": {"online": 1}},
        {"device_status": []},
        {"device_status": "online"},
        {"scheduled_time": "2024-01-15T12:30:00+02:00"},  # the model reads 10:30 UTC: read in full
        {"scheduled_time": "2024-01-15T10:30:00"},  # naive: the model takes it as UTC
        {"scheduled_time": "2024-01-15T10:30:00.1234567Z"},
        {"scheduled_time": 1705314600},
        {"scheduled_time": "2024-02-30T10:30:00Z"},
    ],
)
def test_anything_unusual_is_left_to_the_model(change: dict[str, Any]) -> None:
    record = {**DOCUMENTED, **change}
    assert glance(record) is None
    assert glance(raw(record)) is None


@pytest.mark.parametrize("item", [[DOCUMENTED], "txn_12345", 5, None])
def test_a_record_that_is_not_an_object_is_left_to_the_model(item: Any) -> None:
    assert glance(item) is None
    assert glance(raw(item)) is None


def test_decoded_gives_the_record_as_json_values() -> None:
    assert decoded(raw(DOCUMENTED)) == DOCUMENTED
    assert decoded(DOCUMENTED) is DOCUMENTED


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_a_record_left_to_the_model_is_read_or_refused_never_a_crash(moment: str) -> None:
    """What the glance leaves to the model is read by ``parse_records``, which skips a ``ValidationError``: a
    time at the calendar's edge in a non-UTC offset is converted to UTC by ``_as_utc`` and overflows instead."""
    record = {**DOCUMENTED, "scheduled_time": moment}
    assert glance(record) is None
    with pytest.raises(ValidationError):
        Operation.model_validate(record)


# ---------------------------------------------------------------------------------------------------------------
# is_quiet

NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))
LONG = "x" * FIELD_LIMIT
QUIET_STATUSES = ["scheduled", "in_progress", "completed", "failed", "expired", "odd", LONG + "ab", LONG + "cd"]
MOMENTS = st.sampled_from([NOW + timedelta(seconds=s) for s in (-3600, -1, 0, 1, 3600)])


def operation(status: str, online: bool | None, scheduled: datetime, *, device: bool = True) -> Operation:
    return Operation(
        id="op-1",
        device_serial="SN1",
        operation_type="reboot",
        status=status,
        scheduled_time=scheduled,
        device_status=DeviceStatus(online=online) if device else None,
    )


@st.composite
def state_and_operation(draw: st.DrawFn) -> tuple[KnownState, Operation]:
    """A recorded state and a listed operation that often agree on some fields (so quiet cases are common)."""
    status = draw(st.sampled_from(QUIET_STATUSES))
    online = draw(st.sampled_from([True, False, None]))
    scheduled = draw(MOMENTS)
    stored = draw(st.one_of(st.just(scheduled), st.just(scheduled.astimezone(PLUS_TWO)), MOMENTS, st.none()))
    state = KnownState(
        status=status[:FIELD_LIMIT],
        device_online=online,
        offline_reported=draw(st.booleans()),
        version=draw(st.integers(1, 5)),
        scheduled_time=stored,
    )
    op_status = draw(st.one_of(st.just(status), st.sampled_from(QUIET_STATUSES)))
    op_online = draw(st.one_of(st.just(online), st.sampled_from([True, False, None])))
    device = op_online is not None or draw(st.booleans())  # no device_status at all: online unknown
    return state, operation(op_status, op_online, draw(st.one_of(st.just(scheduled), MOMENTS)), device=device)


def quiet(state: KnownState | None, op: Operation, now: datetime = NOW) -> bool:
    """``is_quiet`` asked as the notifier asks it (``KnownPrints.quiet``: the status cut to ``FIELD_LIMIT``)."""
    online = op.device_status.online if op.device_status is not None else None
    packed = None if state is None else known_print(state)
    return is_quiet(packed, op.status[:FIELD_LIMIT], online, op.scheduled_time, now)


def diff(state: KnownState | None, op: Operation, now: datetime = NOW) -> tuple[list[Any], list[Any]]:
    known = {} if state is None else {op.id: state}
    result = diff_operations([op], known, now=now, baseline=False)
    return result.states, result.changes


@settings(max_examples=800, deadline=None)
@given(case=state_and_operation(), now=MOMENTS)
def test_quiet_means_the_diff_finds_nothing(case: tuple[KnownState, Operation], now: datetime) -> None:
    state, op = case
    if quiet(state, op, now):
        assert diff(state, op, now) == ([], [])


@settings(max_examples=800, deadline=None)
@given(case=state_and_operation(), now=MOMENTS)
def test_the_diff_finding_nothing_means_quiet(case: tuple[KnownState, Operation], now: datetime) -> None:
    """The other way (not a safety property, the speed of a poll): with the state's scheduled time known, every
    operation the diff passes over is also passed over by the glance."""
    state, op = case
    if state.scheduled_time is not None and diff(state, op, now) == ([], []):
        assert quiet(state, op, now)


def test_an_unchanged_operation_is_quiet() -> None:
    """The cases the notifier lives on (guards the properties above against a print that is never equal)."""
    later, earlier = NOW + timedelta(hours=1), NOW - timedelta(hours=1)
    cases = [
        (KnownState("scheduled", True, False, 1, later), operation("scheduled", True, later)),
        (KnownState("scheduled", False, False, 1, later), operation("scheduled", False, later)),  # not due yet
        (KnownState("scheduled", False, True, 2, earlier), operation("scheduled", False, earlier)),  # told already
        (KnownState("completed", True, False, 3, earlier), operation("completed", False, earlier)),  # terminal
        (KnownState("completed", None, False, 3, earlier), operation("completed", True, earlier, device=True)),
        (KnownState("in_progress", None, False, 2, earlier), operation("in_progress", None, earlier, device=False)),
        (KnownState("scheduled", True, False, 1, later.astimezone(PLUS_TWO)), operation("scheduled", True, later)),
        (KnownState(LONG, True, False, 1, later), operation(LONG + "more", True, later)),  # stored cut
    ]
    for state, op in cases:
        assert quiet(state, op), state
        assert diff(state, op) == ([], []), state


@pytest.mark.parametrize(
    ("state", "op"),
    [
        pytest.param(None, operation("scheduled", True, NOW + timedelta(hours=1)), id="unknown operation"),
        pytest.param(
            KnownState("scheduled", True, False, 1, NOW + timedelta(hours=1)),
            operation("in_progress", True, NOW + timedelta(hours=1)),
            id="status changed",
        ),
        pytest.param(
            KnownState("in_progress", True, False, 1, NOW + timedelta(hours=1)),
            operation("in_progress", False, NOW + timedelta(hours=1)),
            id="went offline, not yet due",
        ),
        pytest.param(
            KnownState("scheduled", False, False, 1, NOW - timedelta(hours=1)),
            operation("scheduled", True, NOW - timedelta(hours=1)),
            id="came online",
        ),
        pytest.param(
            KnownState("scheduled", False, False, 1, NOW),
            operation("scheduled", False, NOW),
            id="newly due while offline",
        ),
        pytest.param(
            KnownState("scheduled", True, False, 1, NOW + timedelta(hours=1)),
            operation("scheduled", True, NOW + timedelta(hours=2)),
            id="scheduled time moved",
        ),
        pytest.param(
            KnownState("scheduled", None, False, 1, NOW + timedelta(hours=1)),
            operation("scheduled", True, NOW + timedelta(hours=1)),
            id="device status appeared",
        ),
        pytest.param(
            KnownState("scheduled", True, False, 1, None),
            operation("scheduled", True, NOW + timedelta(hours=1)),
            id="state without its scheduled time",
        ),
    ],
)
def test_a_change_is_never_quiet(state: KnownState | None, op: Operation) -> None:
    assert not quiet(state, op)
    if state is None or state.scheduled_time is not None:
        assert diff(state, op) != ([], [])  # the diff does find something: a quiet answer would have lost it
