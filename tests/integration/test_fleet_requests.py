"""Fleet requests through the real HTTP endpoint: selectors in the quick form and the modal, serials the inventory
lacks, ``MAX_DEVICES_PER_REQUEST``, and creation paced at ``CREATE_RATE_PER_MINUTE`` with its progress shown on
the approval message. The bot is built as ``serve`` builds it from ``INVENTORY_FILE``; the simulator knows the
inventory's devices, so the operations are really created over HTTP."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.domain.requests import ItemState, RequestState
from tests.support.fleet import COUNT, fleet_harness, inventory_csv
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
from tests.support.harness import APPROVAL_CHANNEL, APPROVER, Harness
from tests.support.slack_text import texts


@pytest.fixture
def h(tmp_path: Path, database_url: str) -> Iterator[Harness]:
    # 600 a minute: a tenth of a second between POSTs, so pacing shows without slowing the suite down.
    yield from fleet_harness(
        tmp_path, database_url, inventory_csv(), create_rate_per_minute=600, max_devices_per_request=40
    )


def created_serials(h: Harness) -> list[str]:
    return [op.device_serial for op in h.sim_state.order]


def test_a_selector_schedules_every_matching_device_once(h: Harness) -> None:
    _, request = h.command("schedule site:san-jose+tag:gateway,GW00001 reboot tomorrow at 2am")
    (confirmation,) = h.responses(request)
    shown = texts(confirmation)
    assert "*Devices* 16 matched: `GW00000`, `GW00003`" in shown
    assert "and" not in shown.split("matched:")[1].split("\n")[0]  # 16 fit: all of them are named
    request_id = schedule_and_confirm(h, "schedule site:san-jose+tag:gateway,GW00001 reboot tomorrow at 2am")
    record = db(h.database_url, lambda s: s.get_request(request_id))  # type: ignore[attr-defined]
    expected = [f"GW{n:05d}" for n in range(0, COUNT, 3)] + ["GW00001"]
    assert record.device_serials == expected
    approval = texts(approval_post(h, request_id).body)
    assert "*Devices* 16:" in approval
    click_decision(h, "Approve", APPROVER, request_id)
    wait_until(lambda: len(created_serials(h)) == 16, timeout=20, what="16 operations")
    assert created_serials(h) == expected  # each once, in the order of the request


def test_serials_the_inventory_lacks_are_refused_before_approval(h: Harness) -> None:
    _, request = h.command("schedule GW00001,SN999000001,sn999000002 reboot tomorrow at 2am")
    (answer,) = h.responses(request)
    shown = texts(answer)
    assert "2 serials are not in the inventory: SN999000001, sn999000002." in shown
    assert not buttons(answer)
    assert db(h.database_url, lambda s: s.list_requests()) == []  # type: ignore[attr-defined]


def test_the_modal_takes_selectors_and_refuses_too_many_devices_inline(h: Harness) -> None:
    view = form_view("America/Los_Angeles")
    values = modal_values("GW0000*, GW0001*, GW0002*, GW0003*, GW0004*", "reboot", "tomorrow 2am")
    body = h.sender.send(h.sender.view_submission("schedule_modal", values, view=view)).json()
    assert body["response_action"] == "errors"
    assert "45 devices is more than 40 in one request (MAX_DEVICES_PER_REQUEST)" in body["errors"]["serials"]
    values = modal_values("zone:asia/kolkata", "reboot", "tomorrow 2am")
    response = h.sender.send(h.sender.view_submission("schedule_modal", values, view=view))
    assert response.status_code == 200 and response.text in ("", "null"), response.text
    stored = wait_until(lambda: db(h.database_url, lambda s: s.list_requests()), what="the request")  # type: ignore[attr-defined]
    request = stored[0]
    assert request.device_serials == [f"GW{n:05d}" for n in range(1, COUNT, 3)]


def test_creation_is_paced_and_its_progress_shows_on_the_approval_message(h: Harness) -> None:
    h.runtime.deps.scheduling.progress_seconds = 0.3
    request_id = schedule_and_confirm(h, "schedule GW0000*,GW0001*,GW0002* reboot tomorrow at 2am")
    click_decision(h, "Approve", APPROVER, request_id)
    wait_until(lambda: len(created_serials(h)) == 30, timeout=30, what="30 operations")
    created = sorted(op.created_at for op in h.sim_state.order)
    gaps = sorted(b - a for a, b in itertools.pairwise(created))  # epoch seconds
    assert gaps[len(gaps) // 2] >= 0.09  # a tenth of a second apart at 600 a minute (a slow machine only adds)
    post_ts = approval_post(h, request_id).response["ts"]

    def progress() -> list[int]:
        shown = [texts(c.body) for c in h.bench.calls_to("chat.update") if c.body.get("ts") == post_ts]
        return [int(m.group(1)) for text in shown for m in [re.search(r"(\d+)/30 created", text)] if m]

    counts = wait_until(lambda: (found := progress()) and found[-1] == 30 and found, what="the final count")
    assert any(0 < count < 30 for count in counts), counts  # shown while it was going on
    assert counts == sorted(counts)
    record = db(h.database_url, lambda s: s.get_request(request_id))  # type: ignore[attr-defined]
    assert record.state is RequestState.DONE
    assert all(item.state is ItemState.CREATED for item in record.items)
    assert {item.thread_channel_id for item in record.items} == {APPROVAL_CHANNEL}


@pytest.fixture
def lax(tmp_path: Path, database_url: str) -> Iterator[Harness]:
    yield from fleet_harness(tmp_path, database_url, inventory_csv(), inventory_strict=False, create_rate_per_minute=2)


def test_not_strict_warns_and_a_slow_rate_asks_for_more_lead(lax: Harness) -> None:
    _, request = lax.command("schedule GW00001,SN999000001 reboot tomorrow at 2am")
    (answer,) = lax.responses(request)
    shown = texts(answer)
    assert "1 serial is not in the inventory: SN999000001. They are sent as typed" in shown
    assert set(buttons(answer)) == {"Confirm", "Cancel"}
    _, request = lax.command("schedule tag:camera reboot in 10 minutes")
    (answer,) = lax.responses(request)
    shown = texts(answer)
    assert "Creating 30 operations at 2 a minute takes about" in shown
    assert not buttons(answer)
