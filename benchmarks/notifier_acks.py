"""``bench_notifier.py --with-acks``: how fast ``headless-bot serve`` acks Slack while its notifier runs a cycle.

Three processes besides this one: the Control API simulator (``--operations``, 100,000 by default), the Slack Web
API stand-in and ``headless-bot serve`` (notifier on, ``POLL_INTERVAL_SECONDS`` 1 so cycles run back to back,
SQLite or a new schema of ``--database-url``). This process sends correctly signed ``/headless help`` commands at
``--ack-rate`` per second, each on a new connection as Slack's edge does, and reads the bot's ``/metrics`` every
100 ms (the notifier's cycle counter and duration say when a cycle ran; the event-loop lag histogram says how late
the bot's loop woke during it).

1. **idle**: for ``--idle-seconds`` the benchmark holds the notifier's lock (``Store.notifier_lease``, the one a
   second replica would wait on), so serve runs everything but the poll;
2. **cycles**: the lock is released, serve's notifier takes it and runs the baseline; the moment it ends, 5 % of
   the operations change (one admin request), so the next cycle has news to tell; then quiet cycles, up to
   ``--cycles`` after the baseline.

Printed: ack p50 / p99 / max idle and during each cycle, the ratio of the p99s, the bot's loop lag during each
cycle (histogram buckets, and the stalls ≥ 250 ms its loop watch logged, with where), the bot's CPU and peak RSS,
and issue #14's aims: lag p99 ≤ 50 ms, max ≤ 100 ms, ack p99 during a cycle ≤ 1.5× idle.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import aiohttp
import httpx
from fleet import (
    LagWatch,
    SimulatorProcess,
    cpu_seconds,
    percentile,
    preseeded_ids,
    proc_status_mb,
    stall_site,
    verdict,
)

from bot.slackkit import SlackRequestSender
from bot.slackkit.remote import RemoteSlackBench
from bot.slackkit.servers import free_port
from bot.store import NotifierLease, Store

SECRET = "acks-signing-secret-0123456789"  # noqa: S105
EXE = str(Path(sys.executable).with_name("headless-bot"))
NOTIFY = "C0NOTIFY"
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)  # bot.metrics.ACK_BUCKETS
STALL = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) WARNING bot\.stalls: event loop blocked")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("--with-acks")
    group.add_argument("--ack-rate", type=float, default=20.0, help="/headless help commands per second")
    group.add_argument("--idle-seconds", type=float, default=10.0, help="acks measured before the first cycle")
    group.add_argument("--cycles", type=int, default=2, help="cycles measured after the baseline (≥ 2)")
    group.add_argument("--poll-interval", type=float, default=1.0, help="POLL_INTERVAL_SECONDS of serve (≥ 1)")
    group.add_argument(
        "--split", action="store_true", help="serve --no-notifier + a headless-bot notifier process (two shapes)"
    )


@dataclass
class Sample:
    """One read of the bot's /metrics, with the bot's CPU time at that moment."""

    at: float
    cycles: float
    failed: float
    cycle_seconds: float
    lag: list[float]  # cumulative counts per LAG_BUCKETS bound, then +Inf
    cpu: float
    ack_sum: float = 0.0  # the bot's own ack time (in its endpoint, after the body was read): sum and count
    ack_count: float = 0.0


@dataclass
class Cycle:
    label: str
    start: float
    end: float
    before: Sample
    after: Sample
    acks: list[float] = field(default_factory=list)
    stalls: list[float] = field(default_factory=list)


def parse_metrics(text: str, at: float, cpu: float) -> Sample:
    values: dict[str, float] = {}
    for row in text.splitlines():
        if row.startswith("headless_bot_"):
            name, _, value = row.rpartition(" ")
            values[name] = float(value)
    lag = [values.get(f'headless_bot_event_loop_lag_seconds_bucket{{le="{bound}"}}', 0.0) for bound in LAG_BUCKETS]
    lag.append(values.get('headless_bot_event_loop_lag_seconds_bucket{le="+Inf"}', 0.0))
    ok = values.get('headless_bot_notifier_cycles_total{outcome="ok"}', 0.0)
    failed = sum(v for k, v in values.items() if k.startswith("headless_bot_notifier_cycles_total") and "ok" not in k)
    ack_sum = sum(v for k, v in values.items() if k.startswith("headless_bot_ack_seconds_sum"))
    ack_count = sum(v for k, v in values.items() if k.startswith("headless_bot_ack_seconds_count"))
    cycle_sum = values.get("headless_bot_notifier_cycle_seconds_sum", 0.0)
    return Sample(at, ok + failed, failed, cycle_sum, lag, cpu, ack_sum, ack_count)


def inside_mean(before: Sample, after: Sample) -> str:
    """The mean time the bot itself took to answer between two samples (from its ack histogram's sum/count):
    what the loop added, apart from the network and the machine's other processes."""
    count = after.ack_count - before.ack_count
    return f"{(after.ack_sum - before.ack_sum) / count * 1000:.2f} ms" if count else "n/a"


def shown(bound: float) -> str:
    """A histogram bucket's bound as a limit: ``≤ 250 ms``."""
    return "> 5 s" if bound == float("inf") else f"≤ {bound * 1000:.0f} ms"


def lag_summary(before: Sample, after: Sample) -> tuple[str, float, float]:
    """The bot's loop lag between two samples: (text, p99 bound, max bound) from the histogram's buckets."""
    counts = [b - a for a, b in zip(before.lag, after.lag, strict=True)]
    total = counts[-1]
    if not total:
        return "no samples", float("nan"), float("nan")
    bounds = [*LAG_BUCKETS, float("inf")]
    p99 = next(bound for bound, cumulative in zip(bounds, counts, strict=True) if cumulative >= 0.99 * total)
    top = next(bound for bound, cumulative in zip(bounds, counts, strict=True) if cumulative >= total)
    over = {limit: total - counts[LAG_BUCKETS.index(limit)] for limit in (0.05, 0.1, 0.25)}

    text = (f"p99 {shown(p99)}  max {shown(top)}  over 50 ms {over[0.05]:.0f}  over 100 ms {over[0.1]:.0f}  "
            f"over 250 ms {over[0.25]:.0f}  ({total:.0f} ticks of 100 ms)")  # fmt: skip
    return text, p99, top


def ack_summary(latencies: list[float]) -> str:
    if not latencies:
        return "no acks"
    return (f"p50 {percentile(latencies, 50) * 1000:6.1f} ms  p99 {percentile(latencies, 99) * 1000:6.1f} ms  "
            f"max {max(latencies) * 1000:6.1f} ms  (n {len(latencies)})")  # fmt: skip


def read_stalls(log: Path) -> tuple[list[float], Counter[str]]:
    """When serve's loop watch logged a stall (≥ 250 ms), and the innermost frame of the bot it was in."""
    moments: list[float] = []
    sites: Counter[str] = Counter()
    stack: list[str] | None = None
    for text in [*(log.read_text(errors="replace").splitlines() if log.exists() else []), "end"]:
        match = STALL.match(text)
        if stack is not None and (match or not text.startswith(" ")):
            sites[stall_site("\n".join(stack))] += 1
            stack = None
        if match:
            moments.append(datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp())
            stack = []
        elif stack is not None:
            stack.append(text)
    return moments, sites


class Driver:
    """Sends /headless help at a steady rate and samples the bot's /metrics, until stopped."""

    def __init__(
        self, sender: SlackRequestSender, metrics_url: str, bot_pid: int, rate: float, cycles_url: str | None = None
    ) -> None:
        self.sender, self.metrics_url, self.bot_pid, self.rate = sender, metrics_url, bot_pid, rate
        self.cycles_url = cycles_url  # --split: the notifier process's /metrics, where its cycles are counted
        self.acks: list[tuple[float, float, int]] = []  # (sent at, seconds, status)
        self.samples: list[Sample] = []
        self.watch = LagWatch(0.01)
        self._stop = asyncio.Event()

    async def run(self) -> None:
        self.watch.start()
        connector = aiohttp.TCPConnector(limit=0, force_close=True)
        timeout = aiohttp.ClientTimeout(total=10)
        async with (
            aiohttp.ClientSession(connector=connector, timeout=timeout) as acks,
            aiohttp.ClientSession(timeout=timeout) as metrics,
        ):
            await asyncio.gather(self._send(acks), self._sample(metrics))
        await self.watch.stop()

    def stop(self) -> None:
        self._stop.set()

    async def _send(self, client: aiohttp.ClientSession) -> None:
        pending: set[asyncio.Task[None]] = set()
        started, n = time.monotonic(), 0
        while not self._stop.is_set():
            task = asyncio.ensure_future(self._one(client))
            pending.add(task)
            task.add_done_callback(pending.discard)
            n += 1
            await asyncio.sleep(max(0.0, started + n / self.rate - time.monotonic()))
        await asyncio.gather(*pending)

    async def _one(self, client: aiohttp.ClientSession) -> None:
        request = self.sender.slash_command("help")
        headers = self.sender.headers_for(request)
        sent, began = time.time(), time.perf_counter()
        try:
            async with client.post(self.sender.url, data=request.body, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        self.acks.append((sent, time.perf_counter() - began, status))

    async def _sample(self, client: aiohttp.ClientSession) -> None:
        while not self._stop.is_set():
            try:
                async with client.get(self.metrics_url) as response:
                    text = await response.text()
                sample = parse_metrics(text, time.time(), cpu_seconds(self.bot_pid))
                if self.cycles_url is not None:
                    async with client.get(self.cycles_url) as response:
                        cycles = parse_metrics(await response.text(), sample.at, 0.0)
                    sample.cycles, sample.failed = cycles.cycles, cycles.failed
                    sample.cycle_seconds = cycles.cycle_seconds
                self.samples.append(sample)
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)

    async def until(self, cycles: float, within: float) -> None:
        deadline = time.monotonic() + within
        while not self.samples or self.samples[-1].cycles < cycles:
            if time.monotonic() > deadline:
                raise SystemExit(f"the notifier did not finish cycle {cycles:.0f} in {within:.0f} s")
            await asyncio.sleep(0.05)


def find_cycles(samples: list[Sample], changed_at: float) -> list[Cycle]:
    """Each cycle's window, from the samples where the cycle counter moved: it ended between the two samples, and
    lasted what the duration histogram's sum grew by."""
    cycles: list[Cycle] = []
    for previous, sample in itertools.pairwise(samples):
        if sample.cycles <= previous.cycles:
            continue
        end = (previous.at + sample.at) / 2
        start = end - (sample.cycle_seconds - previous.cycle_seconds) / (sample.cycles - previous.cycles)
        before = next((s for s in reversed(samples) if s.at <= start), samples[0])
        number = len(cycles)
        label = "baseline" if number == 0 else ("changed" if start >= changed_at and number == 1 else "quiet")
        if sample.failed > previous.failed:
            label += " (FAILED)"
        cycles.append(Cycle(f"cycle {number + 1} {label}", start, end, before, sample))
    return cycles


def run_with_acks(args: argparse.Namespace, database_url: str, workdir: Path) -> None:
    asyncio.run(measure(args, database_url, workdir))


async def measure(args: argparse.Namespace, database_url: str, workdir: Path) -> None:
    sim = SimulatorProcess(args.operations, args.devices, args.page_size)
    up = sim.start()
    store = Store(database_url)
    await store.connect()
    lease = await store.notifier_lease()  # serve's notifier waits for it: idle
    if lease is None:
        raise SystemExit("could not take the notifier lock before serve started")
    log = workdir / "bot.log"
    bot_port = free_port()
    try:
        with RemoteSlackBench(channels=[(NOTIFY, "ops")]) as bench, log.open("wb") as log_file:
            env = {
                **os.environ,
                "PYTHONUNBUFFERED": "1",
                "SLACK_BOT_TOKEN": bench.bot_token,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": bench.api_url,
                "CONTROL_API_URL": sim.api_url,
                "CONTROL_API_TOKEN": "bench-control-token",
                "CONTROL_API_TIMEOUT_SECONDS": "20",
                "DATABASE_URL": database_url,
                "NOTIFY_CHANNEL": NOTIFY,
                "POLL_INTERVAL_SECONDS": str(args.poll_interval),
                "LOG_LEVEL": "WARNING",
            }
            command = [EXE, "serve", "--port", str(bot_port), "--host", "127.0.0.1"]
            notifier_port = free_port()
            extra: list[asyncio.subprocess.Process] = []
            if args.split:  # the web replica answers Slack; the notifier process polls
                command.append("--no-notifier")
                extra.append(
                    await asyncio.create_subprocess_exec(
                        EXE, "notifier", "--port", str(notifier_port), "--host", "127.0.0.1",
                        env=env, stdout=log_file, stderr=subprocess.STDOUT,
                    )
                )  # fmt: skip
            bot = await asyncio.create_subprocess_exec(*command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
            try:
                await wait_ready(f"http://127.0.0.1:{bot_port}/readyz", bot)
                sender = SlackRequestSender(f"http://127.0.0.1:{bot_port}", SECRET, bench=bench.local)
                cycles_url = f"http://127.0.0.1:{notifier_port}/metrics" if args.split else None
                driver = Driver(sender, f"http://127.0.0.1:{bot_port}/metrics", bot.pid, args.ack_rate, cycles_url)
                if args.split:
                    await wait_ready(f"http://127.0.0.1:{notifier_port}/healthz", extra[0])
                changed_at, released = await drive(args, driver, sim, lease)
                peak = proc_status_mb(bot.pid, "VmHWM")
            finally:
                for process in [bot, *extra]:
                    if process.returncode is None:
                        process.terminate()
                    await asyncio.wait_for(process.wait(), 15)
    finally:
        await store.close()
        sim.stop()
    latency = f", each page answered in ≥ {args.page_latency * 1000:.0f} ms" if args.page_latency else ""
    print(f"fleet: {args.operations} operations on {args.devices + 1} devices, page size {args.page_size}{latency}; "
          f"simulator up in {up:.1f} s; {'serve --no-notifier + notifier' if args.split else 'serve'} with "
          f"POLL_INTERVAL_SECONDS={args.poll_interval:g}, "
          f"database {store.url}")  # fmt: skip
    report(args, driver, changed_at, released, read_stalls(log), peak)


async def wait_ready(url: str, bot: asyncio.subprocess.Process, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if bot.returncode is not None:
                raise SystemExit(f"headless-bot serve exited with code {bot.returncode}")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("headless-bot serve did not become ready")


async def drive(
    args: argparse.Namespace, driver: Driver, sim: SimulatorProcess, lease: NotifierLease
) -> tuple[float, float]:
    """Idle, release the lock, the baseline, 5 % changed, quiet cycles; returns (changed at, released at)."""
    running = asyncio.ensure_future(driver.run())
    await asyncio.sleep(args.idle_seconds)
    if args.page_latency:
        async with httpx.AsyncClient(headers=sim.headers, timeout=10) as admin:
            await sim.set_faults(admin, latency=args.page_latency)
    released = time.time()
    await lease.release()
    pages = -(-args.operations // (args.page_size or args.operations or 1))
    timeout = max(300.0, args.operations / 1000 + pages * args.page_latency * 2)  # a cycle, generously
    await driver.until(1, timeout)
    async with httpx.AsyncClient(headers=sim.headers, timeout=60) as admin:
        ids = preseeded_ids(args.operations)
        await sim.change(admin, random.Random(7).sample(ids, int(len(ids) * args.change)))
    changed_at = time.time()
    await driver.until(1 + max(2, args.cycles), timeout)
    await asyncio.sleep(0.3)  # a sample after the last cycle
    driver.stop()
    await running
    return changed_at, released


def report(
    args: argparse.Namespace,
    driver: Driver,
    changed_at: float,
    released: float,
    stalls: tuple[list[float], Counter[str]],
    peak: float,
) -> None:
    moments, sites = stalls
    cycles = find_cycles(driver.samples, changed_at)
    idle = [seconds for sent, seconds, _ in driver.acks if driver.acks[0][0] + 1.0 <= sent < released]
    for cycle in cycles:
        cycle.acks = [seconds for sent, seconds, _ in driver.acks if cycle.start <= sent <= cycle.end]
        cycle.stalls = [at for at in moments if cycle.start <= at <= cycle.end + 0.5]
    errors = sum(1 for _, _, status in driver.acks if status != 200)
    idle_p99 = percentile(idle, 99)
    print(f"acks of /headless help at {args.ack_rate:g}/s, each on a new connection "
          f"({len(driver.acks)} sent, {errors} errors or non-200):")  # fmt: skip
    print(f"  idle (notifier waiting for its lock)  {ack_summary(idle)}")
    idle_samples = [sample for sample in driver.samples if sample.at < released]
    if len(idle_samples) > 1:
        print(f"      the bot's own time to answer (mean, inside its endpoint): "
              f"{inside_mean(idle_samples[0], idle_samples[-1])}")  # fmt: skip
    worst_p99, worst_max, worst_ratio = 0.0, 0.0, 0.0
    for cycle in cycles:
        wall = cycle.end - cycle.start
        cpu = cycle.after.cpu - cycle.before.cpu
        ratio = percentile(cycle.acks, 99) / idle_p99 if cycle.acks and idle else float("nan")
        lag_text, p99, top = lag_summary(cycle.before, cycle.after)
        print(f"  {cycle.label}: {wall:.1f} s, bot cpu ≈ {cpu:.1f} s")
        print(f"      acks  {ack_summary(cycle.acks)}   p99 / idle p99 = {ratio:.1f}×;  "
              f"the bot's own time (mean) {inside_mean(cycle.before, cycle.after)}")  # fmt: skip
        print(f"      bot loop lag  {lag_text};  stalls ≥ 250 ms logged: {len(cycle.stalls)}")
        if not cycle.label.startswith("cycle 1 "):
            worst_p99, worst_max = max(worst_p99, p99), max(worst_max, top)
            worst_ratio = max(worst_ratio, ratio if ratio == ratio else float("inf"))  # NaN: no acks to compare
    if sites:
        print("  where serve's loop watch caught the stalls (innermost bot frame): "
              + "; ".join(f"{site} ×{n}" for site, n in sites.most_common(4)))  # fmt: skip
    outside = sum(1 for at in moments if at < released)
    print(f"  stalls logged while idle: {outside};  bot peak RSS {peak:.0f} MB;  this process's loop: "
          f"{LagWatch.describe(driver.watch.samples)}")  # fmt: skip
    if len(cycles) < 2 or any("FAILED" in cycle.label for cycle in cycles):
        print("aims: not judged: fewer than two cycles were seen, or a cycle failed")
        return
    print("aims of issue #14 while a cycle runs in serve (the cycles after the baseline; the baseline is shown above):")
    print(f"  aim: bot loop lag p99 ≤ 50 ms: {shown(worst_p99)} {verdict(worst_p99 <= 0.05)}")
    print(f"  aim: bot loop lag max ≤ 100 ms: {shown(worst_max)} {verdict(worst_max <= 0.1)}")
    print(f"  aim: ack p99 during a cycle ≤ 1.5× idle: {worst_ratio:.1f}× {verdict(worst_ratio <= 1.5)}")
