"""The App Home through the real HTTP endpoint: signed ``event_callback`` (``app_home_opened``) and ``block_actions``
from the Home view, the bench checking every published view (Block Kit, 100 blocks, hash semantics).

* opening the Home tab publishes the reader's home: what they may decide (with the channel's buttons), their own
  requests, the next 24 hours, failures, the forms' buttons; from the database only (no Control API call);
* Approve on the Home behaves as on the channel, exactly once, with the same refusal words (in a DM);
* a change re-publishes the homes of recent readers only, at most once per interval per person, with the hash;
* a stale hash never overwrites a newer view; the next open (which carries Slack's hash) publishes again.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web import WebClient

from bot.domain.requests import RequestState
from bot.simulator import DOCUMENTED_SERIAL
from tests.conftest import sqlite_file_url
from tests.support.flows import buttons, click_decision, db, ops_for, schedule_and_confirm, wait_until
from tests.support.harness import APPROVER, OUTSIDER, REQUESTER, Harness, bot_harness
from tests.support.slack_text import texts

HEADERS = ("Waiting for you", "Your requests", "Next 24 hours", "Active rollouts", "Failures in the last 24 h")


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    with bot_harness(database_url=sqlite_file_url(tmp_path), bench_options={"reject_invalid_blocks": True}) as h:
        h.runtime.home.min_interval = 0.5  # the 10 s throttle, shortened
        yield h


def publishes(h: Harness, user: str) -> list[Any]:
    return [c for c in h.bench.calls_to("views.publish") if c.body.get("user_id") == user]


def open_home(h: Harness, user: str) -> Any:
    """The person opens the Home tab; the view the bot publishes for it."""
    before = len(publishes(h, user))
    h.sender.send(h.sender.app_home_opened(user_id=user))
    return wait_until(lambda: publishes(h, user)[before:], what=f"the home of {user}")[-1]


def view_text(call: Any) -> str:
    return texts(call.body["view"])


def _elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    return [*(block.get("elements") or []), *([block["accessory"]] if block.get("accessory") else [])]


def home_buttons(h: Harness, user: str) -> dict[str, dict[str, Any]]:
    """The buttons of the user's home by label: in actions blocks and as sections' accessories."""
    view = h.bench.home_views[user]
    found = buttons(view)
    found.update({e["text"]["text"]: e for b in view["blocks"] for e in _elements(b) if e.get("type") == "button"})
    return found


def home_click(h: Harness, user: str, action_id: str, value: str) -> Any:
    view = h.bench.home_views[user]
    block = next(b for b in view["blocks"] for e in _elements(b) if e.get("value") == value)
    click = h.sender.block_action(action_id, value, block_id=block["block_id"], user_id=user, view=view)
    return h.sender.send(click)


def dms(h: Harness, user: str) -> list[str]:
    return [texts(c.body) for c in h.bench.calls_to("chat.postMessage") if c.ok and c.body.get("channel") == user]


def test_opening_the_home_publishes_its_sections_from_the_database_only(h: Harness) -> None:
    request_id = schedule_and_confirm(h)
    hits = sum(h.sim_state.hits.values())
    approver = open_home(h, APPROVER)
    requester = open_home(h, REQUESTER)
    outsider = open_home(h, OUTSIDER)
    assert sum(h.sim_state.hits.values()) == hits, "rendering a home calls no Control API"
    for call in (approver, requester, outsider):
        assert call.ok, call.response
        view = call.body["view"]
        assert view["type"] == "home" and len(view["blocks"]) <= 100
        assert [s for s in HEADERS if s in view_text(call)] == list(HEADERS)
        assert "hash" not in call.body, "the first publish has no view to protect"
    assert "Waiting for you (1)" in view_text(approver) and f"`{request_id}`" in view_text(approver)
    approve = home_buttons(h, APPROVER)["Approve"]
    assert (approve["action_id"], approve["value"]) == ("approval_approve", request_id), "the channel's button"
    assert "Waiting for you (0)" in view_text(requester), "the requester may not approve their own request"
    assert "Your requests (1)" in view_text(requester) and "pending approval" in view_text(requester)
    assert "You are not an approver" in view_text(outsider)
    assert "Schedule an operation" in home_buttons(h, OUTSIDER) and "Start a rollout" in home_buttons(h, OUTSIDER)
    assert "Europe/Madrid" in view_text(approver) and "Asia/Tokyo" in view_text(outsider), "the reader's zone"


def test_approve_on_the_home_is_the_channel_approve_exactly_once(h: Harness) -> None:
    request_id = schedule_and_confirm(h)
    open_home(h, APPROVER)
    assert home_click(h, APPROVER, "approval_approve", request_id).status_code == 200
    wait_until(lambda: len(ops_for(h, DOCUMENTED_SERIAL)) == 1, what="the operation")
    record = wait_until(lambda: _done(h, request_id), what="the request handled")
    assert record.decided_by == APPROVER
    update = wait_until(lambda: [c for c in h.bench.calls_to("chat.update") if request_id in json.dumps(c.body)],
                        what="the approval message updated")  # fmt: skip
    assert "Approve" not in buttons(update[-1]), "the channel's buttons are gone"
    # Again on the (old) Home view, and on the channel message: refused, with the channel's words; nothing new.
    home_click(h, APPROVER, "approval_approve", request_id)
    wait_until(lambda: any("was already approved" in t for t in dms(h, APPROVER)), what="the refusal in a DM")
    click, _ = click_decision(h, "Approve", APPROVER, request_id)
    (answer,) = h.bench.wait_for_response(click.response_key)
    assert "was already approved" in texts(answer)
    time.sleep(0.5)
    assert len(ops_for(h, DOCUMENTED_SERIAL)) == 1, "created once"


def _done(h: Harness, request_id: str) -> Any:
    record = db(h.settings.database_url, lambda s: s.get_request(request_id))
    return record if record.state is RequestState.DONE else None


def test_a_home_click_on_a_request_it_does_not_show_is_refused(h: Harness) -> None:
    request_id = schedule_and_confirm(h)
    open_home(h, OUTSIDER)  # shows nothing to decide
    view = h.bench.home_views[OUTSIDER]
    click = h.sender.block_action("approval_approve", request_id, block_id="x", user_id=APPROVER, view=view)
    h.sender.send(click)
    wait_until(lambda: any("does not belong to this request" in t for t in dms(h, APPROVER)), what="the refusal")
    assert db(h.settings.database_url, lambda s: s.get_request(request_id)).state is RequestState.PENDING_APPROVAL


def test_reject_on_the_home_asks_for_a_reason_then_rejects(h: Harness) -> None:
    request_id = schedule_and_confirm(h)
    open_home(h, APPROVER)
    home_click(h, APPROVER, "approval_reject", request_id)
    opened = wait_until(lambda: h.bench.calls_to("views.open"), what="the reason form")[-1]
    view_id = opened.response["view"]["id"]
    values = {"reason": {"value": {"type": "plain_text_input", "value": "not tonight"}}}
    h.sender.send(h.sender.view_submission(view=view_id, state_values=values, user_id=APPROVER))
    wait_until(lambda: db(h.settings.database_url, lambda s: s.get_request(request_id)).state
               is RequestState.REJECTED, what="rejected")  # fmt: skip
    assert ops_for(h, DOCUMENTED_SERIAL) == []


def test_a_change_republishes_recent_readers_throttled_with_the_hash(h: Harness) -> None:
    open_home(h, REQUESTER)
    first = open_home(h, APPROVER)
    url = h.settings.database_url
    # OUTSIDER opened it 25 hours ago: no longer refreshed.
    db(url, lambda s: s.home_opened(OUTSIDER, at=h.runtime.clock() - timedelta(hours=25)))
    request_id = schedule_and_confirm(h)
    wait_until(lambda: [c for c in publishes(h, APPROVER)[1:] if request_id in view_text(c)],
               what="the approver's home re-published")  # fmt: skip
    chain = publishes(h, APPROVER)
    assert chain[0] is first or chain[0].body == first.body
    for previous, call in itertools.pairwise(chain):
        assert call.ok and call.body.get("hash") == previous.response["view"]["hash"], "the hash of the view replaced"
    assert publishes(h, OUTSIDER) == [], "not opened in the last 24 h"
    # A burst of changes: at most one publish per interval per person.
    before = len(publishes(h, APPROVER))
    started = time.monotonic()
    for _ in range(8):
        _changed(h)
    time.sleep(1.5)
    count = len(publishes(h, APPROVER)) - before
    elapsed = time.monotonic() - started
    assert 1 <= count <= int(elapsed / h.runtime.home.min_interval) + 1, (count, elapsed)


def _changed(h: Harness) -> None:
    """A change a home shows: a new request (its preview, a draft, is "your request")."""
    h.command(f"schedule {DOCUMENTED_SERIAL} reboot tomorrow at 3am")


def test_an_older_render_never_overwrites_a_newer_view(h: Harness) -> None:
    open_home(h, APPROVER)
    # Another replica published a newer view the bot's database does not know of yet (its hash moved on).
    other = WebClient(token=h.bench.bot_token, base_url=h.bench.api_url)
    newer = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "newer render"}}]}
    other.views_publish(user_id=APPROVER, view=newer)
    before = len(publishes(h, APPROVER))
    _changed(h)
    conflict = wait_until(lambda: publishes(h, APPROVER)[before:], what="a publish attempt")[-1]
    assert not conflict.ok and conflict.response["error"] == "hash_conflict"
    time.sleep(1.0)
    assert texts(h.bench.home_views[APPROVER]) == "\nnewer render", "the newer view stays"
    # Opening the tab carries the hash Slack shows: the bot's render replaces it.
    reopened = open_home(h, APPROVER)
    assert reopened.ok and "Waiting for you" in view_text(reopened)
    assert reopened.body["hash"] == h.bench.calls_to("views.publish")[before - 1].response["view"]["hash"]


def test_the_messages_tab_publishes_nothing(h: Harness) -> None:
    h.sender.send(h.sender.app_home_opened(user_id=APPROVER, tab="messages"))
    time.sleep(0.8)
    assert publishes(h, APPROVER) == []


def test_the_homes_schedule_button_opens_the_form(h: Harness) -> None:
    open_home(h, REQUESTER)
    home_click(h, REQUESTER, "schedule_operation", "home")
    opened = wait_until(lambda: h.bench.calls_to("views.open"), what="the form")[-1]
    assert opened.ok and opened.body["view"]["callback_id"] == "schedule_modal"


def test_the_home_benchmark_runs_and_makes_no_control_api_call() -> None:
    """``benchmarks/bench_home.py``, small: it asserts itself that the rounds made no Control API call."""
    root = Path(__file__).resolve().parents[2]
    args = ["--people", "12", "--rounds", "2", "--operations", "300", "--requests", "8"]
    result = subprocess.run([sys.executable, str(root / "benchmarks" / "bench_home.py"), *args], cwd=root,
                            capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Control API calls during the rounds: 0" in result.stdout
    assert "views.publish calls: 24" in result.stdout
