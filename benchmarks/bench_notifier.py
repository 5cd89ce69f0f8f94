"""One notifier cycle over a fleet of 10,000 operations, 5 % of which changed since the last poll.

The Control API simulator runs as a separate process (``--operations`` preseeded operations on ``--devices``
devices, paginated by ``--page-size``), so the CPU time measured here is the bot's alone. The bot is built and
started as ``headless-bot serve`` builds it (``build_runtime`` + ``start()``: migrations, warm-up, every
service), with its notifier loop switched off so the benchmark runs cycles itself; the Slack Web API is the test
bench (in this process, in a thread: it answers a handful of posts). Steps:

1. baseline cycle (everything recorded silently);
2. ``--change`` of the operations forced to a new status through the simulator's admin API (a fifth of them to
   ``failed``), plus whatever the simulated fleet changed by itself meanwhile;
3. the measured cycle: wall time, CPU time (``time.process_time`` of this process), Control API requests (the
   simulator's own count), Slack calls (the bench's), operations changed and notifications;
4. a quiet cycle (nothing changed) for comparison; then peak RSS of the whole process (``ru_maxrss``).

Aim: the 10,000-operation cycle in < 1 s of CPU and the whole bot in < 200 MB peak RSS.

    .venv/bin/python benchmarks/bench_notifier.py [--operations 10000] [--change 0.05] [--page-size 1000]
        [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bot.app import build_runtime
from bot.services.notifier import CycleReport
from bot.settings import Settings
from bot.slackkit import SlackBench
from bot.slackkit.servers import free_port

ROOT = Path(__file__).resolve().parent.parent  # the repository: where child processes run

TOKEN = "bench-control-token"  # noqa: S105
NOTIFY = "C0NOTIFY"
WATCHING = "C0WATCH"


def start_simulator(port: int, operations: int, devices: int, page_size: int | None) -> subprocess.Popen[bytes]:
    code = (
        "from bot.simulator import run_simulator; "
        f"run_simulator({port}, {TOKEN!r}, preseed_operations={operations}, extra_devices={devices}, "
        f"page_size={page_size!r}, refresh_delay=0.0)"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


async def sim_hits(admin: httpx.AsyncClient) -> int:
    return int((await admin.get("/_simulator/state")).json()["hits"].get("GET", 0))


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process, in MB."""
    current = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            current = int(line.split()[1]) / 1024
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def line(label: str, r: CycleReport, requests: int, slack_calls: int) -> str:
    return (
        f"{label:<16} wall {r.seconds * 1000:7.0f} ms  cpu {r.cpu_seconds * 1000:6.0f} ms  "
        f"api requests {requests:3d}  slack calls {slack_calls:3d}  operations {r.operations:6d}  "
        f"changes {r.changes:5d}  recorded {r.recorded:6d}  rows sent {r.sent:5d}  posts {r.posts:3d}"
    )


async def main(args: argparse.Namespace) -> None:
    port = free_port()
    sim = start_simulator(port, args.operations, args.devices, args.page_size)
    tmp = tempfile.TemporaryDirectory()
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/_simulator/state")
        admin = httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        with SlackBench() as bench:
            bench.add_channel(NOTIFY, "ops")
            bench.add_channel(WATCHING, "watchers")
            database_url = args.database_url or f"sqlite+aiosqlite:///{tmp.name}/bench.sqlite3"
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                control_api_url=f"{base}/api/v1",
                control_api_token=TOKEN,
                control_api_timeout_seconds=20,
                slack_api_url=bench.api_url,
                slack_bot_token=bench.bot_token,
                database_url=database_url,
                notify_channel=NOTIFY,
                oncall_group="S0ONCALL",
                notifier_enabled=False,
            )
            runtime = build_runtime(settings)
            await runtime.start()
            notifier = runtime.notifier
            assert notifier is not None
            try:
                print(f"fleet: {args.operations} operations on {args.devices + 1} devices, "
                      f"page size {args.page_size or 'none'}, database {runtime.store.url}")  # fmt: skip
                hits = await sim_hits(admin)
                baseline = await notifier.run_cycle()
                print(line("baseline cycle", baseline, await sim_hits(admin) - hits, len(bench.calls)))

                states = await runtime.store.operation_states()
                ids = sorted(states)
                rng = random.Random(7)
                for op_id in rng.sample(ids, 50):  # some watched operations, so routing does its look-ups
                    await runtime.store.add_watch(op_id, WATCHING, "U0BENCH", runtime.clock())
                changed = rng.sample(ids, int(len(ids) * args.change))
                for n, op_id in enumerate(changed):
                    current = states[op_id].status
                    target = "failed" if n % 5 == 0 else "completed"
                    if target == current:
                        target = "cancelled"
                    await admin.post(f"/_simulator/operations/{op_id}/status", json={"status": target})
                bench.clear()

                hits = await sim_hits(admin)
                report = await notifier.run_cycle()
                requests = await sim_hits(admin) - hits
                print(line(f"{args.change:.0%} changed", report, requests, len(bench.calls)))
                print(f"{'':16} forced {len(changed)}; digests {report.digests}; 429s {report.rate_limited}")

                bench.clear()
                hits = await sim_hits(admin)
                quiet = await notifier.run_cycle()
                print(line("quiet cycle", quiet, await sim_hits(admin) - hits, len(bench.calls)))
            finally:
                await runtime.stop()
            current, peak = rss_mb()
            print(f"memory: peak RSS {peak:.0f} MB for the whole process (bot + in-process Slack bench), "
                  f"now {current:.0f} MB")  # fmt: skip
            cpu_ok = report.cpu_seconds < 1.0
            print(f"aim: cpu < 1 s per 10,000-operation cycle: {'met' if cpu_ok else 'NOT met'}; "
                  f"peak RSS < 200 MB: {'met' if peak < 200 else 'NOT met'}")  # fmt: skip
    finally:
        sim.terminate()
        sim.wait(10)
        tmp.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--operations", type=int, default=10_000)
    parser.add_argument("--devices", type=int, default=2000, help="devices besides SN123456789")
    parser.add_argument("--change", type=float, default=0.05, help="share of operations changed before the cycle")
    parser.add_argument("--page-size", type=int, default=1000, help="simulator page size (0: one page)")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parsed = parser.parse_args()
    parsed.page_size = parsed.page_size or None
    asyncio.run(main(parsed))
