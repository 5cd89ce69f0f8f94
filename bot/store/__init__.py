"""The bot's persistent state: schedule requests and their items, watches, the audit log, the notifier's outbox.

``Store`` is the only way in; it hands out frozen records (``bot.domain``'s, never ORM rows) and makes every "only
once" change a compare-and-set in the database. Schema changes are Alembic revisions in ``migrations/versions``,
applied by ``Store.connect()``.

The package, by aggregate:

``database``  ``Database``: engine, connect / close / ping, transactions (SQLite's write queue), shared helpers
``engine``    database URLs, engines, SQLite's pragmas, advisory-lock keys
``tables``    the SQLAlchemy tables (private to the store)
``requests``  ``RequestsRepo``: schedule requests, their items, the per-request lease (the compare-and-sets)
``watches``   ``WatchesRepo``: which channels watch which operation
``audit``     ``AuditRepo``: the audit log
``states``    ``StatesRepo``: the notifier's known states (fingerprints streamed, full states by id, missing, unpolled)
``outbox``    ``OutboxRepo``: the notifier's outbox rows, flags, and the cycle's one write; ``NotifierLease``
``rollouts``  ``RolloutsRepo``: staged rollouts (compare-and-set transitions, told-once thread replies) and their waves
``home``      ``HomeRepo``: who opened the App Home, its view hashes, and the bounded pages a home shows
``people``    ``PeopleRepo``: people's own choices (the language they read)
``migrate``   Alembic, run from code at ``connect()``
``errors``    ``StoreError`` and its kinds
"""

from __future__ import annotations

from bot.store.audit import AuditRepo
from bot.store.database import Database
from bot.store.engine import parse_database_url, with_schema
from bot.store.errors import NotFound, StateConflict, StoreError, StoreUnavailable
from bot.store.home import HomeRepo
from bot.store.outbox import NotifierLease, OutboxRepo
from bot.store.people import PeopleRepo
from bot.store.requests import RequestsRepo
from bot.store.rollouts import RolloutsRepo, new_rollout_id
from bot.store.states import StatesRepo
from bot.store.watches import WatchesRepo


class Store(RequestsRepo, RolloutsRepo, WatchesRepo, AuditRepo, StatesRepo, OutboxRepo, HomeRepo, PeopleRepo, Database):
    """The bot's persistent state on SQLite (one process) or PostgreSQL (one or more replicas): every repository
    on one connection (``Database``).

    ``Store(url)`` does no I/O; ``await store.connect()`` creates the engine and migrates the schema to head (safe
    when several processes start at once), ``await store.close()`` releases the connections. Also usable as ``async
    with Store(url) as store:``. ``schema`` (PostgreSQL only) may also be given as ``?schema=`` in the URL.
    """


__all__ = [
    "NotFound",
    "NotifierLease",
    "StateConflict",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "new_rollout_id",
    "parse_database_url",
    "with_schema",
]
