"""The notifier's outbox and flags (``bot.services.notifier``): the notification outbox, the notifier's flags, its
leader lease, and the cycle's one write (``record_notifier_cycle``: known states and the outbox rows they cause,
together). The known states are read through ``bot.store.states``. Nothing else reads or writes these tables.

The records it hands out are ``bot.domain.changes``'s (``NotificationRecord``, ``BotThread``); the lease is the
store's own (``NotifierLease``: a database connection, or a lock file beside a SQLite database).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.changes import BotThread, NewNotification, NotificationRecord, NotificationState
from bot.store.database import Database, aware, chunks, rowcount
from bot.store.engine import advisory_lock_key
from bot.store.tables import NotificationRow, NotifierMetaRow, OperationStateRow, ScheduleItemRow, ScheduleRequestRow

log = logging.getLogger("bot.store")

#: Rows per statement when the notifier records a cycle: a fleet's baseline writes 100,000s of states, and the
#: parameters of one statement are processed on the event loop in one go.
WRITE_CHUNK = 100


class OutboxRepo(Database):
    """The notifier's tables (one repository of ``bot.store.Store``)."""

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
        aware(at, "at")
        async with self._transaction(write=True) as session:
            if states:
                table = OperationStateRow.__table__
                upsert = self._insert(table)
                updated = [column.name for column in table.columns if column.name != "operation_id"]
                upsert = upsert.on_conflict_do_update(
                    index_elements=["operation_id"], set_={name: upsert.excluded[name] for name in updated}
                )
                for chunk in chunks(states, WRITE_CHUNK):  # bound each step's parameter processing on the loop
                    await session.execute(upsert, [dict(state) for state in chunk])
            if notifications:
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
                insert_new = self._insert(NotificationRow.__table__)
                insert_new = insert_new.on_conflict_do_nothing(index_elements=["dedupe_key"])
                for chunk in chunks(rows, WRITE_CHUNK):
                    await session.execute(insert_new, list(chunk))
            if meta:
                table = NotifierMetaRow.__table__
                gone = [key for key, value in meta.items() if value is None]
                kept = [{"key": key, "value": value} for key, value in meta.items() if value is not None]
                if gone:
                    await session.execute(delete(table).where(table.c.key.in_(gone)))
                if kept:
                    upsert = self._insert(table)
                    upsert = upsert.on_conflict_do_update(index_elements=["key"], set_={"value": upsert.excluded.value})
                    await session.execute(upsert, kept)

    async def pending_notifications(self, limit: int = 5000) -> list[NotificationRecord]:
        """Outbox rows not yet delivered, oldest first; read in partitions, the event loop running between them
        (a cycle after 5 % of a 100,000-operation fleet changed has thousands)."""
        table = NotificationRow.__table__
        statement = (
            select(table)
            .where(table.c.state == NotificationState.PENDING.value)
            .order_by(table.c.id)
            .limit(limit)
            .execution_options(yield_per=WRITE_CHUNK)
        )
        records: list[NotificationRecord] = []
        async with self._transaction(write=False) as session:
            result = await session.stream(statement)
            async for rows in result.partitions(WRITE_CHUNK):
                records.extend(NotificationRecord.model_validate(row._mapping) for row in rows)
                await asyncio.sleep(0)
        return records

    async def finish_notifications(
        self, ids: Iterable[int], state: str, *, at: datetime, error: str | None = None
    ) -> int:
        """Mark pending rows ``sent`` or ``skipped`` (one transaction); returns how many were still pending."""
        target = NotificationState(state)
        if target is NotificationState.PENDING:
            raise ValueError("finish_notifications marks rows sent or skipped, not pending")
        aware(at, "at")
        wanted = list(dict.fromkeys(ids))
        changed = 0
        async with self._transaction(write=True) as session:
            for chunk in chunks(wanted):
                result = await session.execute(
                    update(NotificationRow)
                    .where(NotificationRow.id.in_(chunk), NotificationRow.state == NotificationState.PENDING.value)
                    .values(state=target.value, sent_at=at, error=None if error is None else error[:255])
                    .execution_options(synchronize_session=False)
                )
                changed += rowcount(result)
        return changed

    async def note_delivery_failure(
        self, ids: Iterable[int], error: str, *, give_up_after: int, at: datetime
    ) -> list[int]:
        """One more failed attempt for these pending rows; those at ``give_up_after`` attempts become
        ``skipped``. Returns the ids given up on."""
        aware(at, "at")
        wanted = list(dict.fromkeys(ids))
        given_up: list[int] = []
        async with self._transaction(write=True) as session:
            for chunk in chunks(wanted):
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
            result = await session.execute(select(table.c.state, func.count()).group_by(table.c.state))
            return {state: int(count) for state, count in result}

    async def bot_threads(self, operation_ids: Iterable[str]) -> dict[str, BotThread]:
        """For the operations among ``operation_ids`` that the bot created: where their notifications go."""
        wanted = list(dict.fromkeys(operation_ids))
        found: dict[str, BotThread] = {}
        async with self._transaction(write=False) as session:
            for chunk in chunks(wanted):
                result = await session.execute(
                    select(
                        ScheduleItemRow.operation_id,
                        ScheduleItemRow.thread_channel_id,
                        ScheduleItemRow.thread_ts,
                        ScheduleRequestRow.notify_channel_id,
                        ScheduleRequestRow.rollout_id,
                    )
                    .join(ScheduleRequestRow, ScheduleItemRow.request_id == ScheduleRequestRow.id)
                    .where(ScheduleItemRow.operation_id.in_(chunk))
                )
                for operation_id, channel_id, ts, notify_channel_id, rollout_id in result:
                    found[operation_id] = BotThread(channel_id, ts, notify_channel_id, rollout_id is not None)
        return found

    async def prune_notifications(self, before: datetime) -> int:
        """Forget delivered or skipped outbox rows created before ``before``; pending rows are kept."""
        aware(before, "before")
        async with self._transaction(write=True) as session:
            result = await session.execute(
                delete(NotificationRow)
                .where(
                    NotificationRow.created_at < before,
                    NotificationRow.state != NotificationState.PENDING.value,
                )
                .execution_options(synchronize_session=False)
            )
            return rowcount(result)

    async def notifier_lease(self) -> NotifierLease | None:
        """Try to become the notifier leader; ``None`` if another process is.

        PostgreSQL: ``pg_try_advisory_lock`` (session level, a key per schema) on a dedicated connection kept
        out of the pool until ``NotifierLease.release()``. SQLite: one process — an exclusive ``flock`` beside the
        database file keeps a second process on the same file from polling (in memory: always granted).
        """
        if self.dialect != "postgresql":
            database = self._target.sqlite_file
            return NotifierLease(None, None) if database is None else sqlite_file_lease(database)
        key = advisory_lock_key("notifier", self.schema)
        connection = await self.engine.connect()
        try:
            got = await connection.scalar(select(func.pg_try_advisory_lock(key)))
            pid = await connection.scalar(select(func.pg_backend_pid()))
            await connection.commit()
        except BaseException:
            await connection.close()
            raise
        if not got:
            await connection.close()
            return None
        return NotifierLease(connection, key, pid=int(pid or 0))


class NotifierLease:
    """Leadership of the notifier: on PostgreSQL a session advisory lock held on a dedicated connection.

    The server releases the lock the moment that connection ends (process killed, network cut, database
    restarted), so another replica's ``pg_try_advisory_lock`` succeeds at its next attempt. ``alive()`` checks
    the connection before each cycle: a leader that lost its connection stops polling at once.

    On SQLite there is no connection (``connection is None``): the bot is meant to run as one process, and a
    second process opened on the same file by mistake (or a tool) is kept from polling by an exclusive
    ``flock`` on ``<database>.notifier-lock`` (``lock_fd``), which the kernel releases when the process dies.
    """

    def __init__(
        self, connection: AsyncConnection | None, key: int | None, pid: int | None = None, lock_fd: int | None = None
    ) -> None:
        self.connection = connection
        self.key = key
        self.pid = pid  # the PostgreSQL backend holding the lock (tests terminate it to kill a leader)
        self.lock_fd = lock_fd

    async def alive(self, timeout: float = 5.0) -> bool:  # noqa: ASYNC109 - a bound on a database round trip
        """Is the lock still held? (Its connection answers.) Never raises."""
        if self.connection is None:
            return True
        try:
            async with asyncio.timeout(timeout):
                await self.connection.execute(select(1))
                await self.connection.commit()
        except Exception as exc:  # any failure means the session (and its lock) is gone or unusable
            log.warning("the notifier lock's database connection failed: %s", type(exc).__name__)
            return False
        return True

    async def release(self) -> None:
        """Unlock and close the connection; safe to call twice and on a dead connection."""
        fd, self.lock_fd = self.lock_fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock
        connection, self.connection = self.connection, None
        if connection is None:
            return
        try:
            async with asyncio.timeout(5):
                await connection.execute(select(func.pg_advisory_unlock(self.key)))
                await connection.commit()
                await connection.close()
        except Exception:  # a dead connection: the server already released the lock
            try:
                await connection.invalidate()
                await connection.close()
            except Exception as exc:
                log.debug("closing a dead notifier-lock connection: %s", type(exc).__name__)


def sqlite_file_lease(database: Path) -> NotifierLease | None:
    """The lease of a SQLite database file: an exclusive, non-blocking ``flock`` on a file beside it; ``None``
    when another process holds it. Where ``flock`` does not exist (Windows), always granted."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return NotifierLease(None, None)
    path = database.with_name(database.name + ".notifier-lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return NotifierLease(None, None, lock_fd=fd)
