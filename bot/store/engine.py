"""Database URLs and engines: which driver, which schema, and how SQLite is made safe for concurrent writers.

URLs
    ``sqlite:///path``, ``sqlite+aiosqlite:///path``, ``postgresql://…``, ``postgres://…`` and
    ``postgresql+asyncpg://…`` are accepted; the synchronous forms are switched to their async driver. On
    PostgreSQL, a ``schema`` query parameter (``postgresql://…/db?schema=bot``) puts every table, and
    Alembic's version table, in that schema (it is set as the connection's ``search_path``). Tests use this to
    give each test its own schema, and two ``Store`` objects built from one URL share it (two replicas).

SQLite
    The database file is switched to ``journal_mode=WAL`` once, at ``Store.connect()`` (readers do not block
    the writer; the mode persists in the file). Each connection gets ``busy_timeout`` (a writer waits for the
    lock instead of failing), ``foreign_keys=ON`` and, in WAL mode, ``synchronous=NORMAL``. The sqlite3
    driver's own transaction handling is switched off and SQLAlchemy emits ``BEGIN`` itself: ``BEGIN
    IMMEDIATE`` for write transactions, so a write transaction takes the database's write lock at its start,
    never halfway through (a deferred transaction that read and then tries to write can fail at once with
    "database is locked", whatever the busy timeout). Within one process, ``Store`` additionally queues its
    write transactions on an ``asyncio.Lock`` so they do not compete for the lock at all; across processes,
    ``BEGIN IMMEDIATE`` plus the busy timeout serialize them.

PostgreSQL advisory locks
    ``advisory_lock_key(purpose, schema)``: the keys of the migration lock (``bot.store.migrate``) and of the
    notifier's leadership (``bot.store.outbox``), one function so the two cannot drift apart.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

#: Execution option that marks a connection's next transaction as a write transaction (SQLite: BEGIN
#: IMMEDIATE).
WRITE_OPTION = "headless_bot_write"

SQLITE_BUSY_TIMEOUT_MS = 10_000
PG_CONNECT_TIMEOUT_S = 10.0

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+asyncpg",
}


@dataclass(frozen=True)
class DatabaseTarget:
    """A parsed database URL: the async driver URL and, on PostgreSQL, the schema to work in."""

    url: URL
    schema: str | None

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    @property
    def is_sqlite_memory(self) -> bool:
        database = self.url.database or ""
        in_memory = database == "" or ":memory:" in database or "mode=memory" in database
        return self.dialect == "sqlite" and (in_memory or self.url.query.get("mode") == "memory")

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite database file (``None`` for PostgreSQL, in-memory and ``file:`` URI databases)."""
        if self.dialect != "sqlite" or self.is_sqlite_memory or self.url.query.get("uri"):
            return None
        return Path(self.url.database or "")

    def describe(self) -> str:
        """The URL without its password, for logs and error messages."""
        text = self.url.render_as_string(hide_password=True)
        return f"{text} (schema {self.schema})" if self.schema else text


def parse_database_url(url: str | URL, schema: str | None = None) -> DatabaseTarget:
    """Normalize ``url`` to its async driver and pull out the ``schema`` query parameter."""
    parsed = make_url(url)
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}: use sqlite:/// or postgresql://")
    parsed = parsed.set(drivername=driver)
    query_schema = parsed.query.get("schema")
    if query_schema is not None:
        parsed = parsed.difference_update_query(["schema"])
        if isinstance(query_schema, tuple):
            query_schema = query_schema[-1]
    chosen = schema or query_schema or None
    if chosen is not None:
        if parsed.get_backend_name() != "postgresql":
            raise ValueError("a schema can only be chosen on PostgreSQL")
        if not _SCHEMA_NAME.match(chosen):
            raise ValueError(f"invalid schema name {chosen!r}: letters, digits and _ only")
    return DatabaseTarget(url=parsed, schema=chosen)


def with_schema(url: str | URL, schema: str) -> str:
    """``url`` with the ``schema`` query parameter set (for tests and deployments sharing one database)."""
    parsed = make_url(url).update_query_dict({"schema": schema})
    return parsed.render_as_string(hide_password=False)


def advisory_lock_key(purpose: str, schema: str | None) -> int:
    """A PostgreSQL advisory-lock key: stable, signed 64-bit, one per ``purpose`` (``migrate``, ``notifier``) and
    schema, so replicas of one deployment share it and tests in separate schemas do not wait on each other.

    The key is part of the contract between versions: a replica of the previous release must compute the same one.
    """
    digest = hashlib.blake2b(f"headless-bot:{purpose}:{schema or ''}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def create_engine_for(target: DatabaseTarget, *, echo: bool = False) -> AsyncEngine:
    """An async engine for ``target``, configured for this store's transaction discipline."""
    kwargs: dict[str, Any] = {"echo": echo}
    if target.dialect == "postgresql":
        connect_args: dict[str, Any] = {"timeout": PG_CONNECT_TIMEOUT_S}
        if target.schema:
            connect_args["server_settings"] = {"search_path": target.schema}
        kwargs.update(connect_args=connect_args, pool_pre_ping=True, pool_size=10, max_overflow=20)
        return create_async_engine(target.url, **kwargs)

    if target.is_sqlite_memory:
        # One shared connection; Store serializes every transaction on it (see Database._transaction).
        kwargs.update(poolclass=StaticPool)
    engine = create_async_engine(target.url, **kwargs)
    _install_sqlite_hooks(engine)
    return engine


async def enable_sqlite_wal(connection: AsyncConnection, *, within: float = SQLITE_BUSY_TIMEOUT_MS / 1000) -> str:
    """Switch the SQLite file to WAL mode (once per file: the mode persists); returns the journal mode in force.

    ``connection`` must not be in a transaction. SQLite answers "database is locked" at once, without its busy
    timeout, when another connection uses the file during the switch (replicas starting together), so this
    retries for up to ``within`` seconds. A file system without WAL support keeps its mode (returned).
    """
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection  # the aiosqlite connection: no SQLAlchemy transaction around the PRAGMA
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    delay = 0.01
    while True:
        try:
            async with driver.execute("PRAGMA journal_mode=WAL") as cursor:
                row = await cursor.fetchone()
            mode = str(row[0]).lower() if row else "unknown"
            if mode == "wal":
                await driver.execute("PRAGMA synchronous=NORMAL")
            return mode
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or loop.time() + delay > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop the sqlite3 driver from issuing BEGIN/COMMIT on its own; _on_begin below does it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_MS)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode")
            row = cursor.fetchone()
            if row and str(row[0]).lower() == "wal":  # NORMAL is only crash-safe with WAL
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
