"""The notifier's known states (``operation_states``): what the last poll recorded of every operation the Control
API lists, read by the notifier (``bot.services.notifier``) in the few shapes a fleet-sized poll needs, and seeded by
a creation (``seed_known_state``). Written with the outbox rows they cause by ``OutboxRepo.record_notifier_cycle``.

At fleet scale (100,000s of rows) nothing here loads every full row per poll: the notifier keeps compact
fingerprints in memory, loaded once (``stream_known_states``, in partitions that let the event loop breathe), asks
for the full state only of the operations whose fingerprint changed (``operation_states_for``), and finds the few
rows it does not hold through partial indexes (``unpolled_operation_ids``, ``missing_operations``; migration 0004).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.domain.changes import KnownState
from bot.store.database import Database, aware, chunks, rowcount
from bot.store.tables import OperationStateRow

#: Rows per partition when streaming every known state (one partition, then the event loop runs again).
PARTITION_ROWS = 5000


def seed_known_state(
    dialect: str,
    *,
    operation_id: str,
    device_serial: str,
    operation_type: str,
    scheduled_time: datetime,
    status: str,
    at: datetime,
) -> Executable:
    """What the bot knows of an operation it has just created, as the notifier's known state (``version`` 0),
    unless the notifier already recorded the operation (insert-or-ignore).

    The notifier then diffs its first sighting against ``status`` (the POST answer's): the first change reads
    ``Scheduled → In progress``, not "unknown (first seen)", on every replica, after a restart and on the very first
    (otherwise silent) poll. Written with the item's ``→ created``, in the same transaction.
    """
    values = {
        "operation_id": operation_id,
        "device_serial": device_serial[:128],
        "operation_type": operation_type[:128],
        "status": status[:128],
        "scheduled_time": scheduled_time,
        "device_online": None,
        "last_seen": None,
        "offline_reported": False,
        "version": 0,
        "updated_at": at,
        "missing_since": None,
    }
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(OperationStateRow).values(**values).on_conflict_do_nothing(index_elements=["operation_id"])


def _known_columns() -> tuple[Any, ...]:
    """What a ``KnownState`` is read from, after the id: one row shape for every read of the known states."""
    table = OperationStateRow.__table__
    c = table.c
    return (c.operation_id, c.status, c.device_online, c.offline_reported, c.version, c.scheduled_time)


class StatesRepo(Database):
    """The notifier's known states (one repository of ``bot.store.Store``)."""

    async def operation_states(self) -> dict[str, KnownState]:
        """Every recorded operation state, by operation id (tests, tools, the console; the notifier streams)."""
        states: dict[str, KnownState] = {}
        async for partition in self.stream_known_states():
            states.update((row[0], row[1]) for row in partition)
        return states

    async def stream_known_states(self, partition: int = PARTITION_ROWS) -> AsyncIterator[list[tuple[str, KnownState]]]:
        """Every recorded state as ``(operation_id, KnownState)``, ``partition`` rows at a time, yielding to the event
        loop between partitions (a million rows are read without a long stall). One read transaction."""
        statement = select(*_known_columns()).execution_options(yield_per=partition)
        async with self._transaction(write=False) as session:
            result = await session.stream(statement)
            async for rows in result.partitions(partition):
                yield [(row[0], KnownState(row[1], row[2], bool(row[3]), row[4], row[5])) for row in rows]
                await asyncio.sleep(0)

    async def operation_states_for(self, operation_ids: Iterable[str]) -> dict[str, KnownState]:
        """The recorded states of these operations (those recorded), by id: one select per 900 ids."""
        wanted = list(dict.fromkeys(operation_ids))
        table = OperationStateRow.__table__
        found: dict[str, KnownState] = {}
        if not wanted:
            return found
        async with self._transaction(write=False) as session:
            for chunk in chunks(wanted):
                result = await session.execute(select(*_known_columns()).where(table.c.operation_id.in_(chunk)))
                for row in result:
                    found[row[0]] = KnownState(row[1], row[2], bool(row[3]), row[4], row[5])
        return found

    async def unpolled_operation_ids(self) -> set[str]:
        """Operations the bot created that no poll has recorded yet (their state is the creation's seed,
        ``version`` 0): few, found through a partial index."""
        table = OperationStateRow.__table__
        async with self._transaction(write=False) as session:
            result = await session.scalars(select(table.c.operation_id).where(table.c.version == 0))
            return set(result)

    async def missing_operations(self) -> dict[str, datetime]:
        """The operations a complete poll did not list, with when that was first noticed (``missing_since``);
        usually few. One select of two columns, filtered in the database (a partial index)."""
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
        aware(at, "at")
        if forget_before is not None:
            aware(forget_before, "forget_before")
        table = OperationStateRow.__table__
        forgotten = 0
        counts = [0, 0]  # marked, cleared
        steps = [
            (missing, table.c.missing_since.is_(None), at),  # mark: only rows not marked yet
            (listed_again, table.c.missing_since.is_not(None), None),  # clear: only rows that are marked
        ]
        async with self._transaction(write=True) as session:
            for n, (ids, unchanged_unless, value) in enumerate(steps):
                for chunk in chunks(list(dict.fromkeys(ids))):
                    result = await session.execute(
                        update(table)
                        .where(table.c.operation_id.in_(chunk), unchanged_unless)
                        .values(missing_since=value)
                    )
                    counts[n] += rowcount(result)
            if forget_before is not None:
                result = await session.execute(delete(table).where(table.c.missing_since < forget_before))
                forgotten = rowcount(result)
        return counts[0], counts[1], forgotten
