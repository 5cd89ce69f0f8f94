"""Shared pytest fixtures. Each section belongs to one part of the bot: add sections, keep the others."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.store import Store, with_schema
from tests.support.databases import asyncpg_dsn

# -----------------------------------------------------------------------------------------------------------
# Databases (owned by bot/store; used by tests/store/test_store.py and by any test that needs a Store)
#
#   database_url — parametrized ``sqlite`` / ``postgres``: a URL for ``Store(database_url)``. On PostgreSQL it
#                  carries ``?schema=t_xxxxxxxx``, a fresh schema for this test (dropped afterwards), so every
#                  Store built from it (two of them = two replicas) shares that schema and nothing else.
#                  A bot built from settings can take it as ``DATABASE_URL`` unchanged.
#   store        — a connected (migrated) ``Store`` on ``database_url``.
#   sqlite_database_url / postgres_database_url — one backend only.
#
# PostgreSQL comes from TEST_POSTGRES_URL (default below). If it is unreachable, the postgres cases skip, or
# FAIL when REQUIRE_POSTGRES=1 (CI sets it).
# -----------------------------------------------------------------------------------------------------------

DEFAULT_TEST_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
_postgres_problem: dict[str, str | None] = {}


def postgres_server_url() -> str:
    """The PostgreSQL server tests use (``TEST_POSTGRES_URL``)."""
    return os.environ.get("TEST_POSTGRES_URL") or DEFAULT_TEST_POSTGRES_URL


async def _check_postgres(url: str) -> str | None:
    """``None`` if PostgreSQL answers at ``url``, else the reason (checked once per test run)."""
    if url not in _postgres_problem:
        try:
            connection = await asyncpg.connect(asyncpg_dsn(url), timeout=5)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            _postgres_problem[url] = f"{type(exc).__name__}: {exc}"
        else:
            await connection.close()
            _postgres_problem[url] = None
    return _postgres_problem[url]


async def require_postgres() -> str:
    """The PostgreSQL URL, or skip (fail with REQUIRE_POSTGRES=1) when it is unreachable."""
    url = postgres_server_url()
    problem = await _check_postgres(url)
    if problem is not None:
        shown = make_url(url).render_as_string(hide_password=True)
        message = f"PostgreSQL not reachable at {shown}: {problem}; set TEST_POSTGRES_URL"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return url


@asynccontextmanager
async def isolated_postgres_schema(url: str) -> AsyncIterator[str]:
    """A fresh schema on ``url`` for the duration of the block; yields ``url?schema=<it>``."""
    schema = f"t_{uuid4().hex[:8]}"
    connection = await asyncpg.connect(asyncpg_dsn(url), timeout=5)
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
        yield with_schema(url, schema)
    finally:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await connection.close()


def sqlite_file_url(directory: Path) -> str:
    """A URL of a fresh SQLite file in ``directory``."""
    return f"sqlite+aiosqlite:///{directory / 'headless-bot.sqlite3'}"


@pytest.fixture
def sqlite_database_url(tmp_path: Path) -> str:
    return sqlite_file_url(tmp_path)


@pytest.fixture
async def postgres_database_url() -> AsyncIterator[str]:
    async with isolated_postgres_schema(await require_postgres()) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield sqlite_file_url(tmp_path)
        return
    async with isolated_postgres_schema(await require_postgres()) as url:
        yield url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    async with Store(database_url) as connected:
        yield connected
