"""The store on SQLite and PostgreSQL: migrations, records, compare-and-set under concurrency."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import text

from bot.store import (
    NotFound,
    StateConflict,
    Store,
    StoreUnavailable,
    parse_database_url,
    with_schema,
)
from bot.store.engine import advisory_lock_key
from bot.store.migrate import current_revision, head_revision
from bot.store.tables import Base
from tests.support.paths import ROOT
from tests.support.records import T0, new_request

CONCURRENCY = 20


def assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)


# ------------------------------------------------------------------ URLs (no database)


def test_urls_switch_to_async_drivers_and_carry_the_schema() -> None:
    assert parse_database_url("sqlite:///x.db").url.drivername == "sqlite+aiosqlite"
    assert parse_database_url("postgres://u@h/db").url.drivername == "postgresql+asyncpg"
    target = parse_database_url(with_schema("postgresql://u:secret@h/db", "t_abc"))
    assert target.schema == "t_abc"
    assert "schema" not in target.url.query
    assert "secret" not in target.describe()
    with pytest.raises(ValueError, match="PostgreSQL"):
        parse_database_url("sqlite:///x.db", schema="s")
    with pytest.raises(ValueError, match="invalid schema"):
        parse_database_url("postgresql://h/db?schema=a;drop")
    with pytest.raises(ValueError, match="unsupported"):
        parse_database_url("mysql://h/db")


def test_advisory_lock_keys_are_those_of_the_previous_release() -> None:
    """Replicas of two releases run side by side during a rolling deploy: they must lock the same keys, or two
    of them migrate at once / two notifiers poll at once. (The values the keys had before they shared a function.)"""
    assert advisory_lock_key("migrate", None) == 8655089843282729355
    assert advisory_lock_key("migrate", "bot") == -6945441826592360292
    assert advisory_lock_key("notifier", None) == -1178422274233628375
    assert advisory_lock_key("notifier", "bot") == 578021713818030888


@given(st.lists(st.sampled_from(["A", "B", " C ", "", "a"]), min_size=1))
def test_serials_are_deduplicated_in_order(serials: list[str]) -> None:
    first_spelling: dict[str, str] = {}  # issue #12: serials differing only by case are one device
    for serial in serials:
        if serial.strip():
            first_spelling.setdefault(serial.strip().casefold(), serial.strip())
    expected = list(first_spelling.values())
    if not expected:
        with pytest.raises(ValidationError):
            new_request(device_serials=serials)
    else:
        assert new_request(device_serials=serials).device_serials == expected


def test_new_request_refuses_naive_time_and_late_states() -> None:
    with pytest.raises(ValidationError):
        new_request(scheduled_time=datetime(2030, 1, 1, 12, 0))
    with pytest.raises(ValidationError):
        new_request(state="approved")


# ------------------------------------------------------------------ migrations


async def test_migrations_are_idempotent_and_concurrent_starts_are_safe(database_url: str) -> None:
    # Several replicas starting at once on a fresh database: one migrates, the others find it at head.
    stores = [Store(database_url) for _ in range(3)]
    async with asyncio.timeout(30):
        await asyncio.gather(*(s.connect() for s in stores))
    for s in stores:
        await s.close()
    async with Store(database_url) as again:  # and once more: nothing to do
        async with again.engine.connect() as connection:
            revision = await connection.run_sync(current_revision, again.schema)
            assert revision == head_revision() is not None
            if again.dialect == "sqlite":
                assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
                assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
                assert (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar() > 0
            if again.dialect == "postgresql":
                assert await connection.scalar(text("SELECT current_schema()")) == again.schema
                found = await connection.scalar(
                    text("SELECT count(*) FROM pg_tables WHERE schemaname = :s AND tablename = 'alembic_version'"),
                    {"s": again.schema},
                )
                assert found == 1


_CONNECT_ONCE = """
import asyncio, sys
from bot.store import Store

async def main() -> None:
    store = Store(sys.argv[1])
    await store.connect()
    await store.close()

asyncio.run(main())
"""


async def test_replicas_starting_at_once_in_separate_processes_migrate_once(database_url: str) -> None:
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CONNECT_ONCE,
            database_url,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    async with asyncio.timeout(60):
        outputs = await asyncio.gather(*(process.communicate() for process in processes))
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr.decode()
    async with Store(database_url) as store, store.engine.connect() as connection:
        assert await connection.run_sync(current_revision, store.schema) == head_revision()


async def test_migrated_schema_matches_the_models(store: Store) -> None:
    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return compare_metadata(context, Base.metadata)

    async with store.engine.connect() as connection:
        assert await connection.run_sync(diff) == []


# ------------------------------------------------------------------ requests


async def test_create_and_get_with_items_and_aware_utc_times(store: Store) -> None:
    costa_rica = timezone(timedelta(hours=-6))
    local = datetime(2030, 1, 6, 8, 30, tzinfo=costa_rica)
    created = await store.create_request(
        new_request(device_serials=["SN-2", "SN-1", "SN-2"], scheduled_time=local), at=T0
    )
    assert created.state == "pending_approval"
    assert created.device_serials == ["SN-2", "SN-1"]
    assert [item.state for item in created.items] == ["waiting", "waiting"]
    assert created.version == 1

    fetched = await store.get_request(created.id)
    assert fetched == created
    assert fetched.scheduled_time == local
    for value in (fetched.scheduled_time, fetched.created_at, fetched.updated_at):
        assert_utc(value)
    assert fetched.scheduled_time.hour == 14
    assert fetched.parameters == {"firmware": "1.2.3", "nested": {"a": [1, 2]}}
    assert fetched.requester_tz == "America/Costa_Rica"
    assert fetched.item_for("SN-1") is not None
    assert await store.get_request("nope") is None


async def test_naive_datetimes_are_refused(store: Store) -> None:
    created = await store.create_request(new_request(), at=T0)
    with pytest.raises(ValueError, match="aware"):
        await store.transition(
            created.id,
            from_states=["pending_approval"],
            to_state="approved",
            at=datetime(2030, 1, 1),
        )


async def test_list_requests_filters_and_orders_newest_first(store: Store) -> None:
    first = await store.create_request(new_request(state="draft"), at=T0)
    second = await store.create_request(new_request(requester_id="UOTHER"), at=T0 + timedelta(minutes=1))
    assert [r.id for r in await store.list_requests()] == [second.id, first.id]
    assert [r.id for r in await store.list_requests(["draft"])] == [first.id]
    assert [r.id for r in await store.list_requests(requester_id="UOTHER")] == [second.id]
    assert await store.list_requests(["approved"]) == []
    assert len(await store.list_requests(limit=1)) == 1
    with pytest.raises(ValueError):
        await store.list_requests(["aproved"])


async def test_requests_whose_approval_message_is_missing_oldest_first(store: Store) -> None:
    """What the maintenance pass re-posts: only unposted ones, the oldest first (a queue of newer requests beyond
    its limit must not starve an old one)."""
    old, posted, new = [await store.create_request(new_request(), at=T0 + timedelta(minutes=i)) for i in range(3)]
    await store.set_approval_message(posted.id, "C0APPROVE", "1700000000.000100")
    unposted = await store.list_requests(["pending_approval"], unposted=True, oldest_first=True)
    assert [r.id for r in unposted] == [old.id, new.id]
    assert [
        r.id for r in await store.list_requests(["pending_approval"], unposted=True, limit=1, oldest_first=True)
    ] == [old.id]


async def test_transition_first_decision_wins(store: Store) -> None:
    created = await store.create_request(new_request(), at=T0)
    results = await asyncio.gather(
        *(
            store.transition(
                created.id,
                from_states=["pending_approval"],
                to_state="approved" if i % 2 else "rejected",
                by=f"UAPPROVER{i}",
                at=T0 + timedelta(seconds=i),
                reason=f"reason {i}",
            )
            for i in range(CONCURRENCY)
        )
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    winner = winners[0]
    assert winner.version == 2
    final = await store.get_request(created.id)
    assert final == winner
    assert final.decided_by is not None
    index = int(final.decided_by.removeprefix("UAPPROVER"))
    assert final.state == ("approved" if index % 2 else "rejected")
    assert final.decision_reason == f"reason {index}"
    assert final.decided_at == T0 + timedelta(seconds=index)
    assert_utc(final.decided_at)
    # Too late for anyone else, and unknown requests never "win".
    late = await store.transition(created.id, from_states=["pending_approval"], to_state="approved", by="U", at=T0)
    assert late is None
    assert await store.transition("missing", from_states=["pending_approval"], to_state="approved", at=T0) is None


async def test_transition_first_wins_across_two_replicas(database_url: str) -> None:
    # Two Store objects = two connection pools (two processes on SQLite, two replicas on PostgreSQL).
    async with Store(database_url) as replica_a, Store(database_url) as replica_b:
        created = await replica_a.create_request(new_request(), at=T0)
        results = await asyncio.gather(
            *(
                (replica_a if i % 2 else replica_b).transition(
                    created.id, from_states=["pending_approval"], to_state="approved", by=f"U{i}", at=T0
                )
                for i in range(CONCURRENCY)
            )
        )
        assert sum(r is not None for r in results) == 1
        assert (await replica_b.get_request(created.id)).version == 2


async def test_cancelling_cancels_waiting_items_so_no_claim_can_win(store: Store) -> None:
    created = await store.create_request(new_request(), at=T0)
    approved = await store.transition(created.id, from_states=["pending_approval"], to_state="approved", at=T0)
    assert approved is not None
    first, second = approved.items
    assert await store.claim_item(first.id, at=T0) is not None
    cancelled = await store.transition(
        created.id, from_states=["approved"], to_state="cancelled", by="UREQ", at=T0, reason="changed my mind"
    )
    assert cancelled is not None
    assert [item.state for item in cancelled.items] == ["creating", "cancelled"]  # the POST in flight stays
    assert await store.claim_item(second.id, at=T0) is None


async def test_approval_message_and_confirm_url_bump_the_version(store: Store) -> None:
    created = await store.create_request(new_request(state="draft", confirm_response_url="https://x/1"), at=T0)
    assert created.confirm_response_url == "https://x/1"
    updated = await store.set_approval_message(created.id, "CAPPROVALS", "1700000000.000100", at=T0)
    assert updated is not None
    assert (updated.approval_channel_id, updated.approval_ts, updated.version) == (
        "CAPPROVALS",
        "1700000000.000100",
        2,
    )
    cleared = await store.set_confirm_response_url(created.id, None, at=T0)
    assert cleared is not None
    assert cleared.confirm_response_url is None
    assert cleared.version == 3
    assert await store.set_approval_message("missing", "C", "1", at=T0) is None


async def test_expiry_query_finds_only_undecided_requests_past_their_time(store: Store) -> None:
    past = T0 - timedelta(minutes=5)
    draft = await store.create_request(new_request(state="draft", scheduled_time=past), at=T0 - timedelta(hours=1))
    pending = await store.create_request(new_request(scheduled_time=T0), at=T0 - timedelta(hours=1))
    await store.create_request(new_request(scheduled_time=T0 + timedelta(seconds=1)), at=T0)  # not yet due
    approved = await store.create_request(new_request(scheduled_time=past), at=T0)
    await store.transition(approved.id, from_states=["pending_approval"], to_state="approved", at=T0)

    due = await store.requests_due_for_expiry(T0)
    assert [r.id for r in due] == [draft.id, pending.id]

    expired = await store.transition(
        pending.id,
        from_states=["draft", "pending_approval"],
        to_state="expired",
        at=T0,
        reason="scheduled time passed",
    )
    assert expired is not None
    assert expired.decided_by is None
    assert expired.decision_reason == "scheduled time passed"
    assert {item.state for item in expired.items} == {"cancelled"}
    assert [r.id for r in await store.requests_due_for_expiry(T0)] == [draft.id]


# ------------------------------------------------------------------ items


async def test_claim_item_first_wins_then_complete(store: Store) -> None:
    created = await store.create_request(new_request(), at=T0)
    item = created.items[0]
    claims = await asyncio.gather(*(store.claim_item(item.id, at=T0) for _ in range(CONCURRENCY)))
    won = [c for c in claims if c is not None]
    assert len(won) == 1
    assert won[0].state == "creating"
    assert won[0].attempted_at == T0
    assert [i.id for i in await store.items_in_state("creating")] == [item.id]

    done = await store.complete_item(item.id, operation_id="txn-1", at=T0 + timedelta(seconds=1))
    assert (done.state, done.operation_id, done.completed_at) == (
        "created",
        "txn-1",
        T0 + timedelta(seconds=1),
    )
    assert_utc(done.completed_at)
    assert await store.complete_item(item.id, operation_id="txn-1", at=T0) == done  # a retry: same answer
    with pytest.raises(StateConflict):
        await store.complete_item(item.id, operation_id="txn-other", at=T0)
    assert await store.items_in_state("creating") == []

    found = await store.find_item_by_operation("txn-1")
    assert found is not None
    request, found_item = found
    assert request.id == created.id
    assert found_item == done
    assert await store.find_item_by_operation("txn-unknown") is None


async def test_release_item_puts_a_claim_back(store: Store) -> None:
    created = await store.create_request(new_request(), at=T0)
    item = created.items[0]
    assert await store.release_item(item.id, at=T0) is None  # not claimed: nothing to release
    assert await store.claim_item(item.id, at=T0) is not None
    released = await store.release_item(item.id, at=T0 + timedelta(seconds=1))
    assert released is not None
    assert (released.state, released.attempted_at) == ("waiting", T0)
    assert await store.release_item(item.id, at=T0) is None
    again = await store.claim_item(item.id, at=T0 + timedelta(seconds=2))
    assert again is not None
    assert again.attempted_at == T0 + timedelta(seconds=2)


async def test_operation_ids_are_unique_and_items_fail_once(store: Store) -> None:
    created = await store.create_request(new_request(), at=T0)
    first, second = created.items
    for item in created.items:
        assert await store.claim_item(item.id, at=T0) is not None
    await store.complete_item(first.id, operation_id="txn-1", at=T0)
    with pytest.raises(StateConflict):
        await store.complete_item(second.id, operation_id="txn-1", at=T0)

    failed = await store.fail_item(second.id, error="device offline", at=T0)
    assert (failed.state, failed.error) == ("failed", "device offline")
    assert (await store.fail_item(second.id, error="again", at=T0)).error == "device offline"
    with pytest.raises(StateConflict):
        await store.fail_item(first.id, error="too late", at=T0)
    with pytest.raises(NotFound):
        await store.fail_item(10**6, error="x", at=T0)
    with pytest.raises(NotFound):
        await store.complete_item(10**6, operation_id="txn-9", at=T0)


async def test_item_thread_and_request_done_when_settled(store: Store) -> None:
    created = await store.create_request(new_request(), at=T0)
    await store.transition(created.id, from_states=["pending_approval"], to_state="approved", at=T0)
    first, second = created.items
    threaded = await store.set_item_thread(first.id, "CTHREAD", "1700000000.000200")
    assert threaded is not None
    assert (threaded.thread_channel_id, threaded.thread_ts) == ("CTHREAD", "1700000000.000200")
    assert await store.set_item_thread(10**6, "C", "1") is None

    await store.claim_item(first.id, at=T0)
    await store.complete_item(first.id, operation_id="txn-a", at=T0)
    assert await store.complete_request_if_settled(created.id, at=T0) is None  # second still waiting
    await store.claim_item(second.id, at=T0)
    assert await store.complete_request_if_settled(created.id, at=T0) is None  # second still creating
    await store.fail_item(second.id, error="boom", at=T0)
    done = await store.complete_request_if_settled(created.id, at=T0)
    assert done is not None
    assert done.state == "done"
    assert await store.complete_request_if_settled(created.id, at=T0) is None


# ------------------------------------------------------------------ watches


async def test_watches_are_idempotent(store: Store) -> None:
    assert await store.add_watch("txn-1", "CONE", "U1", T0) is True
    assert await store.add_watch("txn-1", "CONE", "U2", T0) is False
    results = await asyncio.gather(*(store.add_watch("txn-2", "CONE", f"U{i}", T0) for i in range(CONCURRENCY)))
    assert results.count(True) == 1
    await store.add_watch("txn-1", "CTWO", "U3", T0 + timedelta(seconds=1))

    assert {(w.operation_id, w.channel_id) for w in await store.watches_for()} == {
        ("txn-1", "CONE"),
        ("txn-2", "CONE"),
        ("txn-1", "CTWO"),
    }
    only_one = await store.watches_for(["txn-1"])
    assert [(w.channel_id, w.created_by) for w in only_one] == [("CONE", "U1"), ("CTWO", "U3")]
    assert_utc(only_one[0].created_at)
    assert await store.watches_for([]) == []
    assert [w.operation_id for w in await store.watches_for(channel_id="CTWO")] == ["txn-1"]

    assert await store.remove_watch("txn-1", "CONE") is True
    assert await store.remove_watch("txn-1", "CONE") is False
    assert [w.channel_id for w in await store.watches_for(["txn-1"])] == ["CTWO"]


# ------------------------------------------------------------------ notifier: operations missing from the list


def _operation_state(op_id: str, version: int = 1) -> dict[str, object]:
    return {
        "operation_id": op_id, "device_serial": "SN1", "operation_type": "reboot", "status": "scheduled",
        "scheduled_time": T0, "device_online": True, "last_seen": None, "offline_reported": False,
        "version": version, "updated_at": T0,
    }  # fmt: skip


async def test_missing_operations_are_marked_once_cleared_and_forgotten_alone(store: Store) -> None:
    await store.record_notifier_cycle(states=[_operation_state(op_id) for op_id in "abcd"], at=T0)
    await store.add_watch("b", "CONE", "U1", T0)
    t1, t2 = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    assert await store.missing_operations() == {}
    assert await store.note_missing_operations(missing=["a", "b", "unknown"], at=t1) == (2, 0, 0)
    assert await store.note_missing_operations(missing=["a", "b", "c"], at=t2) == (1, 0, 0)  # a and b keep t1
    missing = await store.missing_operations()
    assert missing == {"a": t1, "b": t1, "c": t2}
    assert_utc(missing["a"])

    assert await store.note_missing_operations(listed_again=["a", "d"], at=t2) == (0, 1, 0)  # d was not missing
    assert await store.missing_operations() == {"b": t1, "c": t2}
    assert await store.note_missing_operations(forget_before=t1, at=t2) == (0, 0, 0)  # missing *longer* than
    assert await store.note_missing_operations(forget_before=t1 + timedelta(seconds=1), at=t2) == (0, 0, 1)
    assert set(await store.operation_states()) == {"a", "c", "d"}
    assert await store.missing_operations() == {"c": t2}
    assert [w.operation_id for w in await store.watches_for()] == ["b"]  # only its state row is forgotten

    await store.record_notifier_cycle(states=[_operation_state("c", 2)], at=t2)  # recorded again: it is listed
    assert await store.missing_operations() == {}
    with pytest.raises(ValueError, match="aware"):
        await store.note_missing_operations(missing=["a"], at=datetime(2024, 1, 1))


# ------------------------------------------------------------------ audit


async def test_audit_newest_first_and_filtered(store: Store) -> None:
    request = await store.create_request(new_request(device_serials=["SN-9"]), at=T0)
    await store.audit("U1", "schedule", request.id, outcome="pending", request_id=request.id, at=T0)
    await store.audit(
        "U2",
        "approve",
        request.id,
        outcome="approved",
        request_id=request.id,
        channel_id="CAPPROVALS",
        detail={"serials": ["SN-9"]},
        at=T0 + timedelta(minutes=1),
    )
    await store.audit("U3", "refresh", "SN-9", outcome="ok", at=T0 + timedelta(minutes=2))
    await store.audit("U3", "status", "txn-77", outcome="not_found", at=T0 + timedelta(minutes=3))

    everything = await store.recent_audit()
    assert [a.action for a in everything] == ["status", "refresh", "approve", "schedule"]
    assert everything[2].detail == {"serials": ["SN-9"]}
    assert everything[2].channel_id == "CAPPROVALS"
    assert everything[0].detail is None
    assert_utc(everything[0].at)
    assert [a.action for a in await store.recent_audit(limit=2)] == ["status", "refresh"]
    assert [a.action for a in await store.recent_audit(request.id)] == ["approve", "schedule"]
    # A serial also finds the lines of the requests that name it.
    assert [a.action for a in await store.recent_audit("SN-9")] == ["refresh", "approve", "schedule"]
    assert [a.action for a in await store.recent_audit("txn-77")] == ["status"]
    assert await store.recent_audit("nothing") == []


# ------------------------------------------------------------------ health


async def test_ping_is_false_once_the_database_is_gone_and_never_raises(store: Store) -> None:
    assert await store.ping() is True
    await store.close()
    assert await store.ping() is False
    with pytest.raises(StoreUnavailable):
        await store.get_request("x")
    await store.connect()  # and it can come back
    assert await store.ping() is True


async def test_unreachable_postgres_fails_fast_with_a_typed_error() -> None:
    unreachable = Store("postgresql://postgres@127.0.0.1:1/none")
    assert await unreachable.ping() is False
    with pytest.raises(StoreUnavailable, match="cannot open"):
        await unreachable.connect()
    assert await unreachable.ping() is False


async def test_unusable_sqlite_file_fails_with_a_typed_error(tmp_path: Path) -> None:
    broken = Store(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")
    with pytest.raises(StoreUnavailable):
        await broken.connect()


async def test_in_memory_sqlite_is_safe_with_concurrent_callers() -> None:
    async with Store("sqlite+aiosqlite://") as memory:
        created = await memory.create_request(new_request(), at=T0)
        results = await asyncio.gather(
            *(
                memory.transition(created.id, from_states=["pending_approval"], to_state="approved", at=T0)
                for _ in range(CONCURRENCY)
            ),
            *(memory.get_request(created.id) for _ in range(CONCURRENCY)),
            memory.ping(),
        )
        assert sum(r is not None for r in results[:CONCURRENCY]) == 1
        assert all(r is not None for r in results[CONCURRENCY:])
