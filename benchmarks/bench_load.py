"""Load: many people using the bot at once, against ``headless-bot serve`` and the simulator at realistic latency.

Starts the Control API simulator (``--api-latency`` per call, 0.2 s by default; ``update_status`` calls take 2 s),
``headless-bot serve`` (SQLite file store, notifier polling every 5 s) and the local Slack Web API stand-in, each as
its own process (the stand-in validates every message; in this process it would delay the load generator). Then
``--people`` simulated people (100) each loop for ``--seconds`` (60): pick an action from a realistic mix — list,
status, refresh, help, a typo, the quick schedule form, the More and Refresh buttons — send it correctly signed,
wait ``--think`` seconds (1 s, jittered) and go again.

Prints throughput, p50/p99/max ack latency, errors (non-200 or transport failures), acks over Slack's 3 s
deadline, the follow-up messages that arrived, and the bot process's peak memory (VmHWM). Aim: zero errors and
zero acks over 3 s.

    .venv/bin/python benchmarks/bench_load.py [--people 100] [--seconds 60] [--think 1.0] [--api-latency 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp
import httpx
from bench_ack import percentile, server_ack_summary, wait_http  # a sibling script: run from its folder
from fleet import cpu_seconds

from bot.slackkit import SlackRequestSender
from bot.slackkit.remote import RemoteSlackBench
from bot.slackkit.servers import free_port

ROOT = Path(__file__).resolve().parent.parent  # the repository: where child processes run

SECRET = "load-signing-secret-0123456789"  # noqa: S105
TOKEN = "load-control-token"  # noqa: S105
EXE = str(Path(sys.executable).with_name("headless-bot"))
SERIAL = "SN123456789"


def loop_lag_summary(metrics_url: str) -> str:
    """The bot's event-loop lag histogram (how late a 100 ms timer fires), as the count above 100 ms and 250 ms."""
    counts: dict[str, float] = {}
    for line in httpx.get(metrics_url, timeout=5).text.splitlines():
        if line.startswith("headless_bot_event_loop_lag_seconds_bucket"):
            counts[line.split('le="', 1)[1].split('"', 1)[0]] = float(line.rsplit(" ", 1)[1])
    total = counts.get("+Inf", 0)
    if not total:
        return "no samples"
    return (f"{total:.0f} samples, {total - counts['0.1']:.0f} over 100 ms, {total - counts['0.25']:.0f} over 250 ms, "
            f"{total - counts['1.0']:.0f} over 1 s")  # fmt: skip


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def person(
    number: int,
    sender: SlackRequestSender,
    client: aiohttp.ClientSession,
    until: float,
    think: float,
    operations: list[str],
    samples: list[tuple[str, float, int]],
) -> None:
    rng = random.Random(number)  # the load shape, not security
    user = f"U{number:08d}"
    while time.monotonic() < until:
        op = rng.choice(operations)
        kind = rng.choices(
            ["list", "status", "refresh", "help", "typo", "schedule", "more", "refresh_button", "list_serial"],
            weights=[20, 25, 8, 8, 4, 8, 10, 7, 10],
        )[0]
        if kind == "more":
            value = json.dumps({"serial": None, "status": None, "offset": 15})
            request = sender.block_action("list_more", value, block_id="list_more", user_id=user, is_ephemeral=True)
        elif kind == "refresh_button":
            request = sender.block_action("refresh_operation", op, block_id="operation_actions", user_id=user)
        else:
            text = {
                "list": "list",
                "list_serial": f"list {SERIAL} status=scheduled",
                "status": f"status {op}",
                "refresh": f"refresh {op}",
                "help": "help",
                "typo": "stauts " + op,
                "schedule": f"schedule {SERIAL} diagnostics in {rng.randint(2, 48)} hours level=full",
            }[kind]
            request = sender.slash_command(text, user_id=user)
        headers = sender.headers_for(request)
        started = time.perf_counter()
        try:
            async with client.post(sender.url, data=request.body, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        samples.append((kind, time.perf_counter() - started, status))
        await asyncio.sleep(think * rng.uniform(0.5, 1.5))


async def loop_lag(until: float, lags: list[float]) -> None:
    """How late this process's own event loop wakes up: a slow ack seen while the generator lags is not the bot's."""
    while time.monotonic() < until:
        started = time.perf_counter()
        await asyncio.sleep(0.05)
        lags.append(time.perf_counter() - started - 0.05)


async def drive(
    sender: SlackRequestSender, people: int, seconds: float, think: float, ops: list[str], lags: list[float]
) -> list:
    samples: list[tuple[str, float, int]] = []
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=people), timeout=timeout) as client:
        until = time.monotonic() + seconds
        await asyncio.gather(
            loop_lag(until, lags), *(person(i, sender, client, until, think, ops, samples) for i in range(people))
        )
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--api-latency", type=float, default=0.2)
    parser.add_argument("--bot-log", type=Path, help="write the bot's warnings and errors to this file")
    args = parser.parse_args()

    sim_port, bot_port = free_port(), free_port()
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    admin = {"Authorization": f"Bearer {TOKEN}"}
    lags: list[float] = []
    with RemoteSlackBench(channels=[("C0APPROVE", "approvals")]) as bench:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        sim = subprocess.Popen(
            [EXE, "simulator", "--port", str(sim_port), "--token", TOKEN, "--refresh-delay", "2", "--devices", "200"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        bot_env = {
            **env,
            "SLACK_BOT_TOKEN": bench.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": bench.api_url,
            "CONTROL_API_URL": f"http://127.0.0.1:{sim_port}/api/v1",
            "CONTROL_API_TOKEN": TOKEN,
            "DATABASE_URL": f"sqlite:///{workdir / 'bot.sqlite3'}",
            "APPROVAL_CHANNEL": "C0APPROVE",
            "APPROVERS": "U0APPROVER",
            "NOTIFY_CHANNEL": "C0APPROVE",
            "POLL_INTERVAL_SECONDS": "5",
            "LOG_LEVEL": "WARNING" if args.bot_log else "ERROR",
        }
        log = args.bot_log.open("wb") if args.bot_log else subprocess.DEVNULL
        bot = subprocess.Popen(
            [EXE, "serve", "--port", str(bot_port), "--host", "127.0.0.1"],
            env=bot_env, stdout=log, stderr=log,
        )  # fmt: skip
        try:
            wait_http(f"http://127.0.0.1:{sim_port}/_simulator/state", headers=admin)
            ops = []
            api = f"http://127.0.0.1:{sim_port}/api/v1/inventory_device_serial_headless_operation/"
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
            for i in range(40):
                body = {"device_serial": SERIAL, "operation_type": "reboot", "scheduled_time": when,
                        "parameters": {"n": i}}  # fmt: skip
                ops.append(httpx.post(api, json=body, headers=admin, timeout=5).json()["id"])
            httpx.put(f"http://127.0.0.1:{sim_port}/_simulator/faults", json={"latency": args.api_latency},
                      headers=admin, timeout=5).raise_for_status()  # fmt: skip
            wait_http(f"http://127.0.0.1:{bot_port}/readyz")
            sender = SlackRequestSender(f"http://127.0.0.1:{bot_port}", SECRET, bench=bench.local)
            started = time.perf_counter()
            samples = asyncio.run(drive(sender, args.people, args.seconds, args.think, ops, lags))
            wall = time.perf_counter() - started
            time.sleep(3)  # let the last follow-ups arrive
            server_side = server_ack_summary(f"http://127.0.0.1:{bot_port}/metrics")
            metrics_text = httpx.get(f"http://127.0.0.1:{bot_port}/metrics", timeout=5).text
            lag_side = loop_lag_summary(f"http://127.0.0.1:{bot_port}/metrics")
            cpu = {"bot": cpu_seconds(bot.pid), "simulator": cpu_seconds(sim.pid), "stand-in": cpu_seconds(bench.pid)}
            cpu["load generator"] = cpu_seconds(os.getpid())
            peak = peak_rss_mb(bot.pid)
            alive = bot.poll() is None
        finally:
            bot.terminate()  # first, and wait: its last answers still need the simulator
            bot.wait(15)
            sim.terminate()
            sim.wait(15)
    follow_ups = bench.summary.get("responses", 0)

    latencies = [s for _, s, _ in samples]
    errors = sum(1 for _, _, status in samples if status != 200)
    over = sum(1 for s in latencies if s > 3.0)
    kinds = Counter(kind for kind, _, _ in samples)
    print(f"bench_load: {args.people} people for {args.seconds:.0f} s, think {args.think:.1f} s, "
          f"Control API latency {args.api_latency * 1000:.0f} ms")  # fmt: skip
    print(f"  requests {len(samples)}  throughput {len(samples) / wall:.1f}/s  mix {dict(kinds)}")
    print(f"  ack p50 {statistics.median(latencies) * 1000:.1f} ms  p99 {percentile(latencies, 99) * 1000:.1f} ms  "
          f"max {max(latencies) * 1000:.1f} ms")  # fmt: skip
    print(f"  server-side (the bot's own histogram, commands): {server_side}")
    print(f"  the bot's event-loop lag: {lag_side}")
    print("  CPU seconds: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items()))
    slow = Counter(kind for kind, seconds, _ in samples if seconds > 1.0)
    if os.environ.get("BENCH_SHOW_SLOW"):
        print("  slow acks (ms):", sorted((round(s * 1000), kind) for kind, s, _ in samples if s > 0.05))
        print("  server histogram:", [line for line in metrics_text.splitlines() if "ack_seconds_bucket" in line])
    print(f"  acks over 1 s by kind {dict(slow)}")
    print(f"  load generator's own loop lag: p99 {percentile(lags, 99) * 1000:.1f} ms  max {max(lags) * 1000:.1f} ms  "
          f"Block Kit violations at the stand-in {bench.summary.get('violation_count', '?')}")  # fmt: skip
    print(f"  errors {errors}  acks over 3 s {over}  follow-up messages {follow_ups}  "
          f"bot peak RSS {peak:.0f} MB  bot alive at the end {alive}")  # fmt: skip


if __name__ == "__main__":
    main()
