"""The store's failures, typed so callers branch on the kind of problem and never on driver exceptions."""

from __future__ import annotations


class StoreError(Exception):
    """Anything that went wrong in the store. Its ``str()`` is a plain sentence fit for a log line."""


class StoreUnavailable(StoreError):
    """The database could not be reached or prepared (``connect()`` failed, or the store is closed)."""


class NotFound(StoreError):
    """The request or item named does not exist."""


class StateConflict(StoreError):
    """The row is not in a state that allows this change (someone else changed it first)."""
