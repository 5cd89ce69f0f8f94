"""Ack latency of ``headless-bot serve`` under concurrent slash commands while the Control API is slow.

Starts the Control API simulator (answering every API call in ``--api-latency`` seconds, 5 by default) and
``headless-bot serve`` as real processes, a local Slack Web API stand-in in a third, then sends ``--rounds``
bursts of ``--concurrency`` correctly signed ``/headless`` commands at once and prints p50/p99 ack latency, the
slowest ack, errors and acks over Slack's 3 s deadline. Aim: p99 ≤ 100 ms at 50 concurrent commands.

    .venv/bin/python benchmarks/bench_ack.py [--concurrency 50] [--rounds 10] [--api-latency 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import httpx

from bot.slackkit import SlackRequestSender
from bot.slackkit.remote import RemoteSlackBench
from bot.slackkit.servers import free_port

ROOT = Path(__file__).resolve().parent.parent  # the repository: where child processes run

SECRET = "bench-signing-secret-0123456789"  # noqa: S105
TOKEN = "bench-control-token"  # noqa: S105
EXE = str(Path(sys.executable).with_name("headless-bot"))


def wait_http(url: str, timeout: float = 30.0, headers: dict[str, str] | None = None) -> None:
    """Wait until ``url`` answers 200 (a process started by a benchmark is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2, headers=headers).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def burst(sender: SlackRequestSender, texts: list[str]) -> list[tuple[float, int]]:
    """Sign every request first, then send them all at once, each on a new connection, as Slack's edge would.

    The client is aiohttp: httpx's connection pool costs the sender ~3× the CPU under this kind of concurrency and
    adds its own queueing (seen in bench_load: a 1–3 s tail that was the client's, not the bot's).
    """
    signed = []
    for text in texts:
        request = sender.slash_command(text)
        signed.append((request.body, sender.headers_for(request)))
    connector = aiohttp.TCPConnector(limit=len(texts), force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as client:

        async def one(body: bytes, headers: dict[str, str]) -> tuple[float, int]:
            started = time.perf_counter()
            try:
                async with client.post(sender.url, data=body, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            return time.perf_counter() - started, status

        return await asyncio.gather(*(one(body, headers) for body, headers in signed))


def server_ack_summary(metrics_url: str) -> str:
    """The bot's own view of its ack latency (request in → response out), from its Prometheus histogram."""
    buckets: list[tuple[float, float]] = []
    total = count = 0.0
    for line in httpx.get(metrics_url, timeout=5).text.splitlines():
        if line.startswith('headless_bot_ack_seconds_bucket{kind="command"'):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float("inf") if bound == "+Inf" else float(bound), float(line.rsplit(" ", 1)[1])))
        elif line.startswith('headless_bot_ack_seconds_sum{kind="command"}'):
            total = float(line.rsplit(" ", 1)[1])
        elif line.startswith('headless_bot_ack_seconds_count{kind="command"}'):
            count = float(line.rsplit(" ", 1)[1])
    if not count:
        return "no server-side samples"

    def bound_for(q: float) -> str:
        for bound, cumulative in buckets:
            if cumulative >= q * count:
                return f"≤ {bound * 1000:.0f} ms"
        return "?"

    return f"mean {total / count * 1000:.1f} ms, p50 {bound_for(0.5)}, p99 {bound_for(0.99)} (histogram buckets)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--api-latency", type=float, default=5.0)
    args = parser.parse_args()

    sim_port, bot_port = free_port(), free_port()
    with RemoteSlackBench() as bench:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        sim = subprocess.Popen(
            [EXE, "simulator", "--port", str(sim_port), "--token", TOKEN, "--refresh-delay", "2"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        bot_env = {
            **env,
            "SLACK_BOT_TOKEN": bench.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": bench.api_url,
            "CONTROL_API_URL": f"http://127.0.0.1:{sim_port}/api/v1",
            "CONTROL_API_TOKEN": TOKEN,
            "DATABASE_URL": "sqlite:///:memory:",
            "LOG_LEVEL": "WARNING",
        }
        bot = subprocess.Popen(
            [EXE, "serve", "--port", str(bot_port), "--host", "127.0.0.1"],
            env=bot_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.put(
                        f"http://127.0.0.1:{sim_port}/_simulator/faults",
                        json={"latency": args.api_latency},
                        headers={"Authorization": f"Bearer {TOKEN}"},
                        timeout=2,
                    ).raise_for_status()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            wait_http(f"http://127.0.0.1:{bot_port}/readyz")
            sender = SlackRequestSender(f"http://127.0.0.1:{bot_port}", SECRET, bench=bench.local)
            mix = os.environ.get("BENCH_MIX", "list|status txn_10000|refresh txn_10000|help|list SN123456789").split(
                "|"
            )
            asyncio.run(burst(sender, ["help"] * 5))  # warm the connection pool and bolt's first request
            samples: list[tuple[float, int]] = []
            started = time.perf_counter()
            for _ in range(args.rounds):
                texts = [mix[i % len(mix)] for i in range(args.concurrency)]
                samples.extend(asyncio.run(burst(sender, texts)))
            wall = time.perf_counter() - started
            server_side = server_ack_summary(f"http://127.0.0.1:{bot_port}/metrics")
        finally:
            bot.terminate()
            sim.terminate()
            bot.wait(15)
            sim.wait(15)

    latencies = [s for s, _ in samples]
    errors = sum(1 for _, status in samples if status != 200)
    over = sum(1 for s in latencies if s > 3.0)
    print(f"bench_ack: {len(samples)} commands, {args.rounds} bursts of {args.concurrency}, "
          f"Control API latency {args.api_latency:.1f} s")  # fmt: skip
    print(f"  ack p50 {statistics.median(latencies) * 1000:.1f} ms   p99 {percentile(latencies, 99) * 1000:.1f} ms   "
          f"max {max(latencies) * 1000:.1f} ms")  # fmt: skip
    print(f"  server-side (bot's own histogram): {server_side}")
    print(f"  errors {errors}   acks over 3 s {over}   wall {wall:.1f} s   bot exit code {bot.returncode}")


if __name__ == "__main__":
    main()
