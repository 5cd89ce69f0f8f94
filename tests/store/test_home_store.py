"""The App Home's store (``HomeRepo``) on SQLite and PostgreSQL: who opened it, the view hash as a compare-and-set,
and the bounded pages a home shows (each with its count)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.requests import RequestState
from bot.store import Store
from tests.support.records import new_request

T0 = datetime(2030, 1, 6, 12, 0, tzinfo=UTC)


def _state(op_id: str, status: str, *, scheduled: datetime, updated: datetime) -> dict[str, object]:
    return {
        "operation_id": op_id, "device_serial": f"SN-{op_id}", "operation_type": "reboot", "status": status,
        "scheduled_time": scheduled, "device_online": True, "last_seen": None, "offline_reported": False,
        "version": 1, "updated_at": updated,
    }  # fmt: skip


async def test_readers_and_the_hash_compare_and_set(store: Store) -> None:
    await store.home_opened("U1", at=T0 - timedelta(hours=30))
    await store.home_opened("U2", at=T0, view_hash="h0")
    await store.home_opened("U1", at=T0)  # opened again: recent now, hash kept (none)
    await store.home_opened("U3", at=T0 - timedelta(hours=25))
    assert await store.home_readers(T0 - timedelta(hours=24)) == ["U1", "U2"]
    assert await store.home_hash("U2") == "h0" and await store.home_hash("U1") is None
    assert await store.home_published("U2", expected="h0", view_hash="h1", at=T0)
    assert not await store.home_published("U2", expected="h0", view_hash="h-older", at=T0), "a stale writer loses"
    assert await store.home_hash("U2") == "h1"
    assert await store.home_published("U1", expected=None, view_hash="first", at=T0)
    assert await store.home_hash("U1") == "first"
    await store.home_opened("U2", at=T0, view_hash="from-slack")  # the event carries the hash Slack shows
    assert await store.home_hash("U2") == "from-slack"


async def test_the_pages_a_home_shows_are_bounded_and_counted(store: Store) -> None:
    states = [_state(f"txn_{n}", "scheduled", scheduled=T0 + timedelta(minutes=n), updated=T0) for n in range(15)]
    states += [
        _state("txn_late", "scheduled", scheduled=T0 + timedelta(hours=25), updated=T0),
        _state("txn_done", "completed", scheduled=T0 + timedelta(hours=1), updated=T0),
        _state("txn_old_fail", "failed", scheduled=T0, updated=T0 - timedelta(hours=30)),
        *[_state(f"txn_f{n}", s, scheduled=T0, updated=T0 - timedelta(minutes=n))
          for n, s in enumerate(["failed", "FIRMWARE_ERROR", "expired", "aborted", "timed_out", "rejected", "error"])],
    ]  # fmt: skip
    await store.record_notifier_cycle(states=states, at=T0)
    upcoming, total = await store.upcoming_operations(T0, T0 + timedelta(hours=24), limit=10)
    assert total == 15 and [op.operation_id for op in upcoming] == [f"txn_{n}" for n in range(10)]
    failures, total = await store.recent_failures(T0 - timedelta(hours=24), limit=5)
    assert total == 7 and [op.operation_id for op in failures] == [f"txn_f{n}" for n in range(5)]
    assert await store.serials_of_operations(["txn_1", "txn_nope"]) == {"txn_1": "SN-txn_1"}


async def test_requests_pages_for_the_approver_and_the_requester(store: Store) -> None:
    for n in range(7):
        await store.create_request(new_request(requester_id="UREQ" if n % 2 else "UAPP"), at=T0 + timedelta(minutes=n))
    await store.create_request(new_request(requester_id="UREQ", state="draft"), at=T0 + timedelta(minutes=9))
    old = await store.create_request(new_request(requester_id="UREQ", state="pending_approval"), at=T0)
    await store.transition(old.id, from_states=[RequestState.PENDING_APPROVAL], to_state=RequestState.REJECTED,
                           by="UAPP", at=T0)  # fmt: skip
    waiting, total = await store.requests_page(
        [RequestState.PENDING_APPROVAL], not_requester_id="UAPP", limit=2, oldest_first=True
    )
    assert total == 3 and all(r.requester_id == "UREQ" for r in waiting) and len(waiting) == 2
    assert waiting[0].created_at < waiting[1].created_at
    open_states = (RequestState.DRAFT, RequestState.PENDING_APPROVAL, RequestState.APPROVED)
    yours, total = await store.requests_page(
        requester_id="UREQ", undecided_or_since=(open_states, T0 + timedelta(days=8)), limit=5
    )
    assert total == 4, "the undecided ones (the rejected one is neither undecided nor recent)"
    assert yours[0].state is RequestState.DRAFT, "newest first"
