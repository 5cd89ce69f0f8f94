"""What the notifier benchmarks share: the fleet (the Control API simulator in its own process, preseeded), an
event-loop lag watch, a fresh database, and the small arithmetic of percentiles and aims.

Imported by ``bench_notifier.py``, ``notifier_acks.py`` and ``bench_simulator.py`` as a sibling module (the scripts
run from this folder).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bot.simulator.state import FIRST_OPERATION_NUMBER
from bot.slackkit.servers import free_port
from bot.store import with_schema

ROOT = Path(__file__).resolve().parent.parent  # the repository: where child processes run
TOKEN = "bench-control-token"  # noqa: S105


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def proc_status_mb(pid: int, field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of a process, in MB, from /proc (NaN where there is none)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc; NaN where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def preseeded_ids(operations: int) -> list[str]:
    """The ids a freshly preseeded simulator gives its operations, in creation order."""
    return [f"txn_{FIRST_OPERATION_NUMBER + n}" for n in range(operations)]


class SimulatorProcess:
    """``headless-bot simulator`` as the benchmarks run it: its own process, ``operations`` preseeded, paginated by
    ``page_size``, answering ``update_status`` at once. ``start()`` returns the seconds it took to come up
    (interpreter, imports, preseed)."""

    def __init__(self, operations: int, devices: int, page_size: int | None) -> None:
        self.operations, self.devices, self.page_size = operations, devices, page_size
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/api/v1"
        self.headers = {"Authorization": f"Bearer {TOKEN}"}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> float:
        code = (
            "from bot.simulator import run_simulator; "
            f"run_simulator({self.port}, {TOKEN!r}, preseed_operations={self.operations}, "
            f"extra_devices={self.devices}, page_size={self.page_size!r}, refresh_delay=0.0)"
        )
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the simulator exited with code {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/_simulator/state", headers=self.headers, timeout=5).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise SystemExit("the simulator did not come up")

    @property
    def pid(self) -> int:
        return self.process.pid if self.process is not None else 0

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)

    def rss_mb(self) -> tuple[float, float]:
        """(now, peak) resident memory of the simulator process."""
        return proc_status_mb(self.pid, "VmRSS"), proc_status_mb(self.pid, "VmHWM")

    async def hits(self, client: httpx.AsyncClient) -> int:
        """API GETs the simulator has answered (or broken) so far: one per page the bot read."""
        return int((await client.get(f"{self.url}/_simulator/state")).json()["hits"].get("GET", 0))

    async def set_faults(self, client: httpx.AsyncClient, **faults: Any) -> None:
        (await client.put(f"{self.url}/_simulator/faults", json=faults)).raise_for_status()

    async def force_statuses(self, client: httpx.AsyncClient, statuses: dict[str, str | None]) -> dict[str, str]:
        """Force many statuses in one request; the statuses they had before."""
        answer = await client.post(f"{self.url}/_simulator/operations/statuses", json={"statuses": statuses})
        answer.raise_for_status()
        return answer.json()["previous"]  # type: ignore[no-any-return]

    async def change(self, client: httpx.AsyncClient, ids: list[str]) -> int:
        """Give each of ``ids`` a new status, a fifth ``failed`` and the rest ``completed`` (``cancelled`` where that
        was already the status); returns how many changed."""
        wanted = {op_id: "failed" if n % 5 == 0 else "completed" for n, op_id in enumerate(ids)}
        previous = await self.force_statuses(client, dict(wanted))
        same = {op_id: "cancelled" for op_id, status in previous.items() if status == wanted[op_id]}
        if same:
            await self.force_statuses(client, dict(same))
        return len(ids)


@contextmanager
def fresh_database(database_url: str | None, workdir: Path) -> Iterator[str]:
    """A database no earlier run has touched: a SQLite file in ``workdir``, or a new schema in ``database_url``
    (PostgreSQL), dropped afterwards."""
    if not database_url:
        yield f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}"
        return
    if not database_url.startswith("postgresql"):
        yield database_url
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        yield with_schema(database_url, schema)
    finally:
        asyncio.run(_drop_schema(database_url, schema))


async def _drop_schema(database_url: str, schema: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.store import parse_database_url

    engine = create_async_engine(parse_database_url(database_url).url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+), in (\S+)')


LIBRARY = re.compile(r"^.*/(site-packages|lib/python3\.\d+)/")


def stall_site(stack: str) -> str:
    """Where a stack ``bot.stalls`` logged was: its innermost frame of the bot, then its innermost frame if that one
    lies in a library (``store/outbox.py:75 <dictcomp> > sqlalchemy/sql/type_api.py:2219 process``)."""
    innermost = bot = None
    for text in stack.splitlines():
        frame = FRAME.match(text)
        if frame is None or frame.group(1).endswith("/bot/stalls.py"):
            continue
        path = frame.group(1)
        short = path.rsplit("/bot/", 1)[1] if "/bot/" in path else LIBRARY.sub("", path)
        innermost = f"{short}:{frame.group(2)} {frame.group(3)}"
        if "/bot/" in path:
            bot = innermost
    if bot and innermost != bot:
        return f"{bot} > {innermost}"
    return bot or innermost or "?"


class StallLog(logging.Handler):
    """Collects what the bot's loop watch (``bot.stalls``) logs in this process, instead of printing each stack:
    ``take()`` returns the sites of the stalls since the last call."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.sites: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.sites.append(stall_site(record.getMessage()))

    def install(self) -> StallLog:
        logger = logging.getLogger("bot.stalls")
        logger.addHandler(self)
        logger.propagate = False
        return self

    def take(self) -> list[str]:
        sites, self.sites = self.sites, []
        return sites

    @staticmethod
    def describe(sites: list[str]) -> str:
        if not sites:
            return "none"
        common = Counter(sites).most_common(3)
        return f"{len(sites)}, in " + "; ".join(f"{site} ×{n}" for site, n in common)


class LagWatch:
    """How late this process's event loop wakes a ``interval`` timer, sample by sample (``bot.stalls.LoopWatch``
    measures the same, but its watchdog thread wakes every ``interval / 2``: at 10 ms that thread's CPU would be
    counted in the cycle's ``process_time``).

    ``mark()`` starts a window; ``summary()`` describes the samples since the last mark.
    """

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.samples: list[float] = []
        self._start = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._tick(), name="bench-lag-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _tick(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.samples.append(max(0.0, time.perf_counter() - started - self.interval))

    def mark(self) -> None:
        self._start = len(self.samples)

    def window(self) -> list[float]:
        return self.samples[self._start :]

    @staticmethod
    def describe(lags: list[float]) -> str:
        if not lags:
            return "no samples"
        return (
            f"p50 {percentile(lags, 50) * 1000:.1f} ms  p99 {percentile(lags, 99) * 1000:.1f} ms  "
            f"max {max(lags) * 1000:.0f} ms  over 50 ms {sum(lag > 0.05 for lag in lags)}  "
            f"over 100 ms {sum(lag > 0.1 for lag in lags)}  ({len(lags)} samples)"
        )
