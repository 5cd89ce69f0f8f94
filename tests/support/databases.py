"""Reaching a test database from the test's side, beside the bot's own ``Store``."""

from __future__ import annotations

from bot.store import parse_database_url


def asyncpg_dsn(url: str) -> str:
    """A ``DATABASE_URL`` (any driver, with or without ``?schema=``) as a DSN plain ``asyncpg.connect`` takes."""
    return parse_database_url(url).url.set(drivername="postgresql").render_as_string(hide_password=False)
