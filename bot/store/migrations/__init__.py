"""Alembic migrations of the store, run by ``Store.connect()`` (see ``bot.store.migrate``)."""
