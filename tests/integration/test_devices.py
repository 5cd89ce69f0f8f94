"""``/headless devices [SELECTOR]`` and the inventory's reloads, through the real HTTP endpoint (signed commands in,
``response_url`` answers out), with the bot built as ``serve`` builds it from ``INVENTORY_FILE``."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.flows import wait_until
from tests.support.harness import Harness, bot_harness
from tests.support.slack_text import texts

SITES = ["san-jose", "mumbai", "madrid"]
ZONES = ["America/Los_Angeles", "Asia/Kolkata", "Europe/Madrid"]


def inventory_csv(count: int = 45) -> str:
    """``count`` devices: site and zone go together; every third one is a gateway; ``rack`` is a free label."""
    lines = ["serial,zone,site,tags,rack"]
    for n in range(count):
        tags = "gateway;prod" if n % 3 == 0 else "camera"
        lines.append(f"SN{n:04d},{ZONES[n % 3]},{SITES[n % 3]},{tags},r{n % 5}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def inventory_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inventory") / "devices.csv"
    path.write_text(inventory_csv())
    return path


@pytest.fixture(scope="module")
def h(inventory_path: Path) -> Iterator[Harness]:
    with bot_harness(inventory_file=str(inventory_path), inventory_reload_seconds=0.2) as harness:
        yield harness


@pytest.fixture(autouse=True)
def _clean(h: Harness) -> Iterator[None]:
    h.bench.clear()
    yield
    h.bench.assert_no_violations()


def answer(h: Harness, text: str) -> Any:
    response, request = h.command(text)
    assert response.status_code == 200
    (message,) = h.responses(request)
    return message


def shown_serials(message: Any) -> list[str]:
    return re.findall(r"`(SN\d{4})`", texts(message.body))


def test_counts_then_devices(h: Harness) -> None:
    message = answer(h, "devices")
    shown = texts(message.body)
    assert "45 of 45 in the inventory" in shown
    assert "*Sites*: madrid 15 · mumbai 15 · san-jose 15" in shown
    assert "*Tags*: camera 30 · gateway 15 · prod 15" in shown
    assert "`SN0000` · san-jose · America/Los_Angeles · gateway, prod · rack=r0" in shown
    assert shown_serials(message) == [f"SN{n:04d}" for n in range(20)]
    assert len(message["blocks"]) <= 50


def test_selector_intersection_and_union(h: Harness) -> None:
    message = answer(h, "devices site:san-jose+tag:gateway")
    assert "matching `site:san-jose+tag:gateway`*: 15 of 45" in texts(message.body)
    assert all(int(s[2:]) % 3 == 0 for s in shown_serials(message))
    message = answer(h, "devices SN000*, zone:asia/kolkata")  # a space after the comma is fine
    assert "matching `SN000*, zone:asia/kolkata`*: 22 of 45" in texts(message.body)  # 10 + 15 - 3 in both


def test_more_button_pages_through(h: Harness) -> None:
    first = answer(h, "devices tag:camera")
    more = next(b for b in first["blocks"] if b["type"] == "actions")["elements"][0]
    assert more["text"]["text"] == "More"
    click = h.sender.block_action(
        "devices_more", more["value"], block_id="devices_more", is_ephemeral=True, response_url=None
    )
    assert h.sender.send(click).status_code == 200
    (second,) = h.responses(click)
    assert second["replace_original"] is True
    assert "21–30 of 30" in texts(second.body)
    assert not set(shown_serials(first)) & set(shown_serials(second))
    assert not [b for b in second["blocks"] if b["type"] == "actions"], "no More after the last page"


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("rack:r1", "unknown selector kind `rack:`"),
        ("site:paris", "No device in the inventory matches `site:paris`"),
        ("site:mumbai+tag:nope", "matches `site:mumbai+tag:nope`. (`tag:nope` matches no device at all.)"),
    ],
)
def test_selector_refused_naming_what_was_asked(h: Harness, selector: str, expected: str) -> None:
    assert expected in texts(answer(h, f"devices {selector}").body)


def test_help_lists_devices(h: Harness) -> None:
    response, _ = h.command("help")
    assert "/headless devices [SELECTOR]" in texts(response.json())


def test_reload_and_a_bad_file_keeps_the_previous(h: Harness, inventory_path: Path) -> None:
    try:
        inventory_path.write_text(inventory_csv(50))
        wait_until(lambda: "50 of 50" in texts(answer(h, "devices").body), timeout=10)
        inventory_path.write_text(inventory_csv(50) + "SN9999,Mars/Base,lab,,\n")
        os.utime(inventory_path, ns=(10**9, 10**9))  # a change the check sees whatever the clock's resolution
        problem = f"INVENTORY_FILE {inventory_path}: line 52: zone 'Mars/Base' is not an IANA time zone"
        wait_until(lambda: h.get("/readyz").json().get("inventory", {}).get("problem") == problem, timeout=10)
        ready = h.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["inventory"] == {"file": str(inventory_path), "devices": 50, "problem": problem}
        assert h.get("/healthz").json()["inventory"]["devices"] == 50
        message = answer(h, "devices SN0049")
        assert "1 of 50" in texts(message.body)
        assert "the previous inventory is still in force" in texts(message.body)
    finally:
        inventory_path.write_text(inventory_csv())
        wait_until(lambda: h.get("/readyz").json()["inventory"] == {
            "file": str(inventory_path), "devices": 45, "problem": None,
        }, timeout=10)  # fmt: skip
