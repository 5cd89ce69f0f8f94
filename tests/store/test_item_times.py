"""One scheduled time per device (migration 0005): ``NewScheduleRequest.item_times``, ``ItemRecord.scheduled_time``,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from pydantic import ValidationError
from sqlalchemy import Connection

from bot.domain.requests import NewScheduleRequest
from bot.store import Store
from bot.store.migrate import alembic_config, current_revision, head_revision
from tests.support.records import T0, new_request

KOLKATA_TIME = T0 + timedelta(hours=2)  # the earliest: the request's scheduled_time
MADRID_TIME = T0 + timedelta(hours=6, minutes=30)
PAGO_TIME = T0 + timedelta(hours=17)


def per_device(**overrides: object) -> NewScheduleRequest:
    fields: dict[str, object] = {
        "device_serials": ["SN-IN", "SN-ES", "SN-AS"],
        "scheduled_time": KOLKATA_TIME,
        "item_times": {"SN-IN": KOLKATA_TIME, "SN-ES": MADRID_TIME, "SN-AS": PAGO_TIME},
    }
    fields.update(overrides)
    return new_request(**fields)


# ------------------------------------------------------------------ the domain model (no database)


def test_item_times_are_keyed_by_the_stored_spelling_and_in_utc() -> None:
    plus_five = timezone(timedelta(hours=5, minutes=30))
    new = per_device(
        device_serials=[" sn-in ", "SN-ES", "SN-AS"],
        item_times={"SN-IN": KOLKATA_TIME.astimezone(plus_five), "sn-es": MADRID_TIME},
    )
    assert new.item_times == {"sn-in": KOLKATA_TIME, "SN-ES": MADRID_TIME}
    assert all(t.tzinfo is UTC for t in new.item_times.values())
    assert [new.time_of(s) for s in new.device_serials] == [KOLKATA_TIME, MADRID_TIME, KOLKATA_TIME]
    assert new_request(item_times={}).item_times is None
    assert new_request().time_of("SN-1") == T0 + timedelta(hours=2)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"item_times": {"SN-XX": KOLKATA_TIME}}, "'SN-XX', which is not one of the device serials"),
        ({"scheduled_time": MADRID_TIME}, "scheduled_time must be the earliest of the items' times"),
        ({"scheduled_time": T0}, "scheduled_time must be the earliest of the items' times"),
        ({"item_times": {"SN-IN": KOLKATA_TIME, "sn-in": MADRID_TIME}}, "gives 'SN-IN' two different times"),
        ({"item_times": {"SN-IN": datetime(2030, 1, 6, 14, 0)}}, "timezone"),
    ],
)
def test_item_times_are_validated(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        per_device(**overrides)


def test_a_serial_left_out_of_item_times_is_at_the_requests_time() -> None:
    # SN-AS has no time of its own: it is at scheduled_time, so scheduled_time may not be later than it
    new = per_device(item_times={"SN-ES": MADRID_TIME, "SN-IN": MADRID_TIME})
    assert new.time_of("SN-AS") == KOLKATA_TIME
    with pytest.raises(ValidationError, match="earliest"):
        per_device(item_times={"SN-ES": MADRID_TIME}, scheduled_time=MADRID_TIME + timedelta(minutes=1))


# ------------------------------------------------------------------ the store


async def test_each_item_has_its_own_scheduled_time(store: Store) -> None:
    created = await store.create_request(per_device(), at=T0)
    assert created.scheduled_time == KOLKATA_TIME
    assert [(i.device_serial, i.scheduled_time) for i in created.items] == [
        ("SN-IN", KOLKATA_TIME),
        ("SN-ES", MADRID_TIME),
        ("SN-AS", PAGO_TIME),
    ]
    assert await store.get_request(created.id) == created
    for item in created.items:
        assert item.scheduled_time.utcoffset() == timedelta(0)


async def test_an_item_without_a_time_of_its_own_has_the_requests(store: Store) -> None:
    created = await store.create_request(new_request(), at=T0)  # NULL in schedule_items.scheduled_time
    assert [i.scheduled_time for i in created.items] == [created.scheduled_time] * 2
    partly = await store.create_request(per_device(item_times={"SN-ES": MADRID_TIME}), at=T0)
    assert [i.scheduled_time for i in partly.items] == [KOLKATA_TIME, MADRID_TIME, KOLKATA_TIME]


async def test_every_item_record_carries_its_time(store: Store) -> None:
    created = await store.create_request(per_device(), at=T0)
    await store.transition(created.id, from_states=["pending_approval"], to_state="approved", at=T0)
    spain = created.item_for("SN-ES")
    pago = created.item_for("SN-AS")
    india = created.item_for("SN-IN")
    assert spain is not None and pago is not None and india is not None

    claimed = await store.claim_item(spain.id, at=T0)
    assert claimed is not None and claimed.scheduled_time == MADRID_TIME
    assert [i.scheduled_time for i in await store.items_in_state("creating")] == [MADRID_TIME]
    released = await store.release_item(spain.id, at=T0)
    assert released is not None and released.scheduled_time == MADRID_TIME
    await store.claim_item(spain.id, at=T0)
    done = await store.complete_item(spain.id, operation_id="txn-es", at=T0)
    assert done.scheduled_time == MADRID_TIME
    assert (await store.complete_item(spain.id, operation_id="txn-es", at=T0)).scheduled_time == MADRID_TIME
    threaded = await store.set_item_thread(spain.id, "CTHREAD", "1.2")
    assert threaded is not None and threaded.scheduled_time == MADRID_TIME
    failed = await store.fail_item(pago.id, error="offline", at=T0)
    assert failed.scheduled_time == PAGO_TIME
    assert (await store.fail_item(pago.id, error="again", at=T0)).scheduled_time == PAGO_TIME
    found = await store.find_item_by_operation("txn-es")
    assert found is not None and found[1].scheduled_time == MADRID_TIME

    # the notifier learns the operation at the item's time, not the request's
    known = {op: state async for rows in store.stream_known_states() for op, state in rows}
    assert known["txn-es"].scheduled_time == MADRID_TIME

    # the same on a request whose items have no time of their own (the request's, read from it)
    plain = await store.create_request(new_request(), at=T0)
    first = plain.items[0]
    for item in (await store.claim_item(first.id, at=T0), await store.release_item(first.id, at=T0)):
        assert item is not None and item.scheduled_time == plain.scheduled_time
    assert (await store.fail_item(first.id, error="x", at=T0)).scheduled_time == plain.scheduled_time
    assert india.scheduled_time == KOLKATA_TIME


async def test_migration_0005_goes_down_and_up_and_old_items_take_the_requests_time(store: Store) -> None:
    created = await store.create_request(per_device(), at=T0)

    def migrate(connection: Connection, target: str) -> str | None:
        config = alembic_config(store.schema)
        config.attributes["connection"] = connection
        (command.downgrade if target != "head" else command.upgrade)(config, target)
        return current_revision(connection, store.schema)

    async with store.engine.begin() as connection:
        assert await connection.run_sync(migrate, "0004") == "0004"
    async with store.engine.begin() as connection:
        assert await connection.run_sync(migrate, "head") == head_revision() >= "0005"
    again = await store.get_request(created.id)
    assert again is not None
    # the per-item times went with the column: every item is at the request's time again
    assert [i.scheduled_time for i in again.items] == [KOLKATA_TIME] * 3
