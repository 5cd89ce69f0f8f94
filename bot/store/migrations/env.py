"""Alembic environment of the store.

At run time ``bot.store.migrate.upgrade`` calls Alembic with a connection already open (and, on PostgreSQL,
holding the migration advisory lock) in ``config.attributes["connection"]``; this file then only runs the
migrations on it, inside the caller's transaction.

From the command line (writing a new revision), ``alembic -c bot/store/alembic.ini …`` works too: the URL
comes from ``DATABASE_URL`` (or ``sqlalchemy.url``), normalized like the bot does it.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from bot.store.engine import create_engine_for, parse_database_url
from bot.store.tables import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection, schema: str | None) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table_schema=schema,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs table rebuilds for most ALTERs
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set DATABASE_URL (or sqlalchemy.url) to run Alembic from the command line")
    return url


async def _run_from_url() -> None:
    target = parse_database_url(_url())
    engine = create_engine_for(target)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run, target.schema)
            await connection.commit()
    finally:
        await engine.dispose()


def run_offline() -> None:
    target = parse_database_url(_url())
    context.configure(
        url=target.url.set(drivername=target.dialect),
        target_metadata=target_metadata,
        version_table_schema=target.schema,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif (connection := config.attributes.get("connection")) is not None:
    _run(connection, config.attributes.get("schema"))
else:
    asyncio.run(_run_from_url())
