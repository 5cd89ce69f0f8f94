"""``Database``: the connection to the store's database, and its transactions. The repositories
(``bot.store.requests``, ``watches``, ``audit``, ``outbox``) build on it; ``bot.store.Store`` is all of them in one.

``Database(url)`` does no I/O; ``await connect()`` creates the engine and migrates the schema to head (safe when
several processes start at once), ``await close()`` releases the connections. Every repository method is one
short transaction (``_transaction``) and returns frozen records, never ORM rows.

Concurrency on SQLite: write transactions are queued on a per-``Database`` ``asyncio.Lock`` and begin with ``BEGIN
IMMEDIATE`` (see ``bot.store.engine``), so concurrent writers in one process never see "database is locked", and
writers in other processes wait for the lock (busy timeout). An in-memory SQLite database has a single connection,
so there every transaction, read or write, takes the lock.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import asyncpg
from alembic.util import CommandError
from sqlalchemy import Result, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock, utcnow
from bot.store.engine import WRITE_OPTION, DatabaseTarget, create_engine_for, enable_sqlite_wal, parse_database_url
from bot.store.errors import StoreError, StoreUnavailable
from bot.store.migrate import upgrade

log = logging.getLogger("bot.store")

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


def aware(value: datetime, name: str) -> datetime:
    """``value``, refused when naive: every time the store keeps is an instant (UTC inside the bot)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (UTC inside the bot), got {value.isoformat()}")
    return value


def chunks(items: Sequence[Any], size: int = 900) -> Iterable[Sequence[Any]]:
    """``items`` in slices small enough for any driver's limit on bound parameters."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched (0 when the driver cannot tell)."""
    return int(getattr(result, "rowcount", 0) or 0)


class Database:
    """The bot's database on SQLite (one process) or PostgreSQL (one or more replicas): lifecycle and transactions.

    Also usable as ``async with Store(url) as store:``. ``schema`` (PostgreSQL only) may also be given as
    ``?schema=`` in the URL.
    """

    def __init__(self, url: str | URL, *, schema: str | None = None, clock: Clock = utcnow, echo: bool = False) -> None:
        self._target: DatabaseTarget = parse_database_url(url, schema)
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
        """The engine, for tests and tools; the bot's code goes through the repositories' methods."""
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

    async def __aenter__(self) -> Self:
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

    @property
    def _insert(self) -> Callable[..., Any]:
        """The dialect's ``insert`` (``on_conflict_do_nothing`` / ``on_conflict_do_update`` differ by dialect)."""
        return postgresql.insert if self.dialect == "postgresql" else sqlite.insert
