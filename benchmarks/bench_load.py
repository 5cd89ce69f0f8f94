"""Load: many people using the bot at once, against ``headless-bot serve`` and the simulator at realistic latency.

Starts the Control API simulator (``--api-latency`` per call, 0.2 s by default; ``update_status`` calls take 2 s)
and ``headless-bot serve`` as real processes (SQLite file store, notifier polling every 5 s), plus a local Slack
Web API stand-in in this process. Then ``--people`` simulated people (100) each loop for ``--seconds`` (60):
pick an action from a realistic mix — list, status, refresh, help, a typo, the quick schedule form, the More and
Refresh buttons — send it correctly signed, wait ``--think`` seconds (1 s, jittered) and go again.

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

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_ack import percentile, server_ack_summary, wait_http  # noqa: E402
from tests.slackbench import SlackBench, SlackRequestSender  # noqa: E402
from tests.support.servers import free_port  # noqa: E402

SECRET = "load-signing-secret-0123456789"  # noqa: S105
TOKEN = "load-control-token"  # noqa: S105
EXE = str(Path(sys.executable).with_name("headless-bot"))
SERIAL = "SN123456789"


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
    client: httpx.AsyncClient,
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
            response = await client.post(sender.url, content=request.body, headers=headers)
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        samples.append((kind, time.perf_counter() - started, status))
        await asyncio.sleep(think * rng.uniform(0.5, 1.5))


async def drive(sender: SlackRequestSender, people: int, seconds: float, think: float, ops: list[str]) -> list:
    samples: list[tuple[str, float, int]] = []
    limits = httpx.Limits(max_connections=people, max_keepalive_connections=people)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        until = time.monotonic() + seconds
        await asyncio.gather(*(person(i, sender, client, until, think, ops, samples) for i in range(people)))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--api-latency", type=float, default=0.2)
    args = parser.parse_args()

    sim_port, bot_port = free_port(), free_port()
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    admin = {"Authorization": f"Bearer {TOKEN}"}
    with SlackBench() as bench:
        bench.add_channel("C0APPROVE", "approvals", is_member=True)
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
            "LOG_LEVEL": "ERROR",
        }
        bot = subprocess.Popen(
            [EXE, "serve", "--port", str(bot_port), "--host", "127.0.0.1"],
            env=bot_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
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
            sender = SlackRequestSender(f"http://127.0.0.1:{bot_port}", SECRET, bench=bench)
            started = time.perf_counter()
            samples = asyncio.run(drive(sender, args.people, args.seconds, args.think, ops))
            wall = time.perf_counter() - started
            time.sleep(3)  # let the last follow-ups arrive
            follow_ups = len(bench.responses)
            server_side = server_ack_summary(f"http://127.0.0.1:{bot_port}/metrics")
            peak = peak_rss_mb(bot.pid)
            alive = bot.poll() is None
        finally:
            bot.terminate()
            sim.terminate()
            bot.wait(15)
            sim.wait(15)

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
    slow = Counter(kind for kind, seconds, _ in samples if seconds > 1.0)
    print(f"  acks over 1 s by kind {dict(slow)}")
    print(f"  errors {errors}  acks over 3 s {over}  follow-up messages {follow_ups}  "
          f"bot peak RSS {peak:.0f} MB  bot alive at the end {alive}")  # fmt: skip


if __name__ == "__main__":
    main()
