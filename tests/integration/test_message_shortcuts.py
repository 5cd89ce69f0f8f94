"""Message shortcuts through the real HTTP endpoint (signed ``message_action`` payloads, as in Slack's samples):
"Schedule for serials in this message" opens the schedule form prefilled with the message's serials and the devices
of its ``txn_…`` operations (as the notifier recorded them: no Control API call before the form opens, within the
trigger's 3 s), or the empty form with a note; "Watch this operation" follows the message's operation there."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.simulator import DOCUMENTED_SERIAL
from tests.conftest import sqlite_file_url
from tests.support.flows import click_decision, db, ops_for, schedule_and_confirm, wait_until
from tests.support.harness import APPROVER, Harness, bot_harness
from tests.support.slack_text import texts


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    with bot_harness(database_url=sqlite_file_url(tmp_path), bench_options={"reject_invalid_blocks": True}) as h:
        yield h


def rich_message(text: str, blocks_text: str) -> dict[str, Any]:
    """A person's message: its ``text`` and, as Slack sends it, rich text blocks (here with other words)."""
    return {
        "type": "message", "user": "W222", "ts": "1700000000.000300", "text": text,
        "blocks": [{"type": "rich_text", "block_id": "r1", "elements": [{"type": "rich_text_section", "elements": [
            {"type": "text", "text": blocks_text}, {"type": "user", "user_id": "U0123ABCD"},
        ]}]}],
    }  # fmt: skip


def serials_field(view: dict[str, Any]) -> str:
    block = next(b for b in view["blocks"] if b.get("block_id") == "serials")
    return str(block["element"].get("initial_value", ""))


def note(view: dict[str, Any]) -> str:
    block = next((b for b in view["blocks"] if b.get("block_id") == "form_note"), None)
    return texts({"blocks": [block]}) if block else ""


def test_schedule_for_serials_in_a_message_prefills_the_form(h: Harness) -> None:
    request_id = schedule_and_confirm(h)
    click_decision(h, "Approve", APPROVER, request_id)
    (operation,) = wait_until(lambda: ops_for(h, DOCUMENTED_SERIAL), what="the operation")
    hits = sum(h.sim_state.hits.values())
    message = rich_message(
        f"{operation.id} failed; please retry it, and GW-0042-X too at 10:30 (v1.10).",
        "also sn00000777 — not 2am, not txn_unknown9 either",
    )
    shortcut = h.sender.message_shortcut("schedule_from_message", message=message, message_ts=message["ts"])
    started = time.monotonic()
    assert h.sender.send(shortcut).status_code == 200
    (opened,) = wait_until(lambda: h.bench.calls_to("views.open"), what="the form")
    assert opened.ok, opened.response
    assert time.monotonic() - started < 3.0
    view = opened.body["view"]
    assert serials_field(view).split("\n") == ["GW-0042-X", "sn00000777", DOCUMENTED_SERIAL]
    assert "3 devices found" in note(view) and "`txn_unknown9`" in note(view)
    assert sum(h.sim_state.hits.values()) == hits, "no Control API call to open the form"


def test_a_message_without_serials_opens_the_empty_form_with_a_note(h: Harness) -> None:
    message = rich_message("can someone look at the gateways tomorrow?", "thanks")
    h.sender.send(h.sender.message_shortcut("schedule_from_message", message=message))
    (opened,) = wait_until(lambda: h.bench.calls_to("views.open"), what="the form")
    assert opened.ok and serials_field(opened.body["view"]) == ""
    assert "No device serials" in note(opened.body["view"])


def test_watch_this_operation_follows_it_in_that_channel(h: Harness) -> None:
    operation = h.sim_state.create_operation(DOCUMENTED_SERIAL, "reboot", datetime.now(UTC) + timedelta(hours=2))
    message = rich_message(f"heads up: {operation.id} is the big one", "")
    shortcut = h.sender.message_shortcut("watch_operation", message=message, channel_id="C0NOTIFY")
    h.sender.send(shortcut)
    (answer,) = h.bench.wait_for_response(shortcut.response_key)
    assert f"now follows `{operation.id}`" in texts(answer)
    watches = db(h.settings.database_url, lambda s: s.watches_for([operation.id]))
    assert [(w.operation_id, w.channel_id) for w in watches] == [(operation.id, "C0NOTIFY")]


def test_watch_on_a_message_without_an_operation_says_so(h: Harness) -> None:
    shortcut = h.sender.message_shortcut("watch_operation", message=rich_message("no ids here", ""))
    h.sender.send(shortcut)
    (answer,) = h.bench.wait_for_response(shortcut.response_key)
    assert "holds no operation id" in texts(answer)
