"""The App Home's reads and its readers: who opened it (``home_views``), the hash of the view last published to
each, and the few pages of requests and known operation states a home shows — each a bounded query with its count,
so rendering a home never loads a fleet.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, not_, or_, select, update

from bot.domain.home import KnownOperation
from bot.domain.requests import ScheduleRecord, request_states
from bot.domain.statuses import FAILURE_STATUSES, TERMINAL_STATUSES
from bot.store.database import Database, aware
from bot.store.requests import _load_requests
from bot.store.tables import HomeViewRow, OperationStateRow, ScheduleRequestRow

_FAILURE_WORDS = ("fail", "error", "expire", "abort", "timeout", "timed_out", "reject")  # as bot.domain.statuses


def _status() -> ColumnElement[str]:
    return func.lower(OperationStateRow.status)


def _failed() -> ColumnElement[bool]:
    """A status that means failure (``bot.domain.statuses.is_failure``, in SQL: the caller re-checks in Python)."""
    return or_(_status().in_(FAILURE_STATUSES), *[_status().like(f"%{word}%") for word in _FAILURE_WORDS])


def _known(row: OperationStateRow) -> KnownOperation:
    return KnownOperation(
        operation_id=row.operation_id, device_serial=row.device_serial, operation_type=row.operation_type,
        status=row.status, scheduled_time=row.scheduled_time, updated_at=row.updated_at,
    )  # fmt: skip


class HomeRepo(Database):
    """The App Home (one repository of ``bot.store.Store``)."""

    # ------------------------------------------------------------------ readers

    async def home_opened(self, user_id: str, *, at: datetime, view_hash: str | None = None) -> None:
        """``user_id`` opened the home at ``at`` (with the hash of the view Slack shows them, when it sent one)."""
        aware(at, "at")
        values: dict[str, object] = {"opened_at": at}
        if view_hash:
            values["view_hash"] = view_hash[:128]
        statement = self._insert(HomeViewRow).values(user_id=user_id[:64], **values)
        statement = statement.on_conflict_do_update(index_elements=["user_id"], set_=values)
        async with self._transaction(write=True) as session:
            await session.execute(statement)

    async def home_readers(self, since: datetime) -> list[str]:
        """Who opened the home since ``since``."""
        aware(since, "since")
        statement = select(HomeViewRow.user_id).where(HomeViewRow.opened_at >= since).order_by(HomeViewRow.user_id)
        async with self._transaction(write=False) as session:
            return list(await session.scalars(statement))

    async def home_hash(self, user_id: str) -> str | None:
        """The hash of the view last published to ``user_id`` (``None``: none known)."""
        async with self._transaction(write=False) as session:
            return await session.scalar(select(HomeViewRow.view_hash).where(HomeViewRow.user_id == user_id))

    async def home_published(self, user_id: str, *, expected: str | None, view_hash: str, at: datetime) -> bool:
        """Record the new hash if the stored one is still ``expected`` (compare-and-set: a slower replica's older
        publish never replaces a newer hash). True when recorded."""
        aware(at, "at")
        same = HomeViewRow.view_hash.is_(None) if expected is None else HomeViewRow.view_hash == expected
        statement = (
            update(HomeViewRow)
            .where(HomeViewRow.user_id == user_id, same)
            .values(view_hash=view_hash[:128], published_at=at)
            .returning(HomeViewRow.user_id)
            .execution_options(synchronize_session=False)
        )
        async with self._transaction(write=True) as session:
            return await session.scalar(statement) is not None

    # ------------------------------------------------------------------ what a home shows

    async def requests_page(
        self,
        states: Iterable[str] | None = None,
        *,
        requester_id: str | None = None,
        not_requester_id: str | None = None,
        types: Iterable[str] | None = None,
        undecided_or_since: tuple[Iterable[str], datetime] | None = None,
        limit: int = 5,
        oldest_first: bool = False,
    ) -> tuple[list[ScheduleRecord], int]:
        """Up to ``limit`` requests (not rollout waves) and how many match in all. ``undecided_or_since``:
        ``(states, t)``, those in ``states`` or created since ``t``; ``types``: only these operation types."""
        conditions: list[ColumnElement[bool]] = [ScheduleRequestRow.rollout_id.is_(None)]
        if states is not None:
            conditions.append(ScheduleRequestRow.state.in_(request_states(states)))
        if requester_id is not None:
            conditions.append(ScheduleRequestRow.requester_id == requester_id)
        if not_requester_id is not None:
            conditions.append(ScheduleRequestRow.requester_id != not_requester_id)
        if types is not None:
            conditions.append(ScheduleRequestRow.operation_type.in_(list(types)))
        if undecided_or_since is not None:
            open_states, since = undecided_or_since
            conditions.append(
                or_(ScheduleRequestRow.state.in_(request_states(open_states)), ScheduleRequestRow.created_at >= since)
            )
        where = and_(*conditions)
        order = ScheduleRequestRow.created_at.asc() if oldest_first else ScheduleRequestRow.created_at.desc()
        statement = select(ScheduleRequestRow).where(where).order_by(order, ScheduleRequestRow.id).limit(limit)
        async with self._transaction(write=False) as session:
            total = await session.scalar(select(func.count()).select_from(ScheduleRequestRow).where(where))
            return await _load_requests(session, statement), int(total or 0)

    async def upcoming_operations(
        self, start: datetime, end: datetime, *, limit: int = 10
    ) -> tuple[list[KnownOperation], int]:
        """Operations not ended whose scheduled time is in ``[start, end)``, soonest first, and how many."""
        aware(start, "start")
        aware(end, "end")
        where = and_(
            OperationStateRow.scheduled_time >= start,
            OperationStateRow.scheduled_time < end,
            not_(_status().in_(TERMINAL_STATUSES)),
            not_(_failed()),
        )
        statement = (
            select(OperationStateRow)
            .where(where)
            .order_by(OperationStateRow.scheduled_time, OperationStateRow.operation_id)
            .limit(limit)
        )
        return await self._operations(statement, where)

    async def recent_failures(self, since: datetime, *, limit: int = 5) -> tuple[list[KnownOperation], int]:
        """Operations recorded as failed since ``since``, newest first, and how many."""
        aware(since, "since")
        where = and_(OperationStateRow.updated_at >= since, _failed())
        statement = (
            select(OperationStateRow)
            .where(where)
            .order_by(OperationStateRow.updated_at.desc(), OperationStateRow.operation_id)
            .limit(limit)
        )
        return await self._operations(statement, where)

    async def _operations(self, statement: object, where: ColumnElement[bool]) -> tuple[list[KnownOperation], int]:
        async with self._transaction(write=False) as session:
            total = await session.scalar(select(func.count()).select_from(OperationStateRow).where(where))
            rows = await session.scalars(statement)  # type: ignore[call-overload]
            return [_known(row) for row in rows], int(total or 0)

    async def serials_of_operations(self, operation_ids: Iterable[str]) -> dict[str, str]:
        """The device serial of each of these operations the notifier recorded (a message shortcut's ``txn_`` ids)."""
        wanted = list(dict.fromkeys(operation_ids))[:100]
        if not wanted:
            return {}
        table = OperationStateRow.__table__
        statement = select(table.c.operation_id, table.c.device_serial).where(table.c.operation_id.in_(wanted))
        async with self._transaction(write=False) as session:
            return {operation_id: serial for operation_id, serial in await session.execute(statement)}


__all__ = ["HomeRepo"]
