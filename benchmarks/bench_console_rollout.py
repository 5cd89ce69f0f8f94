"""A 2,000-device rollout in the console, at an accelerated clock: how long in wall time, and how it ended.

Writes an inventory of N devices (6 zones, 3 sites) and runs ``headless-bot console`` with it: its built-in
simulator knows every device; about 10 % of operations fail and some devices drift offline (their operations
expire), as in the first console session. The script: the rollout with the default waves (1, 10, 50, 100 %),
``soak=0``, ``rate=60000/min`` (the clock is accelerated), ``ROLLOUT_LEAD_SECONDS=1200`` and a failure threshold
that lets it run to the end, then ``/advance 5m`` + ``/wait 3`` until the rollout is final. Prints the wall time and
the final line of ``/headless rollouts`` (state, waves, devices that received the operation, failures).

Usage: ``python -m benchmarks.bench_console_rollout [--devices 2000] [--runs 3] [--steps 28]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ZONES = ["America/Los_Angeles", "Europe/Madrid", "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Kiritimati", "UTC"]
EXE = str(Path(sys.executable).with_name("headless-bot"))


def inventory(path: Path, count: int) -> None:
    lines = ["serial,zone,site,tags"]
    lines += [f"FL{n:05d},{ZONES[n % len(ZONES)]},site{n % 3},gateway" for n in range(count)]
    path.write_text("\n".join(lines) + "\n")


def script(steps: int) -> str:
    lines = [
        "/headless rollout reboot FL* in 10 minutes soak=0 rate=60000/min failure_threshold=100%",
        "/press Confirm",
        "/wait 3",
    ]
    for _ in range(steps):
        lines += ["/advance 5m", "/wait 3"]
    lines += ["/headless rollouts"]
    return "\n".join(lines) + "\n"


def run(count: int, steps: int) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fleet.csv"
        inventory(path, count)
        # The clock jumps 5 minutes at a time: a wave is scheduled 20 minutes after it starts, so no jump passes its
        # time while its creation (about 15 ms a device on SQLite) goes on.
        env = {**os.environ, "INVENTORY_FILE": str(path), "ROLLOUT_LEAD_SECONDS": "1200"}
        start = time.perf_counter()
        out = subprocess.run(
            [EXE, "console", "--database", str(Path(tmp) / "console.sqlite3")], input=script(steps), env=env,
            capture_output=True, text=True, timeout=600, cwd=tmp, check=True,
        ).stdout  # fmt: skip
        seconds = time.perf_counter() - start
    line = next((ln.strip() for ln in reversed(out.splitlines()) if "devices ·" in ln), "(no rollout line)")
    return seconds, line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=28, help="/advance 5m steps after the approval")
    args = parser.parse_args()
    walls = []
    for n in range(args.runs):
        seconds, line = run(args.devices, args.steps)
        walls.append(seconds)
        print(f"run {n + 1}: {seconds:6.1f} s wall · {line}")
    print(f"median wall time: {statistics.median(walls):.1f} s for {args.devices:,} devices")


if __name__ == "__main__":
    main()
