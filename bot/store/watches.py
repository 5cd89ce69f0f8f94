"""Watches: the channels that want status notifications for an operation (``/headless watch``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select

from bot.domain.requests import WatchRecord
from bot.store.database import Database, aware, chunks
from bot.store.tables import WatchRow


class WatchesRepo(Database):
    """Watches (one repository of ``bot.store.Store``)."""

    async def add_watch(self, operation_id: str, channel_id: str, by: str, at: datetime) -> bool:
        """Watch ``operation_id`` in ``channel_id``. ``False`` if that channel already watched it."""
        aware(at, "at")
        table = WatchRow.__table__
        values = {"operation_id": operation_id, "channel_id": channel_id, "created_by": by, "created_at": at}
        statement = (
            self._insert(table)
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

    async def watch_channels(self, operation_ids: Iterable[str]) -> dict[str, list[str]]:
        """The channels watching each of ``operation_ids`` (only those watched), oldest watch first. The
        notifier's routing asks this for every change of a poll: one Core select of two columns per 900 ids."""
        wanted = list(dict.fromkeys(operation_ids))
        found: dict[str, list[str]] = {}
        table = WatchRow.__table__
        async with self._transaction(write=False) as session:
            for chunk in chunks(wanted):
                result = await session.execute(
                    select(table.c.operation_id, table.c.channel_id)
                    .where(table.c.operation_id.in_(chunk))
                    .order_by(table.c.created_at, table.c.channel_id)
                )
                for operation_id, channel_id in result:
                    found.setdefault(operation_id, []).append(channel_id)
        return found
