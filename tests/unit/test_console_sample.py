"""The console's sample inventory: generated, packaged, readable, and known to the built-in simulator."""

from __future__ import annotations

import fnmatch
import tomllib

from bot.console.samples import SAMPLE_INVENTORY, console_inventory, inventory_devices, sample_inventory_csv
from bot.services.inventory import read_inventory
from bot.simulator import DOCUMENTED_SERIAL, SimulatorConfig, SimulatorState
from tests.support.paths import ROOT

ZONES = {
    "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Kiritimati", "Pacific/Pago_Pago",
    "America/New_York", "Europe/Madrid",
}  # fmt: skip


def test_the_packaged_file_is_what_the_generator_writes() -> None:
    assert SAMPLE_INVENTORY.read_text(encoding="utf-8") == sample_inventory_csv(), "run python -m bot.console.samples"


def test_it_ships_in_the_wheel() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["bot"]
    inside = SAMPLE_INVENTORY.relative_to(ROOT / "bot").as_posix()
    assert any(fnmatch.fnmatch(inside, pattern) for pattern in patterns), patterns


def test_a_few_hundred_devices_over_three_sites_and_the_interesting_zones() -> None:
    selection = read_inventory(SAMPLE_INVENTORY).everything()
    assert 200 <= len(selection.devices) <= 500
    assert {site for site, _ in selection.by_site} == {"san-jose", "madrid", "singapore"}
    zones = {zone for zone, _ in selection.by_zone}
    assert ZONES <= zones and len(zones) >= 6
    assert {"gateway", "router", "sensor"} <= {tag for tag, _ in selection.by_tag}
    assert DOCUMENTED_SERIAL in {device.serial for device in selection.devices}


def test_inventory_file_in_the_environment_wins() -> None:
    assert console_inventory({}) == (str(SAMPLE_INVENTORY), True)
    assert console_inventory({"INVENTORY_FILE": " "}) == (str(SAMPLE_INVENTORY), True)
    assert console_inventory({"INVENTORY_FILE": "/srv/fleet.csv"}) == ("/srv/fleet.csv", False)
    assert inventory_devices("/nonexistent/fleet.csv") == {}


def test_the_simulator_knows_the_inventorys_devices_and_keeps_its_own() -> None:
    known = inventory_devices(str(SAMPLE_INVENTORY))
    plain = SimulatorState(SimulatorConfig(token="t"))
    seeded = SimulatorState(SimulatorConfig(token="t", known_devices=known))
    assert set(known) <= set(seeded.devices)
    assert seeded.devices["SN303000001"].timezone == "Australia/Lord_Howe"
    for serial, device in plain.devices.items():  # the drawn fleet is the same with or without the inventory's
        assert seeded.devices[serial].firmware_version == device.firmware_version
    assert len(seeded.devices) == len(plain.devices) + len(known) - 1  # SN123456789 is in both
