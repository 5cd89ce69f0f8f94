"""Device-local time through the real endpoint: ``tomorrow 02:00 device-local`` gives each device 02:00 on its own
clock, shown per zone in the preview and the approval message, and created so in the simulator over HTTP.

Zones without DST (half- and quarter-hour offsets, and the two sides of the date line) keep the expectations
independent of the day the suite runs; the DST rules are the unit tests' (tests/unit/test_when_local.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.fleet import fleet_harness, inventory_csv
from tests.support.flows import (
    approval_post,
    buttons,
    click_decision,
    db,
    form_view,
    modal_values,
    schedule_and_confirm,
    wait_until,
)
from tests.support.harness import APPROVER, Harness
from tests.support.slack_text import texts

ZONES = ["Asia/Kolkata", "Asia/Kathmandu", "Pacific/Kiritimati", "Pacific/Pago_Pago"]
COUNT = 8  # GW00000…GW00007, two per zone


@pytest.fixture
def h(tmp_path: Path, database_url: str) -> Iterator[Harness]:
    inventory = inventory_csv(COUNT, zones=ZONES)
    yield from fleet_harness(tmp_path, database_url, inventory, create_rate_per_minute=6000)


def tomorrow_two_am(zone: str) -> datetime:
    """02:00 tomorrow on that zone's clock, in UTC (no DST in these zones)."""
    here = ZoneInfo(zone)
    day = datetime.now(here).date() + timedelta(days=1)
    return datetime.combine(day, time(2, 0), tzinfo=here).astimezone(UTC)


def test_each_device_gets_two_am_on_its_own_clock(h: Harness) -> None:
    text = "schedule GW0000* reboot tomorrow 02:00 device-local"
    _, request = h.command(text)
    (confirmation,) = h.responses(request)
    shown = texts(confirmation)
    assert "on each device's clock, 4 zones" in shown
    for zone in ZONES:
        assert f"*{zone}* · 2 devices · " in shown
        assert f"{tomorrow_two_am(zone).astimezone(ZoneInfo(zone)):%a %d %b} 02:00 there" in shown
    kiritimati = tomorrow_two_am("Pacific/Kiritimati").astimezone(ZoneInfo("Pacific/Kiritimati"))
    pago_pago = tomorrow_two_am("Pacific/Pago_Pago").astimezone(ZoneInfo("Pacific/Pago_Pago"))
    assert kiritimati.date() > pago_pago.date()  # the same wall time, tomorrow on each side of the date line
    earliest_first = sorted(ZONES, key=tomorrow_two_am)
    assert sorted(ZONES, key=lambda zone: shown.index(f"*{zone}*")) == earliest_first

    request_id = schedule_and_confirm(h, text)
    approval = texts(approval_post(h, request_id).body)
    assert "on each device's clock, 4 different times" in approval
    click_decision(h, "Approve", APPROVER, request_id)
    wait_until(lambda: len(h.sim_state.order) == COUNT, what="8 operations")
    for op in h.sim_state.order:
        zone = ZONES[int(op.device_serial[2:]) % len(ZONES)]
        assert op.scheduled_at == tomorrow_two_am(zone).timestamp(), op.device_serial
    record = db(h.database_url, lambda s: s.get_request(request_id))  # type: ignore[attr-defined]
    assert record.scheduled_time == min(tomorrow_two_am(zone) for zone in ZONES)
    assert {item.device_serial: item.scheduled_time for item in record.items} == {
        f"GW{n:05d}": tomorrow_two_am(ZONES[n % len(ZONES)]) for n in range(COUNT)
    }


def test_spanish_phrase_and_the_modal_preview_reads_the_devices_zones(h: Harness) -> None:
    _, request = h.command("schedule zone:asia/kathmandu reboot mañana a las 2:00 hora local del equipo")
    (confirmation,) = h.responses(request)
    assert "*Asia/Kathmandu* · 2 devices" in texts(confirmation)
    assert set(buttons(confirmation)) == {"Confirm", "Cancel"}

    shown = h.runtime.deps.scheduling.preview_at("tomorrow 02:00 local", tz="UTC", serials="GW00000 GW00001")
    assert shown.ok and "2 zones" in shown.line and shown.at == tomorrow_two_am("Asia/Kathmandu")
    empty = h.runtime.deps.scheduling.preview_at("tomorrow 02:00 local", tz="UTC", serials="")
    assert not empty.ok and "fill in the devices" in empty.line

    view = form_view("Europe/Madrid")
    values = modal_values("tag:gateway", "reboot", "tomorrow 02:00 device-local")
    response = h.sender.send(h.sender.view_submission("schedule_modal", values, view=view))
    assert response.status_code == 200 and response.text in ("", "null"), response.text
    stored = wait_until(lambda: db(h.database_url, lambda s: s.list_requests()), what="the request")  # type: ignore[attr-defined]
    gateways = {f"GW{n:05d}" for n in range(0, COUNT, 3)}
    assert {item.device_serial: item.scheduled_time for item in stored[0].items} == {
        serial: tomorrow_two_am(ZONES[int(serial[2:]) % len(ZONES)]) for serial in gateways
    }


@pytest.fixture
def lax(tmp_path: Path, database_url: str) -> Iterator[Harness]:
    yield from fleet_harness(tmp_path, database_url, inventory_csv(COUNT, zones=ZONES), inventory_strict=False)


def test_devices_without_a_zone_are_refused_and_listed(lax: Harness) -> None:
    _, request = lax.command("schedule GW00001,SN999000001 reboot tomorrow 02:00 device-local")
    (answer,) = lax.responses(request)
    shown = texts(answer)
    assert "Device-local time needs each device's zone, and 1 device has none (not in the inventory): SN999000001" in (
        shown
    )
    assert "DEVICE_ZONE_DEFAULT" in shown
    assert not buttons(answer)
