"""How fast and how lean is loading ``INVENTORY_FILE``? (Issue #15: 100,000 devices in < 2 s and < 100 MB.)

Writes a CSV of N devices (12 zones, 8 sites, a few tags each, one free label), then, in a fresh process per run
(the modules already imported before measuring), times ``read_inventory`` and the resident-memory growth it causes,
and the time of a few selectors over the result. Prints the median of the runs.

Usage: ``python benchmarks/bench_inventory.py [--devices 100000] [--runs 3]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ZONES = [
    "America/New_York", "America/Chicago", "America/Los_Angeles", "America/Costa_Rica", "Europe/Madrid",
    "Europe/London", "Asia/Kolkata", "Asia/Kathmandu", "Asia/Tokyo", "Australia/Lord_Howe", "Pacific/Kiritimati",
    "UTC",
]  # fmt: skip
SITES = ["san-jose", "new-york", "madrid", "london", "tokyo", "mumbai", "sydney", "austin"]
TAGS = ["gateway", "router", "camera", "sensor", "edge", "lab", "prod", "beta"]
SELECTORS = ["site:san-jose+tag:gateway", "SN0001*", "zone:Asia/Kolkata,tag:lab", "SN00050000"]

CHILD = r"""
import json, os, sys, time
from bot.services.inventory import read_inventory

def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

before = rss()
start = time.perf_counter()
inventory = read_inventory(sys.argv[1])
seconds = time.perf_counter() - start
grown = rss() - before
selects = {}
for selector in json.loads(sys.argv[2]):
    t = time.perf_counter()
    n = len(inventory.select(selector).devices)
    selects[selector] = [n, time.perf_counter() - t]
print(json.dumps({"devices": len(inventory), "seconds": seconds, "rss": grown, "selects": selects}))
"""


def write_csv(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("serial,zone,site,tags,rack\n")
        for n in range(count):
            tags = ";".join(TAGS[(n + k) % len(TAGS)] for k in range(n % 3 + 1))
            out.write(f"SN{n:08d},{ZONES[n % len(ZONES)]},{SITES[(n // 7) % len(SITES)]},{tags},r{n % 40}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "inventory.csv"
        write_csv(path, args.devices)
        size = path.stat().st_size
        results = []
        for _ in range(args.runs):
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(path), json.dumps(SELECTORS)],
                cwd=ROOT, capture_output=True, text=True, check=True,
            )  # fmt: skip
            results.append(json.loads(done.stdout))
    seconds = statistics.median(r["seconds"] for r in results)
    rss = statistics.median(r["rss"] for r in results)
    print(f"inventory: {results[0]['devices']:,} devices, CSV {size / 1e6:.1f} MB, median of {args.runs} runs")
    print(f"  load: {seconds:.3f} s   RSS growth: {rss / 1e6:.1f} MB   (limits: 2 s, 100 MB)")
    for selector in SELECTORS:
        matched = results[0]["selects"][selector][0]
        took = statistics.median(r["selects"][selector][1] for r in results)
        print(f"  select {selector!r}: {matched:,} devices in {took * 1000:.1f} ms")


if __name__ == "__main__":
    main()
