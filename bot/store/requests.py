"""Schedule requests, their items, and the lease that lets one process act on a request.

The methods that decide something are compare-and-set: a conditional ``UPDATE … WHERE id = :id AND state IN
(…)`` whose ``RETURNING`` says whether *this* call changed the row. Whoever's UPDATE matches first wins; the
others match nothing and get ``None`` — on PostgreSQL because a concurrent UPDATE waits for the row lock and
then re-checks the WHERE clause against the committed row (READ COMMITTED), on SQLite because write
transactions run one at a time. Nothing here reads a state and then writes it in a second statement.

The once-only creation of an operation in the Control API is built from two of these:

1. ``transition(request, from_states={"pending_approval"}, to_state="approved", by=…)``: first decision wins;
2. ``claim_item(item)`` — ``waiting → creating``: the intent is recorded *before* the POST, and only one
   caller gets the item; then ``complete_item`` (``→ created`` with the operation id) or ``fail_item``.

After a crash, ``items_in_state("creating")`` lists the items whose POST may or may not have happened; the
caller reconciles them against the Control API instead of posting again blindly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import ColumnElement, Select, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.changes import CREATED_STATUS
from bot.domain.requests import (
    TERMINAL_REQUEST_STATES,
    UNDECIDED_REQUEST_STATES,
    ItemRecord,
    ItemState,
    NewScheduleRequest,
    RequestState,
    ScheduleRecord,
    request_states,
)
from bot.store.database import Database, aware
from bot.store.errors import NotFound, StateConflict
from bot.store.states import seed_known_state
from bot.store.tables import ScheduleItemRow, ScheduleRequestRow

#: Request states whose still-``waiting`` items are cancelled in the same transaction.
_CANCELS_WAITING_ITEMS = TERMINAL_REQUEST_STATES - {RequestState.DONE}


_ITEM_FIELDS = tuple(name for name in ItemRecord.model_fields if name != "scheduled_time")
_REQUEST_FIELDS = tuple(name for name in ScheduleRecord.model_fields if name != "items")
_ITEM_COLUMNS = tuple(ItemRecord.model_fields)  # every field is a column (scheduled_time: NULL = the request's)


def _item_record(row: ScheduleItemRow, request_time: datetime) -> ItemRecord:
    """An item's record: its own scheduled time, or its request's (``request_time``) when it has none (NULL)."""
    values: dict[str, Any] = {name: getattr(row, name) for name in _ITEM_FIELDS}
    values["scheduled_time"] = row.scheduled_time or request_time
    return ItemRecord.model_validate(values)


async def _item_of(session: AsyncSession, row: ScheduleItemRow) -> ItemRecord:
    """:func:`_item_record` of a row read without its request: the request's time is read only when needed."""
    if row.scheduled_time is not None:
        return _item_record(row, row.scheduled_time)
    request_time = await session.scalar(
        select(ScheduleRequestRow.scheduled_time).where(ScheduleRequestRow.id == row.request_id)
    )
    assert request_time is not None  # a foreign key
    return _item_record(row, request_time)


async def _load_request(session: AsyncSession, request_id: str) -> ScheduleRecord | None:
    row = await session.scalar(
        select(ScheduleRequestRow).where(ScheduleRequestRow.id == request_id).execution_options(populate_existing=True)
    )
    if row is None:
        return None
    return (await _with_items(session, [row]))[0]


async def _load_requests(session: AsyncSession, statement: Select[ScheduleRequestRow]) -> list[ScheduleRecord]:
    rows = list(await session.scalars(statement))
    return await _with_items(session, rows) if rows else []


async def _with_items(session: AsyncSession, rows: list[ScheduleRequestRow]) -> list[ScheduleRecord]:
    """The requests' records with their items, read as plain rows in one query (a fleet request has thousands of
    items: ORM objects for each would cost more than the query itself)."""
    table = ScheduleItemRow.__table__
    found = await session.execute(
        select(*[table.c[name] for name in _ITEM_COLUMNS])
        .where(table.c.request_id.in_([row.id for row in rows]))
        .order_by(table.c.request_id, table.c.position)
    )
    items: dict[str, list[dict[str, Any]]] = {}
    for values in found.mappings():
        items.setdefault(values["request_id"], []).append(dict(values))
    records = []
    for row in rows:
        record: dict[str, Any] = {name: getattr(row, name) for name in _REQUEST_FIELDS}
        for item in items.get(row.id, ()):
            item["scheduled_time"] = item["scheduled_time"] or row.scheduled_time
        record["items"] = items.get(row.id, [])
        records.append(ScheduleRecord.model_validate(record))
    return records


async def _update_request(
    session: AsyncSession, request_id: str, *conditions: ColumnElement[bool], **values: Any
) -> bool:
    """``UPDATE`` one request if ``conditions`` hold; True when this statement changed it."""
    found = await session.scalar(
        update(ScheduleRequestRow)
        .where(ScheduleRequestRow.id == request_id, *conditions)
        .values(**values)
        .returning(ScheduleRequestRow.id)
        .execution_options(synchronize_session=False)
    )
    return found is not None


async def _update_item(
    session: AsyncSession, item_id: int, *conditions: ColumnElement[bool], **values: Any
) -> ScheduleItemRow | None:
    """``UPDATE`` one item if ``conditions`` hold; the updated row when this statement changed it."""
    return await session.scalar(
        update(ScheduleItemRow)
        .where(ScheduleItemRow.id == item_id, *conditions)
        .values(**values)
        .returning(ScheduleItemRow)
        .execution_options(synchronize_session=False)
    )


def _item_in(*states: ItemState) -> ColumnElement[bool]:
    return ScheduleItemRow.state.in_([state.value for state in states])


class RequestsRepo(Database):
    """Schedule requests and their items (one repository of ``bot.store.Store``)."""

    # ------------------------------------------------------------------ schedule requests

    async def create_request(self, new: NewScheduleRequest, *, at: datetime | None = None) -> ScheduleRecord:
        """Store a new request and one ``waiting`` item per device serial, in one transaction."""
        now = aware(at, "at") if at is not None else self._clock()
        row = ScheduleRequestRow(
            id=uuid4().hex,
            requester_id=new.requester_id,
            team_id=new.team_id,
            origin_channel_id=new.origin_channel_id,
            operation_type=new.operation_type,
            scheduled_time=new.scheduled_time,
            parameters=dict(new.parameters),
            notify_channel_id=new.notify_channel_id,
            requester_tz=new.requester_tz,
            approval_required=new.approval_required,
            window_note=new.window_note,
            state=new.state.value,
            created_at=now,
            updated_at=now,
            confirm_response_url=new.confirm_response_url,
            version=1,
        )
        item_times = new.item_times or {}
        items = [
            {
                "request_id": row.id,
                "position": position,
                "device_serial": serial,
                "state": ItemState.WAITING.value,
                "scheduled_time": item_times.get(serial),  # NULL: the request's
            }
            for position, serial in enumerate(new.device_serials)
        ]
        async with self._transaction(write=True) as session:
            session.add(row)
            await session.flush()
            # One multi-row INSERT for the items (a fleet request has thousands), not one ORM object each.
            await session.execute(insert(ScheduleItemRow), items)
            record = await _load_request(session, row.id)
        assert record is not None
        return record

    async def get_request(self, request_id: str) -> ScheduleRecord | None:
        """The request with its items, or ``None``."""
        async with self._transaction(write=False) as session:
            return await _load_request(session, request_id)

    async def list_requests(
        self,
        states: Iterable[str] | None = None,
        *,
        limit: int = 100,
        requester_id: str | None = None,
        unposted: bool = False,
        oldest_first: bool = False,
    ) -> list[ScheduleRecord]:
        """Requests, newest first (``oldest_first``: the other way), optionally only in ``states``, of one
        requester, and/or whose approval message was never posted (``unposted``)."""
        statement = select(ScheduleRequestRow).where(ScheduleRequestRow.rollout_id.is_(None))  # waves: the runner's
        if states is not None:
            statement = statement.where(ScheduleRequestRow.state.in_(request_states(states)))
        if requester_id is not None:
            statement = statement.where(ScheduleRequestRow.requester_id == requester_id)
        if unposted:
            statement = statement.where(ScheduleRequestRow.approval_ts.is_(None))
        created = ScheduleRequestRow.created_at.asc() if oldest_first else ScheduleRequestRow.created_at.desc()
        statement = statement.order_by(created, ScheduleRequestRow.id).limit(limit)
        async with self._transaction(write=False) as session:
            return await _load_requests(session, statement)

    async def transition(
        self,
        request_id: str,
        *,
        from_states: Iterable[str],
        to_state: str,
        by: str | None = None,
        at: datetime,
        reason: str | None = None,
    ) -> ScheduleRecord | None:
        """Move the request to ``to_state`` if it is in one of ``from_states``; first caller wins.

        Returns the updated record if *this* call made the change, ``None`` if the request is not (or no
        longer) in ``from_states`` or does not exist. ``by`` records who decided
        (``decided_by``/``decided_at``); ``reason`` is kept as ``decision_reason``. Moving to ``rejected``,
        ``cancelled`` or ``expired`` also cancels the request's ``waiting`` items in the same transaction, so
        no later ``claim_item`` can win.
        """
        sources = request_states(from_states)
        target = RequestState(to_state)
        if not sources:
            raise ValueError("from_states must name at least one state")
        aware(at, "at")
        values: dict[str, Any] = {
            "state": target.value,
            "updated_at": at,
            "version": ScheduleRequestRow.version + 1,
        }
        if by is not None:
            values.update(decided_by=by, decided_at=at)
        if reason is not None:
            values["decision_reason"] = reason
        in_sources = ScheduleRequestRow.state.in_([state.value for state in sources])
        async with self._transaction(write=True) as session:
            if not await _update_request(session, request_id, in_sources, **values):
                return None
            if target in _CANCELS_WAITING_ITEMS:
                await session.execute(
                    update(ScheduleItemRow)
                    .where(
                        ScheduleItemRow.request_id == request_id,
                        ScheduleItemRow.state == ItemState.WAITING.value,
                    )
                    .values(state=ItemState.CANCELLED.value, completed_at=at)
                    .execution_options(synchronize_session=False)
                )
            return await _load_request(session, request_id)

    async def complete_request_if_settled(self, request_id: str, *, at: datetime) -> ScheduleRecord | None:
        """``approved → done`` once no item is ``waiting`` or ``creating``; ``None`` if not (yet) the case."""
        aware(at, "at")
        unsettled = select(ScheduleItemRow.id).where(
            ScheduleItemRow.request_id == request_id, _item_in(ItemState.WAITING, ItemState.CREATING)
        )
        approved = ScheduleRequestRow.state == RequestState.APPROVED.value
        values = {"state": RequestState.DONE.value, "updated_at": at, "version": ScheduleRequestRow.version + 1}
        async with self._transaction(write=True) as session:
            won = await _update_request(session, request_id, approved, ~unsettled.exists(), **values)
            return await _load_request(session, request_id) if won else None

    async def _set_request(self, request_id: str, **values: Any) -> ScheduleRecord | None:
        """Set fields of one request (and bump its ``version``); ``None`` if there is no such request."""
        async with self._transaction(write=True) as session:
            found = await _update_request(session, request_id, **values, version=ScheduleRequestRow.version + 1)
            return await _load_request(session, request_id) if found else None

    async def set_approval_message(
        self, request_id: str, channel_id: str, ts: str, *, at: datetime | None = None
    ) -> ScheduleRecord | None:
        """Remember where the approval message was posted (to update it). ``None`` if no such request."""
        now = aware(at, "at") if at is not None else self._clock()
        return await self._set_request(request_id, approval_channel_id=channel_id, approval_ts=ts, updated_at=now)

    async def set_confirm_response_url(
        self, request_id: str, url: str | None, *, at: datetime | None = None
    ) -> ScheduleRecord | None:
        """Remember (or forget) the ``response_url`` of the requester's confirmation message."""
        now = aware(at, "at") if at is not None else self._clock()
        return await self._set_request(request_id, confirm_response_url=url, updated_at=now)

    async def requests_due_for_expiry(self, now: datetime) -> list[ScheduleRecord]:
        """Undecided requests (``draft``, ``pending_approval``) whose scheduled time is ``now`` or earlier.

        Expire each with ``transition(…, from_states=UNDECIDED_REQUEST_STATES, to_state="expired")``: a
        decision that lands in between wins, and the expiry then returns ``None``.
        """
        aware(now, "now")
        statement = (
            select(ScheduleRequestRow)
            .where(
                ScheduleRequestRow.state.in_([state.value for state in UNDECIDED_REQUEST_STATES]),
                ScheduleRequestRow.scheduled_time <= now,
            )
            .order_by(ScheduleRequestRow.scheduled_time, ScheduleRequestRow.id)
        )
        async with self._transaction(write=False) as session:
            return await _load_requests(session, statement)

    # ------------------------------------------------------------------ leases (one actor per request, all replicas)

    async def take_lease(self, request_id: str, owner: str, *, at: datetime, until: datetime) -> bool:
        """Become the one process acting on the request until ``until``; True when this call holds the lease.

        A compare-and-set UPDATE: it wins if nobody holds the lease, the holder's lease ran out (a crashed
        process), or ``owner`` already holds it (renewal). The request's ``version`` is not touched, so a lease
        never makes a state transition fail.
        """
        aware(at, "at")
        aware(until, "until")
        free = or_(
            ScheduleRequestRow.lease_until.is_(None),
            ScheduleRequestRow.lease_until < at,
            ScheduleRequestRow.lease_owner == owner,
        )
        async with self._transaction(write=True) as session:
            return await _update_request(session, request_id, free, lease_owner=owner, lease_until=until)

    async def drop_lease(self, request_id: str, owner: str) -> None:
        """Give the lease back (only if ``owner`` still holds it)."""
        async with self._transaction(write=True) as session:
            held = ScheduleRequestRow.lease_owner == owner
            await _update_request(session, request_id, held, lease_owner=None, lease_until=None)

    # ------------------------------------------------------------------ items

    async def claim_item(self, item_id: int, *, at: datetime) -> ItemRecord | None:
        """``waiting → creating``: record the intent to create the operation. Only one caller gets the item.

        Call it before the POST; ``None`` means someone else claimed it (or the request was cancelled) — do
        not POST.
        """
        aware(at, "at")
        async with self._transaction(write=True) as session:
            row = await _update_item(
                session, item_id, _item_in(ItemState.WAITING), state=ItemState.CREATING.value, attempted_at=at
            )
            return None if row is None else await _item_of(session, row)

    async def release_item(self, item_id: int, *, at: datetime) -> ItemRecord | None:
        """``creating → waiting``: the POST provably did not create anything (it was refused before being
        sent, or reconciliation found no such operation), so the item may be claimed and created again.

        ``None`` if the item is not ``creating`` (someone recorded a result meanwhile).
        """
        aware(at, "at")
        async with self._transaction(write=True) as session:
            row = await _update_item(session, item_id, _item_in(ItemState.CREATING), state=ItemState.WAITING.value)
            return None if row is None else await _item_of(session, row)

    async def complete_item(
        self, item_id: int, *, operation_id: str, at: datetime, created_status: str = CREATED_STATUS
    ) -> ItemRecord:
        """``creating → created`` with the Control API's operation id; in the same transaction the notifier learns
        that the operation exists in ``created_status`` (the POST answer's; see ``seed_known_state``).

        Idempotent for the same ``operation_id``. Raises ``NotFound``, or ``StateConflict`` if the item is in
        any other state or the operation id is already recorded for another item.
        """
        aware(at, "at")
        created = {"state": ItemState.CREATED.value, "operation_id": operation_id, "completed_at": at, "error": None}
        try:
            async with self._transaction(write=True) as session:
                row = await _update_item(session, item_id, _item_in(ItemState.CREATING), **created)
                if row is not None:
                    asked = (
                        await session.execute(
                            select(ScheduleRequestRow.operation_type, ScheduleRequestRow.scheduled_time).where(
                                ScheduleRequestRow.id == row.request_id
                            )
                        )
                    ).one()  # the item's request (a foreign key): what was asked for
                    item = _item_record(row, asked.scheduled_time)
                    await session.execute(
                        seed_known_state(
                            self.dialect, operation_id=operation_id, device_serial=row.device_serial,
                            operation_type=asked.operation_type, scheduled_time=item.scheduled_time,
                            status=created_status, at=at,
                        )
                    )  # fmt: skip
                    return item
                current_row = await session.get(ScheduleItemRow, item_id)
                current = None if current_row is None else await _item_of(session, current_row)
        except IntegrityError as exc:
            raise StateConflict(f"operation {operation_id} is already recorded for another item") from exc
        if current is None:
            raise NotFound(f"no schedule item {item_id}")
        if current.state == ItemState.CREATED and current.operation_id == operation_id:
            return current
        raise StateConflict(f"schedule item {item_id} is {current.state}, not creating")

    async def fail_item(self, item_id: int, *, error: str, at: datetime) -> ItemRecord:
        """``waiting | creating → failed`` with the reason. Idempotent once failed (the first error is kept).

        Raises ``NotFound``, or ``StateConflict`` if the item was created or cancelled.
        """
        aware(at, "at")
        failed = {"state": ItemState.FAILED.value, "error": error, "completed_at": at}
        async with self._transaction(write=True) as session:
            row = await _update_item(session, item_id, _item_in(ItemState.WAITING, ItemState.CREATING), **failed)
            if row is not None:
                return await _item_of(session, row)
            current_row = await session.get(ScheduleItemRow, item_id)
            current = None if current_row is None else await _item_of(session, current_row)
        if current is None:
            raise NotFound(f"no schedule item {item_id}")
        if current.state == ItemState.FAILED:
            return current
        raise StateConflict(f"schedule item {item_id} is {current.state}, cannot fail it")

    async def set_item_thread(self, item_id: int, channel_id: str, ts: str) -> ItemRecord | None:
        """Where notifications of this item's operation go (a Slack thread). ``None`` if no such item."""
        async with self._transaction(write=True) as session:
            row = await _update_item(session, item_id, thread_channel_id=channel_id, thread_ts=ts)
            return None if row is None else await _item_of(session, row)

    async def set_request_threads(self, request_id: str, channel_id: str, ts: str) -> int:
        """Every item of a request gets the same thread (its approval or announcement message), in one statement
        (a request of 5,000 devices is one UPDATE, not 5,000). Returns how many items it has."""
        async with self._transaction(write=True) as session:
            result = await session.execute(
                update(ScheduleItemRow)
                .where(ScheduleItemRow.request_id == request_id)
                .values(thread_channel_id=channel_id, thread_ts=ts)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def items_in_state(self, state: str) -> list[ItemRecord]:
        """Every item in ``state``, oldest attempt first. ``"creating"`` after a start = crashed mid-POST."""
        wanted = ItemState(state)
        async with self._transaction(write=False) as session:
            rows = await session.execute(
                select(ScheduleItemRow, ScheduleRequestRow.scheduled_time)
                .join(ScheduleRequestRow, ScheduleRequestRow.id == ScheduleItemRow.request_id)
                .where(ScheduleItemRow.state == wanted.value)
                .order_by(ScheduleItemRow.attempted_at, ScheduleItemRow.id)
            )
            return [_item_record(row, request_time) for row, request_time in rows]

    async def find_item_by_operation(self, operation_id: str) -> tuple[ScheduleRecord, ItemRecord] | None:
        """The request and item that created operation ``operation_id`` (``None``: not created by the bot)."""
        async with self._transaction(write=False) as session:
            request_id = await session.scalar(
                select(ScheduleItemRow.request_id).where(ScheduleItemRow.operation_id == operation_id)
            )
            if request_id is None:
                return None
            record = await _load_request(session, request_id)
        if record is None:
            return None
        item = next(item for item in record.items if item.operation_id == operation_id)
        return record, item
