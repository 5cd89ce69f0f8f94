"""What the notifier holds in memory between polls: one packed print per recorded operation (``packed_print``).

A poll compares each listed operation's glance with its print (``is_quiet``) and reads in full only those that
differ or are new; at 100,000 operations that is a dict look-up and a hash per operation instead of a model and a
stored row. The prints mirror ``operation_states``:

* **loaded** from the store on the first poll, and again whenever another writer recorded states since this
  notifier last did: each cycle's write also sets ``notifier_meta[states_writer]`` to a token of this notifier's
  (``WRITER_KEY``), so a token that is not ours means another notifier (a previous leader, a replica during a
  lease hand-over) wrote, and the prints are re-read rather than trusted;
* **updated** after each of this notifier's writes commits (never before: a write that failed leaves the old
  prints, so the next poll diffs those operations again);
* **pruned** of the operations the store forgets.

Rows the bot seeds at creation (``version`` 0, by any replica) are not in the prints: the poll finds them as new
operations, reads them in full and diffs them against their seeded state, as before.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, KeysView, Mapping
from datetime import datetime
from typing import Any

from bot.control.glance import Glance
from bot.domain.changes import FIELD_LIMIT, KnownState, PolledOperation, is_quiet, known_print, packed_print
from bot.store import Store

log = logging.getLogger("bot.notifier")

#: ``notifier_meta`` key: the token of the notifier that last recorded operation states.
WRITER_KEY = "states_writer"


class KnownPrints:
    """The packed prints of every recorded operation, by id (see the module docstring)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._prints: dict[str, int] = {}
        self._instance = uuid.uuid4().hex[:12]
        self._writes = 0
        self._token: str | None = None
        self.loaded = False
        self.loads = 0  # how many times the prints were (re)loaded from the store

    def __len__(self) -> int:
        return len(self._prints)

    def ids(self) -> KeysView[str]:
        return self._prints.keys()

    async def ensure_fresh(self, meta: Mapping[str, Any]) -> None:
        """Load the prints if this notifier has none yet or another writer recorded states since its last write."""
        if self.loaded and meta.get(WRITER_KEY) == self._token:
            return
        if self.loaded:
            log.info("another notifier recorded operation states since this one did: reloading what it knows")
        prints: dict[str, int] = {}
        async for partition in self.store.stream_known_states():
            for op_id, state in partition:
                packed = known_print(state)
                if packed is not None:
                    prints[op_id] = packed
        self._prints = prints
        self._token = meta.get(WRITER_KEY)
        self.loaded = True
        self.loads += 1

    def next_token(self) -> str:
        """The token the next write records under ``WRITER_KEY`` (``committed`` adopts it once it is written)."""
        return f"{self._instance}:{self._writes + 1}"

    def committed(self, token: str) -> None:
        self._token = token
        self._writes += 1

    def quiet(self, seen: Glance, now: datetime) -> bool:
        """Nothing to tell or to write for this listed operation (see ``is_quiet``)."""
        status = seen.status if len(seen.status) <= FIELD_LIMIT else seen.status[:FIELD_LIMIT]
        return is_quiet(self._prints.get(seen.id), status, seen.online, seen.scheduled_time, now)

    def remember(
        self,
        operations: Iterable[PolledOperation],
        known: Mapping[str, KnownState],
        written: Mapping[str, Mapping[str, Any]],
    ) -> None:
        """After a write committed: the prints of the operations just diffed (``written``: the state rows written,
        by id; an operation not written keeps its ``known`` reported flag)."""
        for op in operations:
            row = written.get(op.id)
            if row is not None:
                reported = bool(row["offline_reported"])
            else:
                old = known.get(op.id)
                if old is None:
                    continue  # neither recorded nor written (history the diff skipped): nothing to mirror
                reported = old.offline_reported
            device = op.device_status
            online = device.online if device is not None else None
            self._prints[op.id] = packed_print(op.status[:FIELD_LIMIT], online, op.scheduled_time, reported)

    def forget(self, operation_ids: Iterable[str]) -> None:
        for op_id in operation_ids:
            self._prints.pop(op_id, None)

    def reset(self) -> None:
        """Forget everything (a new leadership): the next poll reloads."""
        self._prints = {}
        self._token = None
        self.loaded = False


__all__ = ["WRITER_KEY", "KnownPrints"]
