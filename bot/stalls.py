"""Event-loop stall watch: how late the loop wakes up, and what it was doing when it was blocked.

Every request, button and notification is served by one asyncio loop; a synchronous stretch of code (a large
validation, a blocking call) delays every other person's ack. ``LoopWatch`` measures it two ways:

* a task sleeps ``interval`` seconds and records how late it woke up (``headless_bot_event_loop_lag_seconds``);
* a daemon thread checks that the task's heartbeat moves; when it has not for ``threshold`` seconds, it logs the
  loop thread's current stack once per stall (``event loop blocked for ≥ 250 ms in …``), so a stall in production
  names its cause without a profiler.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable

log = logging.getLogger("bot.stalls")


class LoopWatch:
    def __init__(
        self,
        *,
        interval: float = 0.1,
        threshold: float = 0.25,
        observe: Callable[[float], None] | None = None,
    ) -> None:
        self.interval = interval
        self.threshold = threshold
        self._observe = observe
        self._beat = time.monotonic()
        self._loop_thread: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stalls = 0
        self.worst = 0.0

    def start(self) -> None:
        self._loop_thread = threading.get_ident()
        self._beat = time.monotonic()
        self._task = asyncio.get_running_loop().create_task(self._ticker(), name="loop-watch")
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="loop-watch", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 2)
            self._thread = None

    async def _ticker(self) -> None:
        while True:
            started = time.monotonic()
            self._beat = started
            await asyncio.sleep(self.interval)
            lag = max(0.0, time.monotonic() - started - self.interval)
            self.worst = max(self.worst, lag)
            if self._observe is not None:
                self._observe(lag)

    def _watch(self) -> None:
        reported_beat = None
        while not self._stop.wait(self.interval / 2):
            beat = self._beat
            blocked = time.monotonic() - beat - self.interval
            if blocked >= self.threshold and beat != reported_beat:
                reported_beat = beat
                self.stalls += 1
                frame = sys._current_frames().get(self._loop_thread or 0)
                where = "".join(traceback.format_stack(frame, limit=12)) if frame is not None else "(no frame)"
                log.warning("event loop blocked for ≥ %.0f ms in:\n%s", blocked * 1000, where)
