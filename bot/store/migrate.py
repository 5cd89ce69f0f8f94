"""Run the store's Alembic migrations from code, at ``Store.connect()``.

No ``alembic.ini`` is needed at run time: the configuration is built here, with ``script_location`` pointing
at the ``migrations`` directory inside this package.

The whole upgrade runs in one transaction. On PostgreSQL that transaction first takes an advisory lock
(``pg_advisory_xact_lock``, released at commit), so replicas starting at once migrate one after the other: the
second finds the schema at head and does nothing. On SQLite the transaction is ``BEGIN IMMEDIATE``, which
holds the database's write lock for the same effect.

Within one process, migrations also run one at a time (an ``asyncio.Lock`` per event loop): Alembic keeps its
running migration context in module globals, so two upgrades interleaved on one event loop (two ``Store``
objects connecting at once, as tests of replicas do) would trample each other.
"""

from __future__ import annotations

import asyncio
import weakref
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.engine import advisory_lock_key

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(schema: str | None = None) -> Config:
    """Alembic's configuration, built in code."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["schema"] = schema
    return config


def head_revision() -> str | None:
    """The newest revision shipped with this code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection, schema: str | None = None) -> str | None:
    """The revision the database is at (``None`` before the first migration)."""
    return MigrationContext.configure(connection, opts={"version_table_schema": schema}).get_current_revision()


_process_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _process_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _process_locks.get(loop)
    if lock is None:
        lock = _process_locks[loop] = asyncio.Lock()
    return lock


def _upgrade(connection: Connection, schema: str | None) -> None:
    config = alembic_config(schema)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade(connection: AsyncConnection, schema: str | None = None) -> None:
    """Migrate to head on ``connection``, which must not be in a transaction; commits on success.

    On SQLite the caller marks the connection as a write connection first (``BEGIN IMMEDIATE``).
    """
    async with _process_lock(), connection.begin():
        if connection.dialect.name == "postgresql":
            await connection.execute(select(func.pg_advisory_xact_lock(advisory_lock_key("migrate", schema))))
            if schema is not None:
                exists = await connection.scalar(
                    text("SELECT 1 FROM pg_namespace WHERE nspname = :schema"), {"schema": schema}
                )
                if not exists:
                    # The name was validated in parse_database_url (identifier characters only).
                    await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        await connection.run_sync(_upgrade, schema)
