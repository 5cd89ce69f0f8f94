"""Background work: spawn it, keep a reference to it, log what escapes it, and wait for it on the way out.

Listeners ack and return at once; the slow part of their work runs here. asyncio keeps only a weak reference to a
task, so one nobody holds can be garbage-collected mid-flight: ``Tasks`` holds each until it ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("bot.runtime")


class Tasks:
    """The process's background work (one per bot process)."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[Any]] = set()

    @property
    def running(self) -> set[asyncio.Task[Any]]:
        """The tasks not yet finished (a live view: do not change it)."""
        return self._running

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keeping a reference so it is not garbage-collected mid-flight."""
        task = asyncio.ensure_future(coro)
        self._running.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        """A background task ended: forget it, and log what escaped it (otherwise only seen at garbage collection)."""
        self._running.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("background work failed", exc_info=exc)

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109 - a bound on a graceful stop
        """Let the running work finish, for at most ``timeout`` seconds."""
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout)
