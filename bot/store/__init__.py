"""The bot's persistent state: schedule requests and their items, watches, the audit log.

``Store`` is the only way in; it hands out frozen pydantic records (never ORM rows) and makes every "only
once" change a compare-and-set in the database. Schema changes are Alembic revisions in
``migrations/versions``, applied by ``Store.connect()``.
"""

from __future__ import annotations

from bot.store.engine import parse_database_url, with_schema
from bot.store.errors import NotFound, StateConflict, StoreError, StoreUnavailable
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
)
from bot.store.store import Store

__all__ = [
    "TERMINAL_REQUEST_STATES",
    "UNDECIDED_REQUEST_STATES",
    "AuditRecord",
    "ItemRecord",
    "ItemState",
    "NewScheduleRequest",
    "NotFound",
    "RequestState",
    "ScheduleRecord",
    "StateConflict",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "WatchRecord",
    "parse_database_url",
    "with_schema",
]
