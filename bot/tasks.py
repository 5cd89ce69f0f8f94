"""Background work: spawn it, keep a reference to it, log what escapes it, and wait for it on the way out.

Listeners ack and return at once; the slow part of their work runs here. asyncio keeps only a weak reference to a
task, so one nobody holds can be garbage-collected mid-flight: ``Tasks`` holds each until it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
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


class Foreground:
    """The requests somebody is waiting on in this process (Slack's 3-second acks), counted so that background
    work can step aside while any is in flight (``Pacer``)."""

    def __init__(self) -> None:
        self.active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.active += 1
        self._idle.clear()

    def leave(self) -> None:
        self.active = max(0, self.active - 1)
        if self.active == 0:
            self._idle.set()

    async def wait_idle(self, limit: float) -> None:
        """Until no request is in flight, or ``limit`` seconds."""
        if self.active:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), limit)


class Pacer:
    """Long background work (a notifier cycle over 100,000 operations) shares its event loop with Slack's acks:
    ``await pacer.pause()`` between small pieces of work hands the loop back once ``budget`` seconds of work have
    passed since the last time, so a request arriving meanwhile waits at most about one budget per step of its own.
    Given the process's ``Foreground``, it also steps aside while requests are in flight (``yield_limit`` at most
    per pause, so the work still moves under a steady stream of requests).

    Cheap to call often: it only reads the clock until the budget is spent.
    """

    def __init__(
        self, budget: float = 0.00025, *, foreground: Foreground | None = None, yield_limit: float = 0.05
    ) -> None:
        self.budget = budget
        self.foreground = foreground
        self.yield_limit = yield_limit
        self.pauses = 0
        self._since = time.perf_counter()

    async def pause(self) -> None:
        if time.perf_counter() - self._since >= self.budget:
            if self.foreground is not None and self.foreground.active:
                await self.foreground.wait_idle(self.yield_limit)
            else:
                await asyncio.sleep(0)
            self.pauses += 1
            self._since = time.perf_counter()
