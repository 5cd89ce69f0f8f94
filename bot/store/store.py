"""``Store``: the bot's repository. Every method is one short transaction and returns frozen records.

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

import asyncio
import hashlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from datetime import datetime
from types import TracebackType
from typing import Any
from uuid import uuid4

import asyncpg
from alembic.util import CommandError
from sqlalchemy import delete, or_, select, text, update
from sqlalchemy import func as sql_func  # the notifier's section
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.clock import Clock, utcnow
from bot.store.engine import WRITE_OPTION, create_engine_for, enable_sqlite_wal, parse_database_url
from bot.store.errors import NotFound, StateConflict, StoreError, StoreUnavailable
from bot.store.migrate import upgrade
from bot.store.models import (
    AuditRow,
    NotificationRow,  # the notifier's section
    NotifierMetaRow,  # the notifier's section
    OperationStateRow,  # the notifier's section
    ScheduleItemRow,
    ScheduleRequestRow,
    WatchRow,
)
from bot.store.notifier_records import (  # the notifier's section
    CREATED_STATUS,
    BotThread,
    KnownState,
    NewNotification,
    NotificationRecord,
    NotificationState,
    NotifierLease,
    seed_known_state,
    sqlite_file_lease,
)
from bot.store.records import (
    TERMINAL_REQUEST_STATES,
    UNDECIDED_REQUEST_STATES,
    AuditRecord,
    ItemRecord,
    ItemState,
    NewScheduleRequest,
    RequestState,
    ScheduleRecord,
    WatchRecord,
    request_states,
)

log = logging.getLogger("bot.store")

#: Request states whose still-``waiting`` items are cancelled in the same transaction.
_CANCELS_WAITING_ITEMS = TERMINAL_REQUEST_STATES - {RequestState.DONE}


# What a database that went away looks like, by driver: refused or dropped connections, asyncpg's own connection
# errors, SQLAlchemy's wrappers of them. Turned into ``StoreUnavailable`` so callers can say "try again".
_UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.InterfaceError,
    DBAPIError,
)


def _unreachable(orig: BaseException | None) -> bool:
    """Is a driver error (``DBAPIError.orig``) about the connection rather than the statement?"""
    if orig is None:
        return False
    if isinstance(orig, _UNREACHABLE[:-1]):
        return True
    name = type(orig).__name__
    return name in {"ConnectionDoesNotExistError", "CannotConnectNowError", "InterfaceError", "ConnectionRefusedError"}


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (UTC inside the bot), got {value.isoformat()}")
    return value


def _request_record(row: ScheduleRequestRow) -> ScheduleRecord:
    return ScheduleRecord.model_validate(row)


def _item_record(row: ScheduleItemRow) -> ItemRecord:
    return ItemRecord.model_validate(row)


class Store:
    """The bot's persistent state on SQLite (one process) or PostgreSQL (one or more replicas).

    ``Store(url)`` does no I/O; ``await store.connect()`` creates the engine and migrates the schema to head
    (safe when several processes start at once), ``await store.close()`` releases the connections. Also usable
    as ``async with Store(url) as store:``. ``schema`` (PostgreSQL only) may also be given as ``?schema=`` in
    the URL.

    Concurrency on SQLite: write transactions are queued on a per-``Store`` ``asyncio.Lock`` and begin with
    ``BEGIN IMMEDIATE`` (see ``bot.store.engine``), so concurrent writers in one process never see "database
    is locked", and writers in other processes wait for the lock (busy timeout). An in-memory SQLite database
    has a single connection, so there every transaction, read or write, takes the lock.
    """

    def __init__(self, url: str | URL, *, schema: str | None = None, clock: Clock = utcnow, echo: bool = False) -> None:
        self._target = parse_database_url(url, schema)
        self._clock = clock
        self._echo = echo
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._lock: asyncio.Lock | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._target.dialect

    @property
    def schema(self) -> str | None:
        """The PostgreSQL schema the tables live in (``None``: the connection's default)."""
        return self._target.schema

    @property
    def url(self) -> str:
        """The database URL without its password (for logs)."""
        return self._target.describe()

    @property
    def engine(self) -> AsyncEngine:
        """The engine, for tests and tools; the bot's code goes through the methods below."""
        if self._engine is None:
            raise StoreUnavailable("the store is not connected")
        return self._engine

    async def connect(self) -> None:
        """Create the engine and bring the schema to the newest revision. Raises ``StoreUnavailable``."""
        if self._engine is not None:
            return
        sqlite_file = self._target.sqlite_file
        if sqlite_file is not None and not sqlite_file.parent.is_dir():
            raise StoreUnavailable(f"cannot open the database {self.url}: {sqlite_file.parent} is not a directory")
        engine = create_engine_for(self._target, echo=self._echo)
        try:
            async with engine.connect() as connection:
                if self._target.sqlite_file is not None:
                    mode = await enable_sqlite_wal(connection)
                    if mode != "wal":
                        log.warning("SQLite journal mode is %s, not WAL: readers will wait for writers", mode)
                if self.dialect == "sqlite":
                    await connection.execution_options(**{WRITE_OPTION: True})
                await upgrade(connection, self._target.schema)
        except CommandError as exc:
            await engine.dispose()
            raise StoreError(f"cannot migrate {self.url}: {exc} (is the database newer than this code?)") from exc
        except (SQLAlchemyError, sqlite3.Error, OSError, TimeoutError) as exc:
            await engine.dispose()
            detail = next(iter(str(exc).splitlines()), "") or type(exc).__name__  # one line: no "(Background on…)"
            raise StoreUnavailable(f"cannot open the database {self.url}: {detail}") from exc
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._lock = asyncio.Lock()
        log.info("store ready on %s", self.url)

    async def close(self) -> None:
        """Release every connection. The store can be connected again afterwards."""
        engine, self._engine, self._sessions = self._engine, None, None
        if engine is not None:
            await engine.dispose()

    async def __aenter__(self) -> Store:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def ping(self, seconds: float = 5.0) -> bool:
        """Can the database answer ``SELECT 1`` right now? Never raises (health checks call this)."""
        if self._engine is None:
            return False
        try:
            async with asyncio.timeout(seconds), self._serialized(write=False):
                engine = self._engine
                if engine is None:
                    return False
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except Exception as exc:  # health check: any failure means "not healthy"
            log.warning("database ping failed: %s", exc)
            return False
        return True

    # ------------------------------------------------------------------ transactions

    def _serialized(self, *, write: bool) -> AbstractAsyncContextManager[object]:
        if self._lock is not None and self.dialect == "sqlite" and (write or self._target.is_sqlite_memory):
            return self._lock
        return nullcontext()

    @asynccontextmanager
    async def _transaction(self, *, write: bool) -> AsyncIterator[AsyncSession]:
        """One session in one transaction; commits on success, rolls back on error."""
        if self._sessions is None:
            raise StoreUnavailable("the store is not connected (call connect() first)")
        sessions = self._sessions
        try:
            async with self._serialized(write=write), sessions() as session, session.begin():
                if write and self.dialect == "sqlite":
                    await session.connection(execution_options={WRITE_OPTION: True})
                yield session
        except _UNREACHABLE as exc:
            if isinstance(exc, DBAPIError) and not (exc.connection_invalidated or _unreachable(exc.orig)):
                raise  # a real SQL error (a constraint, a bad statement): the caller's to handle
            raise StoreUnavailable(f"the database is not reachable ({type(exc).__name__})") from exc

    @staticmethod
    async def _load_request(session: AsyncSession, request_id: str) -> ScheduleRecord | None:
        row = await session.scalar(
            select(ScheduleRequestRow)
            .where(ScheduleRequestRow.id == request_id)
            .options(selectinload(ScheduleRequestRow.items))
            .execution_options(populate_existing=True)
        )
        return None if row is None else _request_record(row)

    @staticmethod
    async def _load_requests(session: AsyncSession, statement: Any) -> list[ScheduleRecord]:
        rows = await session.scalars(statement.options(selectinload(ScheduleRequestRow.items)))
        return [_request_record(row) for row in rows]

    # ------------------------------------------------------------------ schedule requests

    async def create_request(self, new: NewScheduleRequest, *, at: datetime | None = None) -> ScheduleRecord:
        """Store a new request and one ``waiting`` item per device serial, in one transaction."""
        now = _aware(at, "at") if at is not None else self._clock()
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
        row.items = [
            ScheduleItemRow(position=position, device_serial=serial, state=ItemState.WAITING.value)
            for position, serial in enumerate(new.device_serials)
        ]
        async with self._transaction(write=True) as session:
            session.add(row)
            await session.flush()
            record = await self._load_request(session, row.id)
        assert record is not None
        return record

    async def get_request(self, request_id: str) -> ScheduleRecord | None:
        """The request with its items, or ``None``."""
        async with self._transaction(write=False) as session:
            return await self._load_request(session, request_id)

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
        statement = select(ScheduleRequestRow)
        if states is not None:
            statement = statement.where(ScheduleRequestRow.state.in_(request_states(states)))
        if requester_id is not None:
            statement = statement.where(ScheduleRequestRow.requester_id == requester_id)
        if unposted:
            statement = statement.where(ScheduleRequestRow.approval_ts.is_(None))
        created = ScheduleRequestRow.created_at.asc() if oldest_first else ScheduleRequestRow.created_at.desc()
        statement = statement.order_by(created, ScheduleRequestRow.id).limit(limit)
        async with self._transaction(write=False) as session:
            return await self._load_requests(session, statement)

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
        _aware(at, "at")
        values: dict[str, Any] = {
            "state": target.value,
            "updated_at": at,
            "version": ScheduleRequestRow.version + 1,
        }
        if by is not None:
            values.update(decided_by=by, decided_at=at)
        if reason is not None:
            values["decision_reason"] = reason
        async with self._transaction(write=True) as session:
            won = await session.scalar(
                update(ScheduleRequestRow)
                .where(
                    ScheduleRequestRow.id == request_id,
                    ScheduleRequestRow.state.in_([state.value for state in sources]),
                )
                .values(**values)
                .returning(ScheduleRequestRow.id)
                .execution_options(synchronize_session=False)
            )
            if won is None:
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
            return await self._load_request(session, request_id)

    async def complete_request_if_settled(self, request_id: str, *, at: datetime) -> ScheduleRecord | None:
        """``approved → done`` once no item is ``waiting`` or ``creating``; ``None`` if not (yet) the case."""
        _aware(at, "at")
        unsettled = select(ScheduleItemRow.id).where(
            ScheduleItemRow.request_id == request_id,
            ScheduleItemRow.state.in_([ItemState.WAITING.value, ItemState.CREATING.value]),
        )
        async with self._transaction(write=True) as session:
            won = await session.scalar(
                update(ScheduleRequestRow)
                .where(
                    ScheduleRequestRow.id == request_id,
                    ScheduleRequestRow.state == RequestState.APPROVED.value,
                    ~unsettled.exists(),
                )
                .values(state=RequestState.DONE.value, updated_at=at, version=ScheduleRequestRow.version + 1)
                .returning(ScheduleRequestRow.id)
                .execution_options(synchronize_session=False)
            )
            return None if won is None else await self._load_request(session, request_id)

    async def _update_request(self, request_id: str, values: dict[str, Any]) -> ScheduleRecord | None:
        values = {**values, "version": ScheduleRequestRow.version + 1}
        async with self._transaction(write=True) as session:
            found = await session.scalar(
                update(ScheduleRequestRow)
                .where(ScheduleRequestRow.id == request_id)
                .values(**values)
                .returning(ScheduleRequestRow.id)
                .execution_options(synchronize_session=False)
            )
            return None if found is None else await self._load_request(session, request_id)

    async def set_approval_message(
        self, request_id: str, channel_id: str, ts: str, *, at: datetime | None = None
    ) -> ScheduleRecord | None:
        """Remember where the approval message was posted (to update it). ``None`` if no such request."""
        now = _aware(at, "at") if at is not None else self._clock()
        return await self._update_request(
            request_id, {"approval_channel_id": channel_id, "approval_ts": ts, "updated_at": now}
        )

    async def set_confirm_response_url(
        self, request_id: str, url: str | None, *, at: datetime | None = None
    ) -> ScheduleRecord | None:
        """Remember (or forget) the ``response_url`` of the requester's confirmation message."""
        now = _aware(at, "at") if at is not None else self._clock()
        return await self._update_request(request_id, {"confirm_response_url": url, "updated_at": now})

    async def requests_due_for_expiry(self, now: datetime) -> list[ScheduleRecord]:
        """Undecided requests (``draft``, ``pending_approval``) whose scheduled time is ``now`` or earlier.

        Expire each with ``transition(…, from_states=UNDECIDED_REQUEST_STATES, to_state="expired")``: a
        decision that lands in between wins, and the expiry then returns ``None``.
        """
        _aware(now, "now")
        statement = (
            select(ScheduleRequestRow)
            .where(
                ScheduleRequestRow.state.in_([state.value for state in UNDECIDED_REQUEST_STATES]),
                ScheduleRequestRow.scheduled_time <= now,
            )
            .order_by(ScheduleRequestRow.scheduled_time, ScheduleRequestRow.id)
        )
        async with self._transaction(write=False) as session:
            return await self._load_requests(session, statement)

    # ------------------------------------------------------------------ leases (one actor per request, all replicas)

    async def take_lease(self, request_id: str, owner: str, *, at: datetime, until: datetime) -> bool:
        """Become the one process acting on the request until ``until``; True when this call holds the lease.

        A compare-and-set UPDATE: it wins if nobody holds the lease, the holder's lease ran out (a crashed
        process), or ``owner`` already holds it (renewal). The request's ``version`` is not touched, so a lease
        never makes a state transition fail.
        """
        _aware(at, "at")
        _aware(until, "until")
        async with self._transaction(write=True) as session:
            won = await session.scalar(
                update(ScheduleRequestRow)
                .where(
                    ScheduleRequestRow.id == request_id,
                    or_(
                        ScheduleRequestRow.lease_until.is_(None),
                        ScheduleRequestRow.lease_until < at,
                        ScheduleRequestRow.lease_owner == owner,
                    ),
                )
                .values(lease_owner=owner, lease_until=until)
                .returning(ScheduleRequestRow.id)
                .execution_options(synchronize_session=False)
            )
            return won is not None

    async def drop_lease(self, request_id: str, owner: str) -> None:
        """Give the lease back (only if ``owner`` still holds it)."""
        async with self._transaction(write=True) as session:
            await session.execute(
                update(ScheduleRequestRow)
                .where(ScheduleRequestRow.id == request_id, ScheduleRequestRow.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )

    # ------------------------------------------------------------------ items

    async def claim_item(self, item_id: int, *, at: datetime) -> ItemRecord | None:
        """``waiting → creating``: record the intent to create the operation. Only one caller gets the item.

        Call it before the POST; ``None`` means someone else claimed it (or the request was cancelled) — do
        not POST.
        """
        _aware(at, "at")
        async with self._transaction(write=True) as session:
            row = await session.scalar(
                update(ScheduleItemRow)
                .where(ScheduleItemRow.id == item_id, ScheduleItemRow.state == ItemState.WAITING.value)
                .values(state=ItemState.CREATING.value, attempted_at=at)
                .returning(ScheduleItemRow)
                .execution_options(synchronize_session=False)
            )
            return None if row is None else _item_record(row)

    async def release_item(self, item_id: int, *, at: datetime) -> ItemRecord | None:
        """``creating → waiting``: the POST provably did not create anything (it was refused before being
        sent, or reconciliation found no such operation), so the item may be claimed and created again.

        ``None`` if the item is not ``creating`` (someone recorded a result meanwhile).
        """
        _aware(at, "at")
        async with self._transaction(write=True) as session:
            row = await session.scalar(
                update(ScheduleItemRow)
                .where(ScheduleItemRow.id == item_id, ScheduleItemRow.state == ItemState.CREATING.value)
                .values(state=ItemState.WAITING.value)
                .returning(ScheduleItemRow)
                .execution_options(synchronize_session=False)
            )
            return None if row is None else _item_record(row)

    async def complete_item(
        self, item_id: int, *, operation_id: str, at: datetime, created_status: str = CREATED_STATUS
    ) -> ItemRecord:
        """``creating → created`` with the Control API's operation id; in the same transaction the notifier learns
        that the operation exists in ``created_status`` (the POST answer's; see ``seed_known_state``).

        Idempotent for the same ``operation_id``. Raises ``NotFound``, or ``StateConflict`` if the item is in
        any other state or the operation id is already recorded for another item.
        """
        _aware(at, "at")
        try:
            async with self._transaction(write=True) as session:
                row = await session.scalar(
                    update(ScheduleItemRow)
                    .where(ScheduleItemRow.id == item_id, ScheduleItemRow.state == ItemState.CREATING.value)
                    .values(state=ItemState.CREATED.value, operation_id=operation_id, completed_at=at, error=None)
                    .returning(ScheduleItemRow)
                    .execution_options(synchronize_session=False)
                )
                if row is not None:
                    asked = (
                        await session.execute(
                            select(ScheduleRequestRow.operation_type, ScheduleRequestRow.scheduled_time).where(
                                ScheduleRequestRow.id == row.request_id
                            )
                        )
                    ).one()  # the item's request (a foreign key): what was asked for
                    await session.execute(
                        seed_known_state(
                            self.dialect, operation_id=operation_id, device_serial=row.device_serial,
                            operation_type=asked.operation_type, scheduled_time=asked.scheduled_time,
                            status=created_status, at=at,
                        )
                    )  # fmt: skip
                    return _item_record(row)
                current = await session.get(ScheduleItemRow, item_id)
        except IntegrityError as exc:
            raise StateConflict(f"operation {operation_id} is already recorded for another item") from exc
        if current is None:
            raise NotFound(f"no schedule item {item_id}")
        if current.state == ItemState.CREATED and current.operation_id == operation_id:
            return _item_record(current)
        raise StateConflict(f"schedule item {item_id} is {current.state}, not creating")

    async def fail_item(self, item_id: int, *, error: str, at: datetime) -> ItemRecord:
        """``waiting | creating → failed`` with the reason. Idempotent once failed (the first error is kept).

        Raises ``NotFound``, or ``StateConflict`` if the item was created or cancelled.
        """
        _aware(at, "at")
        async with self._transaction(write=True) as session:
            row = await session.scalar(
                update(ScheduleItemRow)
                .where(
                    ScheduleItemRow.id == item_id,
                    ScheduleItemRow.state.in_([ItemState.WAITING.value, ItemState.CREATING.value]),
                )
                .values(state=ItemState.FAILED.value, error=error, completed_at=at)
                .returning(ScheduleItemRow)
                .execution_options(synchronize_session=False)
            )
            if row is not None:
                return _item_record(row)
            current = await session.get(ScheduleItemRow, item_id)
        if current is None:
            raise NotFound(f"no schedule item {item_id}")
        if current.state == ItemState.FAILED:
            return _item_record(current)
        raise StateConflict(f"schedule item {item_id} is {current.state}, cannot fail it")

    async def set_item_thread(self, item_id: int, channel_id: str, ts: str) -> ItemRecord | None:
        """Where notifications of this item's operation go (a Slack thread). ``None`` if no such item."""
        async with self._transaction(write=True) as session:
            row = await session.scalar(
                update(ScheduleItemRow)
                .where(ScheduleItemRow.id == item_id)
                .values(thread_channel_id=channel_id, thread_ts=ts)
                .returning(ScheduleItemRow)
                .execution_options(synchronize_session=False)
            )
            return None if row is None else _item_record(row)

    async def items_in_state(self, state: str) -> list[ItemRecord]:
        """Every item in ``state``, oldest attempt first. ``"creating"`` after a start = crashed mid-POST."""
        wanted = ItemState(state)
        async with self._transaction(write=False) as session:
            rows = await session.scalars(
                select(ScheduleItemRow)
                .where(ScheduleItemRow.state == wanted.value)
                .order_by(ScheduleItemRow.attempted_at, ScheduleItemRow.id)
            )
            return [_item_record(row) for row in rows]

    async def find_item_by_operation(self, operation_id: str) -> tuple[ScheduleRecord, ItemRecord] | None:
        """The request and item that created operation ``operation_id`` (``None``: not created by the bot)."""
        async with self._transaction(write=False) as session:
            request_id = await session.scalar(
                select(ScheduleItemRow.request_id).where(ScheduleItemRow.operation_id == operation_id)
            )
            if request_id is None:
                return None
            record = await self._load_request(session, request_id)
        if record is None:
            return None
        item = next(item for item in record.items if item.operation_id == operation_id)
        return record, item

    # ------------------------------------------------------------------ watches

    async def add_watch(self, operation_id: str, channel_id: str, by: str, at: datetime) -> bool:
        """Watch ``operation_id`` in ``channel_id``. ``False`` if that channel already watched it."""
        _aware(at, "at")
        table = WatchRow.__table__
        values = {"operation_id": operation_id, "channel_id": channel_id, "created_by": by, "created_at": at}
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = (
            dialect_insert(table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["operation_id", "channel_id"])
            .returning(table.c.operation_id)
        )
        async with self._transaction(write=True) as session:
            inserted = await session.scalar(statement)
        return inserted is not None

    async def remove_watch(self, operation_id: str, channel_id: str) -> bool:
        """Stop watching. ``False`` if there was no such watch."""
        async with self._transaction(write=True) as session:
            removed = await session.scalar(
                delete(WatchRow)
                .where(WatchRow.operation_id == operation_id, WatchRow.channel_id == channel_id)
                .returning(WatchRow.operation_id)
                .execution_options(synchronize_session=False)
            )
        return removed is not None

    async def watches_for(
        self, operation_ids: Iterable[str] | None = None, *, channel_id: str | None = None
    ) -> list[WatchRecord]:
        """Watches of these operations (all when ``None``), optionally only in one channel; oldest first."""
        statement = select(WatchRow)
        if operation_ids is not None:
            wanted = list(dict.fromkeys(operation_ids))
            if not wanted:
                return []
            statement = statement.where(WatchRow.operation_id.in_(wanted))
        if channel_id is not None:
            statement = statement.where(WatchRow.channel_id == channel_id)
        statement = statement.order_by(WatchRow.created_at, WatchRow.operation_id, WatchRow.channel_id)
        async with self._transaction(write=False) as session:
            rows = await session.scalars(statement)
            return [WatchRecord.model_validate(row) for row in rows]

    # ------------------------------------------------------------------ audit

    async def audit(
        self,
        actor_id: str,
        action: str,
        subject: str,
        *,
        outcome: str,
        channel_id: str | None = None,
        request_id: str | None = None,
        detail: dict[str, Any] | None = None,
        at: datetime,
    ) -> None:
        """Append one line to the audit log. ``detail`` must be JSON-serializable (and hold no secrets)."""
        _aware(at, "at")
        async with self._transaction(write=True) as session:
            session.add(
                AuditRow(
                    at=at,
                    actor_id=actor_id,
                    action=action,
                    subject=subject,
                    request_id=request_id,
                    channel_id=channel_id,
                    outcome=outcome,
                    detail=detail,
                )
            )

    async def last_audit_of_request(self, request_id: str) -> AuditRecord | None:
        """The newest audit line about one schedule request."""
        statement = select(AuditRow).where(AuditRow.request_id == request_id).order_by(AuditRow.id.desc()).limit(1)
        async with self._transaction(write=False) as session:
            row = await session.scalar(statement)
            return None if row is None else AuditRecord.model_validate(row)

    async def recent_audit(self, subject: str | None = None, limit: int = 20) -> list[AuditRecord]:
        """The newest audit lines first, optionally about one subject.

        A subject matches lines whose ``subject`` or ``request_id`` is it, plus, when it is a device serial or
        an operation id the bot created, the lines of every request naming that serial / owning that
        operation. Serials (and subjects, which are often serials) match whatever their case, as
        ``parse_serials`` compares them: ``sn123456789`` finds the lines of ``SN123456789``.
        """
        statement = select(AuditRow)
        if subject is not None:
            folded = subject.lower()
            related_requests = select(ScheduleItemRow.request_id).where(
                or_(sql_func.lower(ScheduleItemRow.device_serial) == folded, ScheduleItemRow.operation_id == subject)
            )
            statement = statement.where(
                or_(
                    sql_func.lower(AuditRow.subject) == folded,
                    AuditRow.request_id == subject,
                    AuditRow.request_id.in_(related_requests),
                )
            )
        statement = statement.order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
        async with self._transaction(write=False) as session:
            rows = await session.scalars(statement)
            return [AuditRecord.model_validate(row) for row in rows]

    # =================================================================================================================
    # Notifier (bot.services.notifier): last known operation states, the notification outbox, the notifier's flags
    # and its leader lease. Everything above is untouched by it; everything below is only used by it.
    # =================================================================================================================

    async def operation_states(self) -> dict[str, KnownState]:
        """Every recorded operation state, by operation id: one Core select of tuples (fast for 10,000)."""
        table = OperationStateRow.__table__
        statement = select(
            table.c.operation_id, table.c.status, table.c.device_online, table.c.offline_reported, table.c.version
        )
        async with self._transaction(write=False) as session:
            result = await session.execute(statement)
            return {row[0]: KnownState(row[1], row[2], bool(row[3]), row[4]) for row in result}

    async def notifier_meta(self) -> dict[str, Any]:
        """The notifier's flags (``baseline_done``, ``outage_since``, ``outage_alerted``…) as a dict."""
        table = NotifierMetaRow.__table__
        async with self._transaction(write=False) as session:
            result = await session.execute(select(table.c.key, table.c.value))
            return {key: value for key, value in result}

    async def record_notifier_cycle(
        self,
        *,
        states: Sequence[Mapping[str, Any]] = (),
        notifications: Sequence[NewNotification] = (),
        meta: Mapping[str, Any] | None = None,
        at: datetime,
    ) -> None:
        """In ONE write transaction: upsert ``states`` (``operation_states`` columns), insert ``notifications``
        (ignoring a ``dedupe_key`` already there), and set ``meta`` (a ``None`` value deletes the key).

        The changed states and the notifications they cause are committed together: after a crash either both
        are there (the rows are delivered on the next cycle) or neither (the next poll finds the change again).
        """
        _aware(at, "at")
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        async with self._transaction(write=True) as session:
            if states:
                table = OperationStateRow.__table__
                upsert = dialect_insert(table)
                updated = [column.name for column in table.columns if column.name != "operation_id"]
                upsert = upsert.on_conflict_do_update(
                    index_elements=["operation_id"], set_={name: upsert.excluded[name] for name in updated}
                )
                await session.execute(upsert, [dict(state) for state in states])
            if notifications:
                table = NotificationRow.__table__
                rows = [
                    {
                        "dedupe_key": note.dedupe_key[:255],
                        "operation_id": note.operation_id,
                        "channel_id": note.channel_id,
                        "thread_ts": note.thread_ts,
                        "kind": note.kind,
                        "payload": note.payload,
                        "state": NotificationState.PENDING.value,
                        "attempts": 0,
                        "error": None,
                        "created_at": at,
                        "sent_at": None,
                    }
                    for note in notifications
                ]
                insert_new = dialect_insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
                await session.execute(insert_new, rows)
            if meta:
                table = NotifierMetaRow.__table__
                gone = [key for key, value in meta.items() if value is None]
                kept = [{"key": key, "value": value} for key, value in meta.items() if value is not None]
                if gone:
                    await session.execute(delete(table).where(table.c.key.in_(gone)))
                if kept:
                    upsert = dialect_insert(table)
                    upsert = upsert.on_conflict_do_update(index_elements=["key"], set_={"value": upsert.excluded.value})
                    await session.execute(upsert, kept)

    async def pending_notifications(self, limit: int = 5000) -> list[NotificationRecord]:
        """Outbox rows not yet delivered, oldest first."""
        statement = (
            select(NotificationRow)
            .where(NotificationRow.state == NotificationState.PENDING.value)
            .order_by(NotificationRow.id)
            .limit(limit)
        )
        async with self._transaction(write=False) as session:
            rows = await session.scalars(statement)
            return [NotificationRecord.model_validate(row) for row in rows]

    async def finish_notifications(
        self, ids: Iterable[int], state: str, *, at: datetime, error: str | None = None
    ) -> int:
        """Mark pending rows ``sent`` or ``skipped`` (one transaction); returns how many were still pending."""
        target = NotificationState(state)
        if target is NotificationState.PENDING:
            raise ValueError("finish_notifications marks rows sent or skipped, not pending")
        _aware(at, "at")
        wanted = list(dict.fromkeys(ids))
        changed = 0
        async with self._transaction(write=True) as session:
            for chunk in _chunks(wanted):
                result = await session.execute(
                    update(NotificationRow)
                    .where(NotificationRow.id.in_(chunk), NotificationRow.state == NotificationState.PENDING.value)
                    .values(state=target.value, sent_at=at, error=None if error is None else error[:255])
                    .execution_options(synchronize_session=False)
                )
                changed += int(getattr(result, "rowcount", 0) or 0)
        return changed

    async def note_delivery_failure(
        self, ids: Iterable[int], error: str, *, give_up_after: int, at: datetime
    ) -> list[int]:
        """One more failed attempt for these pending rows; those at ``give_up_after`` attempts become
        ``skipped``. Returns the ids given up on."""
        _aware(at, "at")
        wanted = list(dict.fromkeys(ids))
        given_up: list[int] = []
        async with self._transaction(write=True) as session:
            for chunk in _chunks(wanted):
                pending = NotificationRow.state == NotificationState.PENDING.value
                await session.execute(
                    update(NotificationRow)
                    .where(NotificationRow.id.in_(chunk), pending)
                    .values(attempts=NotificationRow.attempts + 1, error=error[:255])
                    .execution_options(synchronize_session=False)
                )
                result = await session.scalars(
                    update(NotificationRow)
                    .where(NotificationRow.id.in_(chunk), pending, NotificationRow.attempts >= give_up_after)
                    .values(state=NotificationState.SKIPPED.value, sent_at=at)
                    .returning(NotificationRow.id)
                    .execution_options(synchronize_session=False)
                )
                given_up.extend(result)
        return given_up

    async def notification_counts(self) -> dict[str, int]:
        """How many outbox rows are in each state (tests, health)."""
        table = NotificationRow.__table__
        async with self._transaction(write=False) as session:
            result = await session.execute(select(table.c.state, sql_func.count()).group_by(table.c.state))
            return {state: int(count) for state, count in result}

    async def bot_threads(self, operation_ids: Iterable[str]) -> dict[str, BotThread]:
        """For the operations among ``operation_ids`` that the bot created: where their notifications go."""
        wanted = list(dict.fromkeys(operation_ids))
        found: dict[str, BotThread] = {}
        async with self._transaction(write=False) as session:
            for chunk in _chunks(wanted):
                result = await session.execute(
                    select(
                        ScheduleItemRow.operation_id,
                        ScheduleItemRow.thread_channel_id,
                        ScheduleItemRow.thread_ts,
                        ScheduleRequestRow.notify_channel_id,
                    )
                    .join(ScheduleRequestRow, ScheduleItemRow.request_id == ScheduleRequestRow.id)
                    .where(ScheduleItemRow.operation_id.in_(chunk))
                )
                for operation_id, channel_id, ts, notify_channel_id in result:
                    found[operation_id] = BotThread(channel_id, ts, notify_channel_id)
        return found

    async def watch_channels(self, operation_ids: Iterable[str]) -> dict[str, list[str]]:
        """The channels watching each of ``operation_ids`` (only those watched), oldest watch first."""
        wanted = list(dict.fromkeys(operation_ids))
        found: dict[str, list[str]] = {}
        table = WatchRow.__table__
        async with self._transaction(write=False) as session:
            for chunk in _chunks(wanted):
                result = await session.execute(
                    select(table.c.operation_id, table.c.channel_id)
                    .where(table.c.operation_id.in_(chunk))
                    .order_by(table.c.created_at, table.c.channel_id)
                )
                for operation_id, channel_id in result:
                    found.setdefault(operation_id, []).append(channel_id)
        return found

    async def prune_notifications(self, before: datetime) -> int:
        """Forget delivered or skipped outbox rows created before ``before``; pending rows are kept."""
        _aware(before, "before")
        async with self._transaction(write=True) as session:
            result = await session.execute(
                delete(NotificationRow)
                .where(
                    NotificationRow.created_at < before,
                    NotificationRow.state != NotificationState.PENDING.value,
                )
                .execution_options(synchronize_session=False)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def notifier_lease(self) -> NotifierLease | None:
        """Try to become the notifier leader; ``None`` if another process is.

        PostgreSQL: ``pg_try_advisory_lock`` (session level, a key per schema) on a dedicated connection kept
        out of the pool until ``NotifierLease.release()``. SQLite: one process — an exclusive ``flock`` beside the
        database file keeps a second process on the same file from polling (in memory: always granted).
        """
        if self.dialect != "postgresql":
            database = self._target.sqlite_file
            return NotifierLease(None, None) if database is None else sqlite_file_lease(database)
        key = notifier_lock_key(self.schema)
        connection = await self.engine.connect()
        try:
            got = await connection.scalar(select(sql_func.pg_try_advisory_lock(key)))
            pid = await connection.scalar(select(sql_func.pg_backend_pid()))
            await connection.commit()
        except BaseException:
            await connection.close()
            raise
        if not got:
            await connection.close()
            return None
        return NotifierLease(connection, key, pid=int(pid or 0))

    async def missing_operations(self) -> dict[str, datetime]:
        """The operations a complete poll did not list, with when that was first noticed (``missing_since``);
        usually few. One select of two columns, filtered in the database."""
        table = OperationStateRow.__table__
        statement = select(table.c.operation_id, table.c.missing_since).where(table.c.missing_since.is_not(None))
        async with self._transaction(write=False) as session:
            result = await session.execute(statement)
            return {operation_id: since for operation_id, since in result}

    async def note_missing_operations(
        self,
        *,
        missing: Sequence[str] = (),
        listed_again: Sequence[str] = (),
        forget_before: datetime | None = None,
        at: datetime,
    ) -> tuple[int, int, int]:
        """What a COMPLETE poll found about the recorded operations, in ONE write transaction: ``missing_since =
        at`` for the operations of ``missing`` that have none yet; cleared for those of ``listed_again``; then
        (if ``forget_before`` is given) the rows missing since before it are deleted — those rows only.

        Set-based: one UPDATE per 900 ids (a typical poll: one or none), only rows whose value changes are
        written. Returns ``(marked, cleared, forgotten)`` row counts.
        """
        _aware(at, "at")
        if forget_before is not None:
            _aware(forget_before, "forget_before")
        table = OperationStateRow.__table__
        forgotten = 0
        counts = [0, 0]  # marked, cleared
        steps = [
            (missing, table.c.missing_since.is_(None), at),  # mark: only rows not marked yet
            (listed_again, table.c.missing_since.is_not(None), None),  # clear: only rows that are marked
        ]
        async with self._transaction(write=True) as session:
            for n, (ids, unchanged_unless, value) in enumerate(steps):
                for chunk in _chunks(list(dict.fromkeys(ids))):
                    result = await session.execute(
                        update(table)
                        .where(table.c.operation_id.in_(chunk), unchanged_unless)
                        .values(missing_since=value)
                    )
                    counts[n] += int(getattr(result, "rowcount", 0) or 0)
            if forget_before is not None:
                result = await session.execute(delete(table).where(table.c.missing_since < forget_before))
                forgotten = int(getattr(result, "rowcount", 0) or 0)
        return counts[0], counts[1], forgotten


def notifier_lock_key(schema: str | None) -> int:
    """The notifier's advisory-lock key: stable, signed 64-bit, one per schema (replicas of one deployment
    share it; tests in separate schemas do not)."""
    digest = hashlib.blake2b(f"headless-bot:notifier:{schema or ''}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _chunks(items: Sequence[Any], size: int = 900) -> Iterable[Sequence[Any]]:
    """``items`` in slices small enough for any driver's limit on bound parameters."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
