"""What the store hands the notifier: known operation states, outbox rows, bot-created threads, the leader lease.

Kept apart from ``records.py`` because the notifier's hot path loads 10,000 states per poll: those are plain
``NamedTuple``s (cheap to build), not pydantic records. Outbox rows are few per cycle and stay pydantic.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Executable, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.models import OperationStateRow

log = logging.getLogger("bot.store")

#: The status an operation is created in: the Control API's answer to the POST says ``scheduled``.
CREATED_STATUS = "scheduled"


class NotificationState(StrEnum):
    """Where one outbox row stands."""

    PENDING = "pending"  # recorded, not yet accepted by Slack
    SENT = "sent"  # Slack accepted it (alone or inside a digest)
    SKIPPED = "skipped"  # will never be posted (channel unpostable, message refused, too many attempts)


class KnownState(NamedTuple):
    """The part of an operation's stored state the diff needs (loaded for every operation, every poll)."""

    status: str
    device_online: bool | None
    offline_reported: bool
    version: int


class BotThread(NamedTuple):
    """Where an operation the bot created reports: the thread of its approval / confirmation message, and the
    channel its requester chose for status updates (the schedule form's "Post status updates in")."""

    thread_channel_id: str | None
    thread_ts: str | None
    notify_channel_id: str | None


class NewNotification(NamedTuple):
    """An outbox row to insert (insert-or-ignore on ``dedupe_key``)."""

    dedupe_key: str
    operation_id: str | None
    channel_id: str
    thread_ts: str | None
    kind: str
    payload: dict[str, Any]


class NotificationRecord(BaseModel):
    """An outbox row as stored."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    dedupe_key: str
    operation_id: str | None
    channel_id: str
    thread_ts: str | None
    kind: str
    payload: dict[str, Any]
    state: NotificationState
    attempts: int
    error: str | None
    created_at: datetime
    sent_at: datetime | None


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


__all__ = [
    "CREATED_STATUS",
    "BotThread",
    "KnownState",
    "NewNotification",
    "NotificationRecord",
    "NotificationState",
    "NotifierLease",
    "seed_known_state",
    "sqlite_file_lease",
]
