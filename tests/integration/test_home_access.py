"""The App Home and the message shortcuts under access rules (#17), through the real endpoint: the Home is a place
with no channel (``dm``); it lists only what the reader may decide there and shows only the buttons they may use;
a crafted Home click on what they may not decide is refused with the access words (in a DM), and nothing changes;
a message shortcut is checked in the message's channel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.domain.requests import RequestState
from bot.simulator import DOCUMENTED_SERIAL
from tests.conftest import sqlite_file_url
from tests.integration.test_home import dms, home_buttons, open_home, view_text
from tests.support.flows import db, schedule_and_confirm, wait_until
from tests.support.harness import APPROVER, GROUP_APPROVER, OUTSIDER, REQUESTER, Harness, bot_harness
from tests.support.slack_text import texts

RULES = (
    f"allow schedule:*,list,status,watch,refresh to {REQUESTER}; allow approve:reboot to {APPROVER}; "
    f"allow approve:*,rollout.* to S0APPROVERS; allow list,status to *; deny * to {OUTSIDER}"
)


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    with bot_harness(database_url=sqlite_file_url(tmp_path), access_rules=RULES, notifier_enabled=False,
                     bench_options={"reject_invalid_blocks": True}) as h:  # fmt: skip
        h.runtime.home.min_interval = 0.3
        yield h


def state(h: Harness, request_id: str) -> RequestState:
    return db(h.settings.database_url, lambda s: s.get_request(request_id)).state


def test_the_home_lists_only_what_the_reader_may_decide_and_refuses_a_crafted_click(h: Harness) -> None:
    reboot = schedule_and_confirm(h, f"schedule {DOCUMENTED_SERIAL} reboot tomorrow at 2am")
    firmware = schedule_and_confirm(h, f"schedule {DOCUMENTED_SERIAL} firmware_update tomorrow at 3am version=1.2")
    approver = view_text(open_home(h, APPROVER))
    assert "Waiting for you (1)" in approver and f"`{reboot}`" in approver and f"`{firmware}`" not in approver
    group = view_text(open_home(h, GROUP_APPROVER))
    assert "Waiting for you (2)" in group and f"`{firmware}`" in group
    # APPROVER crafts a Home click on the firmware request (a view that shows it): the access rules refuse it.
    view = h.bench.home_views[GROUP_APPROVER]
    click = h.sender.block_action("approval_approve", firmware, block_id="x", user_id=APPROVER, view=view)
    assert h.sender.send(click).status_code == 200
    wait_until(lambda: any("You may not approve `firmware_update`" in t for t in dms(h, APPROVER)), what="refusal")
    assert state(h, firmware) is RequestState.PENDING_APPROVAL
    # What they may decide works from the Home.
    view = h.bench.home_views[APPROVER]
    h.sender.send(h.sender.block_action("approval_approve", reboot, block_id="x", user_id=APPROVER, view=view))
    wait_until(lambda: state(h, reboot) is not RequestState.PENDING_APPROVAL, what="approved")


def test_the_home_shows_only_the_buttons_the_reader_may_use(h: Harness) -> None:
    open_home(h, REQUESTER)
    assert "Schedule an operation" in home_buttons(h, REQUESTER)
    assert "Start a rollout" not in home_buttons(h, REQUESTER), "no rollout rule for them"
    open_home(h, OUTSIDER)
    assert home_buttons(h, OUTSIDER) == {}


def test_a_message_shortcut_is_checked_in_the_messages_channel(h: Harness) -> None:
    message = {"type": "message", "user": "W222", "ts": "1700000000.000900", "text": "see txn_10000"}
    shortcut = h.sender.message_shortcut("watch_operation", message=message, user_id=OUTSIDER)
    h.sender.send(shortcut)
    (answer,) = h.bench.wait_for_response(shortcut.response_key)
    assert "You may not watch" in texts(answer)
    assert db(h.settings.database_url, lambda s: s.watches_for(None)) == []
    form = h.sender.message_shortcut("schedule_from_message", message=message, user_id=OUTSIDER)
    h.sender.send(form)
    (answer,) = h.bench.wait_for_response(form.response_key)
    assert "You may not schedule" in texts(answer)
    assert h.bench.calls_to("views.open") == []
