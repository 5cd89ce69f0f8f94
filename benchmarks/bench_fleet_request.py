"""How fast is a fleet request? (Issue #15: up to 5,000 devices per request, chosen from 100,000.)

Measures, each the median of ``--runs``:
* ``parse_targets`` over a 100,000-device inventory: 5,000 pasted serials, a ``site:+tag:`` selector, a glob;
* the store (a SQLite file, and a new PostgreSQL schema with ``--database-url``): ``create_request`` with 5,000 items,
  ``get_request`` of it, ``set_request_threads`` (one UPDATE), and ``claim_item``+``complete_item`` of one item
  (what each paced creation step costs the database).

Usage: ``python -m benchmarks.bench_fleet_request [--devices 100000] [--request 5000] [--runs 5]
[--database-url postgresql://postgres@127.0.0.1:5432/test]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.fleet import fresh_database
from bot.domain.inventory import Device, Inventory
from bot.domain.requests import NewScheduleRequest
from bot.services.targets import parse_targets
from bot.store import Store

ZONES = ["America/New_York", "Europe/Madrid", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "UTC"]
SITES = ["san-jose", "new-york", "madrid", "mumbai", "sydney", "austin", "london", "tokyo"]
TAGS = ["gateway", "router", "camera", "sensor"]


def inventory(count: int) -> Inventory:
    return Inventory(
        tuple(
            Device(f"SN{n:08d}", ZONES[n % len(ZONES)], SITES[(n // 7) % len(SITES)], (TAGS[n % len(TAGS)],))
            for n in range(count)
        )
    )


def timed(work: Callable[[], Any], runs: int) -> tuple[float, Any]:
    seconds, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


async def atimed(work: Callable[[], Awaitable[Any]], runs: int) -> tuple[float, Any]:
    seconds, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = await work()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def bench_targets(devices: int, request: int, runs: int) -> None:
    fleet = inventory(devices)
    step = max(1, devices // request)
    pasted = "\n".join(f"sn{n:08d}" for n in range(0, devices, step))[: request * 11]
    cases = {
        f"{request:,} pasted serials": pasted,
        "site:san-jose+tag:gateway": "site:san-jose+tag:gateway",
        "glob SN0000*": "SN0000*",
    }
    for name, text in cases.items():
        seconds, targets = timed(lambda text=text: parse_targets(text, fleet, limit=100_000), runs)
        print(f"parse_targets {name:<28} {len(targets.serials):>6,} devices  median {seconds * 1000:7.1f} ms")


async def bench_store(url: str, label: str, request: int, runs: int) -> None:
    async with Store(url) as store:
        new = NewScheduleRequest(
            requester_id="U1",
            team_id="T1",
            device_serials=[f"SN{n:08d}" for n in range(request)],
            operation_type="firmware_update",
            scheduled_time=datetime.now(UTC) + timedelta(days=1),
            state="pending_approval",
        )
        made, record = await atimed(lambda: store.create_request(new), runs)
        read, _ = await atimed(lambda: store.get_request(record.id), runs)
        threads, _ = await atimed(lambda: store.set_request_threads(record.id, "C1", "1.2"), runs)
        items = iter(record.items)

        async def step() -> None:
            item = next(items)
            await store.claim_item(item.id, at=datetime.now(UTC))
            await store.complete_item(item.id, operation_id=f"txn_{item.id}_{time.time_ns()}", at=datetime.now(UTC))

        one, _ = await atimed(step, runs)
        print(
            f"{label:<10} create_request({request:,} items) {made * 1000:7.0f} ms · get_request {read * 1000:6.0f} ms"
            f" · set_request_threads {threads * 1000:5.0f} ms · claim+complete one item {one * 1000:5.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--request", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="PostgreSQL too (a new schema, dropped afterwards)")
    args = parser.parse_args()
    bench_targets(args.devices, args.request, args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        with fresh_database(None, Path(tmp)) as url:
            asyncio.run(bench_store(url, "SQLite", args.request, args.runs))
        if args.database_url:
            with fresh_database(args.database_url, Path(tmp)) as url:
                asyncio.run(bench_store(url, "PostgreSQL", args.request, args.runs))


if __name__ == "__main__":
    main()
