"""Scheduling with four-eyes approval, through the real HTTP endpoint, on SQLite and PostgreSQL.

The bot runs as ``serve`` builds it; Slack is the bench, the Control API the simulator. Every "exactly once"
claim is checked by counting what reached the simulator.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.domain.requests import ItemState, NewScheduleRequest, RequestState, ScheduleRecord
from bot.simulator import DOCUMENTED_SERIAL
from bot.store import Store
from tests.support.flows import (
    approval_post,
    buttons,
    click_decision,
    db,
    form_view,
    modal_values,
    ops_for,
    schedule_and_confirm,
    wait_until,
)
from tests.support.harness import (
    APPROVAL_CHANNEL,
    APPROVER,
    GROUP_APPROVER,
    OUTSIDER,
    REQUESTER,
    Harness,
    OffsetClock,
    bot_harness,
)
from tests.support.slack_text import texts


@pytest.fixture
def harness(database_url: str) -> Iterator[Harness]:
    clock = OffsetClock()
    with bot_harness(database_url=database_url, clock=clock, maintenance_interval=0.3) as h:
        h.clock = clock  # type: ignore[attr-defined]
        h.database_url = database_url  # type: ignore[attr-defined]
        yield h
        h.bench.assert_no_violations()


# --------------------------------------------------------------------------------------------------- the modal


def test_modal_opens_in_the_persons_zone_and_previews(harness: Harness) -> None:
    h = harness
    response, _ = h.command("schedule")
    assert response.status_code == 200
    (opened,) = h.bench.wait_for("views.open")
    view = opened.body["view"]
    assert view["callback_id"] == "schedule_modal"
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert {"serials", "operation_type", "when", "parameters", "notify_channel"} <= set(blocks)
    assert blocks["when"]["dispatch_action"] is True
    options = [o["value"] for o in blocks["operation_type"]["element"]["options"]]
    assert options == h.settings.operation_types
    # The person was looked up before the ack (their language), so the form opens in their zone at once.
    assert "America/Los_Angeles" in str(view["blocks"])

    view_id = opened.response["view"]["id"]
    typed = {"when": {"when_input": {"type": "plain_text_input", "value": "tomorrow 2am"}}}
    h.sender.send(h.sender.block_action("when_input", None, block_id="when", action_type="plain_text_input",
                                        view=view_id, state_values=typed))  # fmt: skip
    preview = h.bench.wait_for("views.update")[-1]
    preview_text = str(preview.body["view"]["blocks"])
    assert "02:00 PST" in preview_text or "02:00 PDT" in preview_text
    assert "UTC" in preview_text


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        (modal_values("SN 123!", "reboot", "tomorrow 2am"), "serials", "device serial"),
        (modal_values(DOCUMENTED_SERIAL, "reboot", "yesterday at 3pm"), "when", "past"),
        (modal_values(DOCUMENTED_SERIAL, "reboot", "tomorrow at 2"), "when", "2"),
        (modal_values(DOCUMENTED_SERIAL, "reboot", "gibberish words"), "when", "tomorrow"),
        (modal_values(DOCUMENTED_SERIAL, "reboot", "tomorrow 2am", '{"a": '), "parameters", "JSON"),
        (modal_values(DOCUMENTED_SERIAL, "reboot", "tomorrow 2am", "no equals sign"), "parameters", "key=value"),
        (
            modal_values(",".join(f"SN{i:09d}" for i in range(5001)), "reboot", "tomorrow 2am"),
            "serials",
            "more than 5,000",
        ),
    ],
    ids=["serial", "past", "ambiguous", "gibberish", "bad-json", "bad-pairs", "too-many"],
)
def test_modal_errors_are_inline_on_the_right_field(
    harness: Harness, values: dict[str, Any], field: str, words: str
) -> None:
    view = form_view("America/Los_Angeles")
    submission = harness.sender.view_submission("schedule_modal", values, view=view)
    response = harness.sender.send(submission)
    assert response.status_code == 200
    body = response.json()
    assert body["response_action"] == "errors"
    assert field in body["errors"], body
    assert words in body["errors"][field]


def test_modal_blocked_outside_window() -> None:
    with bot_harness(maintenance_windows="Sat,Sun 02:00-06:00 UTC", window_policy="block") as h:
        values = modal_values(DOCUMENTED_SERIAL, "reboot", "next wednesday 12:00 UTC")
        view = form_view("UTC")
        body = h.sender.send(h.sender.view_submission("schedule_modal", values, view=view)).json()
        assert "maintenance window" in body["errors"]["when"]


def test_modal_submit_posts_for_approval(harness: Harness) -> None:
    h = harness
    serials = f"{DOCUMENTED_SERIAL}\n{sorted(h.sim_state.devices)[1]}"
    values = modal_values(serials, "firmware_update", "tomorrow 3am", "version=2.1\nrestart_required=true")
    view = form_view("Europe/Madrid")
    response = h.sender.send(h.sender.view_submission("schedule_modal", values, view=view))
    assert response.status_code == 200 and response.text in ("", "null")
    wait_until(lambda: [c for c in h.bench.calls_to("chat.postMessage") if c.body["channel"] == APPROVAL_CHANNEL])
    shown = texts(approval_post(h).body)
    assert DOCUMENTED_SERIAL in shown and "firmware_update" in shown
    assert '`version="2.1"`' in shown or "`version=2.1`" in shown
    assert "Approve" in str(approval_post(h).body["blocks"])


# --------------------------------------------------------------------------------------------- the quick form


def test_quick_form_confirm_goes_to_approval_and_cancel_cancels(harness: Harness) -> None:
    h = harness
    _, request = h.command(f"schedule {DOCUMENTED_SERIAL} reboot tomorrow at 2am restart=true")
    (confirmation,) = h.responses(request)
    shown = texts(confirmation)
    assert DOCUMENTED_SERIAL in shown and "reboot" in shown and "UTC" in shown and "`restart=true`" in shown
    assert set(buttons(confirmation)) == {"Confirm", "Cancel"}
    request_id = schedule_and_confirm(h)
    dms = wait_until(lambda: [c for c in h.bench.calls_to("chat.postMessage") if c.body["channel"] == REQUESTER])
    assert f"<#{APPROVAL_CHANNEL}>" in texts(dms[0].body)
    record = db(h.database_url, lambda s: s.get_request(request_id))  # type: ignore[attr-defined]
    assert record.state is RequestState.PENDING_APPROVAL

    _, second = h.command(f"schedule {DOCUMENTED_SERIAL} diagnostics in 3 hours")
    (confirmation,) = h.responses(second)
    cancel = buttons(confirmation)["Cancel"]
    click = h.sender.block_action("schedule_cancel", cancel["value"], block_id="confirm_actions",
                                  is_ephemeral=True, response_url=second.response_url)  # fmt: skip
    h.sender.send(click)
    answers = h.responses(second, count=2)
    assert "Cancelled" in texts(answers[-1])
    record = db(h.database_url, lambda s: s.get_request(cancel["value"]))  # type: ignore[attr-defined]
    assert record.state is RequestState.CANCELLED
    assert ops_for(h, DOCUMENTED_SERIAL) == []


def test_quick_form_errors_say_what_to_type(harness: Harness) -> None:
    _, request = harness.command("schedule SN123456789 rebot tomorrow")
    (answer,) = harness.responses(request)
    shown = texts(answer)
    assert "Did you mean reboot?" in shown
    assert "When" in shown


# -------------------------------------------------------------------------------------------------- approval


def test_approver_approves_once_and_everyone_hears(harness: Harness) -> None:
    h = harness
    request_id = schedule_and_confirm(h)
    _, response = click_decision(h, "Approve", APPROVER, request_id)
    assert response.status_code == 200
    created = wait_until(lambda: ops_for(h, DOCUMENTED_SERIAL), what="the operation")
    assert len(created) == 1
    txn = created[0].id
    update = wait_until(lambda: [c for c in h.bench.calls_to("chat.update") if txn in texts(c.body)], what="update")
    shown = texts(update[-1].body)
    assert f"<@{APPROVER}>" in shown and "Approved" in shown
    assert not [b for b in update[-1].body["blocks"] if b["type"] == "actions"], "buttons must be gone"
    dms = wait_until(lambda: [c for c in h.bench.calls_to("chat.postMessage")
                              if c.body["channel"] == REQUESTER and txn in texts(c.body)])  # fmt: skip
    assert dms
    record = db(h.database_url, lambda s: s.get_request(request_id))  # type: ignore[attr-defined]
    assert record.state is RequestState.DONE
    assert record.items[0].operation_id == txn
    item = record.items[0]
    assert (item.thread_channel_id, item.thread_ts) == (APPROVAL_CHANNEL, approval_post(h).response["ts"])
    audit = db(h.database_url, lambda s: s.recent_audit(DOCUMENTED_SERIAL))  # type: ignore[attr-defined]
    actions = [(a.actor_id, a.action, a.outcome) for a in audit]
    assert (APPROVER, "approve", "approved") in actions
    assert ("bot", "create", "created") in actions


def test_group_member_may_approve(harness: Harness) -> None:
    h = harness
    request_id = schedule_and_confirm(h)
    click_decision(h, "Approve", GROUP_APPROVER, request_id)
    wait_until(lambda: ops_for(h, DOCUMENTED_SERIAL), what="the operation")


@pytest.mark.parametrize("who", [REQUESTER, OUTSIDER])
def test_requester_and_outsider_are_refused_politely(harness: Harness, who: str) -> None:
    h = harness
    request_id = schedule_and_confirm(h)
    click, _ = click_decision(h, "Approve", who, request_id)
    (answer,) = h.responses(click)
    shown = texts(answer.body)
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert "four-eyes" in shown if who == REQUESTER else "approvers" in shown
    time.sleep(0.5)
    assert ops_for(h, DOCUMENTED_SERIAL) == []
    audit = db(h.database_url, lambda s: s.recent_audit(DOCUMENTED_SERIAL))  # type: ignore[attr-defined]
    assert any(a.actor_id == who and a.action == "approve_refused" for a in audit)
    record = db(h.database_url, lambda s: s.get_request(request_id))  # type: ignore[attr-defined]
    assert record.state is RequestState.PENDING_APPROVAL, "a refused click changes nothing"


def test_twenty_concurrent_approvals_create_one_operation(harness: Harness) -> None:
    h = harness
    request_id = schedule_and_confirm(h)
    post = approval_post(h)
    clicks = [
        h.sender.block_action("approval_approve", request_id, block_id="approval_actions", user_id=APPROVER,
                              channel_id=APPROVAL_CHANNEL, message_ts=post.response["ts"])
        for _ in range(20)
    ]  # fmt: skip
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda c: h.sender.send(c).status_code, clicks))
    assert statuses == [200] * 20
    wait_until(lambda: ops_for(h, DOCUMENTED_SERIAL), what="the operation")

    def refused() -> list[Any]:
        return [r for c in clicks for r in h.bench.responses_for(c.response_key)]

    wait_until(lambda: len(refused()) >= 19, what="the 19 refusals")  # answered in the background
    time.sleep(0.5)  # and nothing more arrives
    assert len(ops_for(h, DOCUMENTED_SERIAL)) == 1
    refusals = refused()
    assert len(refusals) == 19, [texts(r.body) for r in refusals]
    assert all("already approved" in texts(r.body) for r in refusals), [texts(r.body) for r in refusals]


def test_slack_retry_does_not_post_twice(harness: Harness) -> None:
    h = harness
    request_id = schedule_and_confirm(h)
    click, _ = click_decision(h, "Approve", APPROVER, request_id)
    h.sender.send(click, retry_num=1, retry_reason="http_timeout")
    h.sender.send(click, retry_num=2, retry_reason="http_timeout")
    wait_until(lambda: ops_for(h, DOCUMENTED_SERIAL), what="the operation")
    time.sleep(1.0)
    assert len(ops_for(h, DOCUMENTED_SERIAL)) == 1


def test_edited_button_value_cannot_decide_another_request(harness: Harness) -> None:
    h = harness
    first = schedule_and_confirm(h)
    first_post = approval_post(h)
    second = schedule_and_confirm(h, f"schedule {DOCUMENTED_SERIAL} diagnostics in 5 hours")
    assert first != second
    # A click on the first request's message, with the value edited to the second request's id.
    click = h.sender.block_action("approval_approve", second, block_id="approval_actions", user_id=APPROVER,
                                  channel_id=APPROVAL_CHANNEL, message_ts=first_post.response["ts"])  # fmt: skip
    h.sender.send(click)
    (answer,) = h.responses(click)
    assert "does not belong" in texts(answer.body)
    time.sleep(0.5)
    assert ops_for(h, DOCUMENTED_SERIAL) == []


def test_reject_with_reason(harness: Harness) -> None:
    h = harness
    request_id = schedule_and_confirm(h)
    click_decision(h, "Reject", APPROVER, request_id)
    (opened,) = h.bench.wait_for("views.open")
    assert opened.body["view"]["callback_id"] == "reject_modal"
    values = {"reason": {"value": {"type": "plain_text_input", "value": "Not during <!channel> peak hours"}}}
    view = {"id": "V0REJ", "type": "modal", "private_metadata": opened.body["view"]["private_metadata"]}
    submission = h.sender.view_submission("reject_modal", values, user_id=APPROVER, view=view)
    h.sender.send(submission)
    update = wait_until(lambda: [c for c in h.bench.calls_to("chat.update") if "Rejected" in texts(c.body)])
    shown = texts(update[-1].body)
    assert "peak hours" in shown and "<!channel>" not in shown
    record = db(h.database_url, lambda s: s.get_request(request_id))  # type: ignore[attr-defined]
    assert record.state is RequestState.REJECTED and record.decision_reason == "Not during <!channel> peak hours"
    assert ops_for(h, DOCUMENTED_SERIAL) == []


# ----------------------------------------------------------------------------------------- crashes and expiry


def _approved_request(url: str, serial: str, when: Any, now: Any) -> ScheduleRecord:
    async def work(store: Store) -> ScheduleRecord:
        record = await store.create_request(NewScheduleRequest(
            requester_id=REQUESTER, team_id="T111", device_serials=[serial], operation_type="reboot",
            scheduled_time=when, approval_required=True, state=RequestState.PENDING_APPROVAL,
        ))  # fmt: skip
        approved = await store.transition(record.id, from_states=["pending_approval"], to_state="approved",
                                          by=APPROVER, at=now)  # fmt: skip
        assert approved is not None
        # The intent was recorded long enough ago that the POST cannot still be in flight.
        claimed = await store.claim_item(record.items[0].id, at=now - timedelta(minutes=10))
        assert claimed is not None
        return approved

    return db(url, work)


def done(h: Harness, request_id: str) -> ScheduleRecord | None:
    record = db(h.database_url, lambda s: s.get_request(request_id))  # type: ignore[attr-defined]
    return record if record.state is RequestState.DONE else None


def test_crash_after_post_is_reconciled_not_reposted(harness: Harness) -> None:
    h = harness
    when = h.sim_state.now() + timedelta(days=1)
    record = _approved_request(h.database_url, DOCUMENTED_SERIAL, when, h.sim_state.now())  # type: ignore[attr-defined]
    # The POST reached the API, then the bot died before recording the answer.
    landed = h.sim_state.create_operation(DOCUMENTED_SERIAL, "reboot", when, {})
    final = wait_until(lambda: done(h, record.id), what="reconciliation")
    assert final.items[0].operation_id == landed.id
    assert len(ops_for(h, DOCUMENTED_SERIAL)) == 1, "no second POST"


def test_crash_before_post_creates_exactly_once(harness: Harness) -> None:
    h = harness
    when = h.sim_state.now() + timedelta(days=1)
    record = _approved_request(h.database_url, DOCUMENTED_SERIAL, when, h.sim_state.now())  # type: ignore[attr-defined]
    final = wait_until(lambda: done(h, record.id), what="reconciliation")
    assert final.items[0].state is ItemState.CREATED
    time.sleep(1.0)
    assert len(ops_for(h, DOCUMENTED_SERIAL)) == 1


def test_pending_request_expires_and_says_so(harness: Harness) -> None:
    h = harness
    request_id = schedule_and_confirm(h, f"schedule {DOCUMENTED_SERIAL} reboot in 30 minutes")
    h.clock.advance(3600)  # type: ignore[attr-defined]
    update = wait_until(lambda: [c for c in h.bench.calls_to("chat.update") if "Expired" in texts(c.body)])
    assert "Nothing was created" in texts(update[-1].body)
    record = db(h.database_url, lambda s: s.get_request(request_id))  # type: ignore[attr-defined]
    assert record.state is RequestState.EXPIRED
    click, _ = click_decision(h, "Approve", APPROVER, request_id)
    (answer,) = h.responses(click)
    assert "expired" in texts(answer.body)
    assert ops_for(h, DOCUMENTED_SERIAL) == []


def test_unknown_serial_is_said_plainly(harness: Harness) -> None:
    h = harness
    request_id = schedule_and_confirm(h, "schedule SN000000001 reboot tomorrow at 2am")
    click_decision(h, "Approve", APPROVER, request_id)
    update = wait_until(lambda: [c for c in h.bench.calls_to("chat.update") if "inventory" in texts(c.body)])
    assert "SN000000001" in texts(update[-1].body)
    record = db(h.database_url, lambda s: s.get_request(request_id))  # type: ignore[attr-defined]
    assert record.items[0].state is ItemState.FAILED


def test_invalid_request_shows_the_api_message(harness: Harness) -> None:
    h = harness
    request_id = schedule_and_confirm(h)
    # The API refuses scheduled times in the past: let the approval come too late for the API but not for us.
    h.sim_state.clock = lambda: h.clock() + timedelta(days=2)  # type: ignore[attr-defined,method-assign]
    click_decision(h, "Approve", APPROVER, request_id)
    update = wait_until(lambda: [c for c in h.bench.calls_to("chat.update") if "refused" in texts(c.body)])
    assert "scheduled_time" in texts(update[-1].body)


def test_restart_keeps_pending_requests_approvable(database_url: str) -> None:
    with bot_harness(database_url=database_url) as first:
        request_id = schedule_and_confirm(first)
        ts = approval_post(first).response["ts"]
    with bot_harness(database_url=database_url) as second:
        click = second.sender.block_action("approval_approve", request_id, block_id="approval_actions",
                                           user_id=APPROVER, channel_id=APPROVAL_CHANNEL, message_ts=ts)  # fmt: skip
        second.sender.send(click)
        wait_until(lambda: ops_for(second, DOCUMENTED_SERIAL), what="the operation after a restart")


def test_audit_command_is_for_approvers(harness: Harness) -> None:
    h = harness
    schedule_and_confirm(h)
    _, request = h.command(f"audit {DOCUMENTED_SERIAL}")
    (answer,) = h.responses(request)
    assert "for approvers" in texts(answer)
    _, request = h.command(f"audit {DOCUMENTED_SERIAL}", user_id=APPROVER)
    (answer,) = h.responses(request)
    shown = texts(answer)
    assert "request" in shown and "confirm" in shown
