"""The Control API simulator at fleet scale: is it fast enough not to be the notifier benchmark's bottleneck?

Starts the simulator as ``bench_notifier.py`` does (its own process, ``--operations`` preseeded, page size 1,000)
and prints: seconds until it answers (interpreter, imports and preseed), its RSS, then two passes over
``--pages`` pages spread over the whole list (all of them by default) read one after the other with a keep-alive
client: ms per page (p50 / p99 / max, as the client sees it) and the simulator's own CPU per page (from /proc),
and how long decoding a page takes the client (``json`` and ``orjson``), which is what the bot pays for it.

    .venv/bin/python benchmarks/bench_simulator.py [--operations 1000000] [--pages 0] [--devices 2000]
"""

from __future__ import annotations

import argparse
import json
import time

import httpx
import orjson
from fleet import SimulatorProcess, cpu_seconds, percentile


def one_pass(client: httpx.Client, sim: SimulatorProcess, pages: list[int]) -> tuple[list[float], float, bytes]:
    """(seconds per page, simulator CPU seconds for the pass, one page's body)."""
    endpoint = f"{sim.api_url}/inventory_device_serial_headless_operation/"
    timings: list[float] = []
    body = b""
    cpu = cpu_seconds(sim.pid)
    for page in pages:
        started = time.perf_counter()
        response = client.get(endpoint, params={"page": page} if page > 1 else None)
        timings.append(time.perf_counter() - started)
        response.raise_for_status()
        body = response.content
    return timings, cpu_seconds(sim.pid) - cpu, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--operations", type=int, default=1_000_000)
    parser.add_argument("--devices", type=int, default=2000, help="devices besides SN123456789")
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--pages", type=int, default=0, help="pages per pass, spread over the list (0: all)")
    args = parser.parse_args()

    sim = SimulatorProcess(args.operations, args.devices, args.page_size)
    up = sim.start()
    now, peak = sim.rss_mb()
    total = -(-args.operations // args.page_size)
    count = min(args.pages or total, total)
    pages = sorted({1 + round(n * (total - 1) / max(count - 1, 1)) for n in range(count)})
    print(f"simulator: {args.operations} operations on {args.devices + 1} devices, up in {up:.1f} s "
          f"(interpreter, imports, preseed); RSS {now:.0f} MB (peak {peak:.0f})")  # fmt: skip
    try:
        with httpx.Client(headers=sim.headers, timeout=60) as client:
            for name in ("first pass", "second pass"):
                timings, cpu, body = one_pass(client, sim, pages)
                print(f"{name:<12} {len(pages)} pages of {args.page_size}: "
                      f"p50 {percentile(timings, 50) * 1000:.1f} ms  p99 {percentile(timings, 99) * 1000:.1f} ms  "
                      f"max {max(timings) * 1000:.1f} ms per page (client side); "
                      f"simulator CPU {cpu / len(pages) * 1000:.1f} ms per page")  # fmt: skip
        runs = 20
        started = time.perf_counter()
        for _ in range(runs):
            json.loads(body)
        standard = (time.perf_counter() - started) / runs
        started = time.perf_counter()
        for _ in range(runs):
            orjson.loads(body)
        fast = (time.perf_counter() - started) / runs
        print(f"one page is {len(body) / 1024:.0f} KiB; decoding it takes {standard * 1000:.1f} ms with json, "
              f"{fast * 1000:.1f} ms with orjson")  # fmt: skip
        print(f"simulator RSS after the passes: {sim.rss_mb()[0]:.0f} MB (peak {sim.rss_mb()[1]:.0f})")
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
