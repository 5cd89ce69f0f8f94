"""A bot with a device inventory whose devices the simulator knows, for fleet requests through the real endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.simulator.records import SimDevice
from tests.support.harness import Harness, bot_harness

SITES = ["san-jose", "mumbai", "madrid"]
ZONES = ["America/Los_Angeles", "Asia/Kolkata", "Europe/Madrid"]
COUNT = 45


def inventory_csv(count: int = COUNT, zones: list[str] = ZONES, sites: list[str] = SITES) -> str:
    """``count`` devices GW00000…: site and zone go with ``n % len(zones)``; every third one is a gateway."""
    lines = ["serial,zone,site,tags"]
    for n in range(count):
        tags = "gateway" if n % 3 == 0 else "camera"
        lines.append(f"GW{n:05d},{zones[n % len(zones)]},{sites[n % len(sites)]},{tags}")
    return "\n".join(lines) + "\n"


def fleet_harness(tmp: Path, database_url: str, inventory: str, **settings: Any) -> Iterator[Harness]:
    """The bot built from ``INVENTORY_FILE`` = ``inventory``; the simulator knows every serial in it."""
    path = tmp / "devices.csv"
    path.write_text(inventory)
    with bot_harness(database_url=database_url, inventory_file=str(path), **settings) as h:
        for line in inventory.splitlines()[1:]:
            serial = line.split(",")[0]
            h.sim_state.devices[serial] = SimDevice(serial, "1.0.0", None, 0.0, always_online=True)
        h.database_url = database_url  # type: ignore[attr-defined]
        yield h
        h.bench.assert_no_violations()
