"""Access rules from outside (#17): through the bot's real HTTP endpoint with signed requests, the Slack stand-in and
the Control API simulator over HTTP, on SQLite and PostgreSQL. A denied person reaches the Control API through no
path: slash commands, the form (with a type it never offered), buttons (crafted too), shortcuts; each denial is
worded, audited and counted; a person taken out of a group loses access within the cache time."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.simulator import DOCUMENTED_SERIAL
from tests.support.flows import approval_posts, buttons, click_decision, db, modal_values, wait_until
from tests.support.harness import APPROVER, GROUP_APPROVER, OUTSIDER, REQUESTER, Harness, OffsetClock, bot_harness
from tests.support.slack_text import texts

FW_ENGINEER = "U0FWENGINEER"
FW_CHANNEL = "C0FIRMWARE"
HERE = "C111"  # where the bench's commands come from unless told otherwise
RULES = (
    f"allow schedule:reboot,list,status,watch,refresh to {REQUESTER}; "
    f"allow schedule:firmware_update,rollout:* to S0FWTEAM in {FW_CHANNEL}; "
    f"allow approve:reboot to {APPROVER}; allow approve:* to S0APPROVERS; "
    f"allow list,status to *; deny * to {OUTSIDER}"
)


def with_firmware_team(bench: Any) -> None:
    bench.add_user(FW_ENGINEER, real_name="Fern Firmware", tz="UTC")
    bench.add_usergroup("S0FWTEAM", [FW_ENGINEER])
    bench.add_channel(FW_CHANNEL, "firmware", is_member=True)


@pytest.fixture
def ruled(database_url: str) -> Iterator[Harness]:
    with bot_harness(
        database_url=database_url, clock=OffsetClock(), access_rules=RULES, access_group_cache_seconds=0.5,
        setup_bench=with_firmware_team, notifier_enabled=False,  # no polling: every API call is a person's
    ) as h:  # fmt: skip
        h.database_url = database_url  # type: ignore[attr-defined]
        yield h


def ephemeral(h: Harness, text: str, user: str, channel: str = HERE) -> str:
    """The words a command gets back (its ack, or its first answer through ``respond``)."""
    response, request = h.command(text, user_id=user, channel_id=channel)
    assert response.status_code == 200
    if response.content and response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        if body.get("text") or body.get("blocks"):
            return texts(body)
    (answer,) = h.responses(request)
    return texts(answer.body)


def posts(h: Harness) -> int:
    return h.sim_state.hits["POST"]


def requests_in_store(h: Harness) -> int:
    return len(db(h.database_url, lambda s: s.list_requests()))  # type: ignore[attr-defined]


def denials(h: Harness, action: str) -> float:
    return h.metric("access_denied_total", action=action)


def test_a_denied_quick_form_creates_nothing_and_says_what_to_ask_for(ruled: Harness) -> None:
    text = ephemeral(ruled, f"schedule {DOCUMENTED_SERIAL} firmware_update tomorrow at 2am", REQUESTER)
    assert "You may not schedule `firmware_update` here" in text
    assert "S0FWTEAM" in text  # the group whose members may
    assert requests_in_store(ruled) == 0 and posts(ruled) == 0
    assert denials(ruled, "schedule:firmware_update") == 1
    audit = db(ruled.database_url, lambda s: s.recent_audit("schedule:firmware_update"))  # type: ignore[attr-defined]
    assert [(a.actor_id, a.action, a.outcome) for a in audit] == [(REQUESTER, "access_denied", "no_rule")]

    # The firmware engineer may, but only in the firmware channel; elsewhere the answer names it.
    elsewhere = ephemeral(ruled, f"schedule {DOCUMENTED_SERIAL} firmware_update tomorrow at 2am", FW_ENGINEER)
    assert f"<#{FW_CHANNEL}>" in elsewhere
    there = ephemeral(
        ruled, f"schedule {DOCUMENTED_SERIAL} firmware_update tomorrow at 2am", FW_ENGINEER, channel=FW_CHANNEL
    )
    assert "Confirm" in there
    assert posts(ruled) == 0


def test_deny_wins_everywhere_and_reaches_no_api(ruled: Harness) -> None:
    before = dict(ruled.sim_state.hits)
    for text in ("list", "status txn_1", "refresh txn_1", f"schedule {DOCUMENTED_SERIAL} reboot tomorrow 2am",
                 "watch txn_1", "audit", "rollout reboot SN123456789 tomorrow 2am", "devices"):  # fmt: skip
        answer = ephemeral(ruled, text, OUTSIDER)
        assert "You may not" in answer and "rule 6" in answer, (text, answer)
    assert dict(ruled.sim_state.hits) == before  # not one Control API call
    assert requests_in_store(ruled) == 0
    assert denials(ruled, "list") == 1 and denials(ruled, "schedule:reboot") == 1


def test_the_form_offers_only_allowed_types_and_refuses_a_crafted_one(ruled: Harness) -> None:
    ruled.command("schedule", user_id=REQUESTER)
    opened = wait_until(lambda: ruled.bench.calls_to("views.open"), what="the form")[-1]
    view = opened.body["view"] if isinstance(opened.body["view"], dict) else json.loads(opened.body["view"])
    options = [o["value"] for b in view["blocks"] if b.get("block_id") == "operation_type"
               for o in b["element"]["options"]]  # fmt: skip
    assert options == ["reboot"]

    crafted = modal_values(DOCUMENTED_SERIAL, "firmware_update", "tomorrow at 2am")
    form = {"id": "V0FORM", "type": "modal", "callback_id": "schedule_modal",
            "private_metadata": json.dumps({"tz": "UTC", "channel_id": HERE})}  # fmt: skip
    answer = ruled.sender.send(ruled.sender.view_submission("schedule_modal", crafted, view=form, user_id=REQUESTER))
    body = answer.json()
    assert body["response_action"] == "errors"
    assert "You may not schedule `firmware_update`" in body["errors"]["operation_type"]
    assert requests_in_store(ruled) == 0 and posts(ruled) == 0

    allowed = modal_values(DOCUMENTED_SERIAL, "reboot", "tomorrow at 2am")
    answer = ruled.sender.send(ruled.sender.view_submission("schedule_modal", allowed, view=form, user_id=REQUESTER))
    assert answer.status_code == 200 and not answer.content.strip()  # accepted: the form closes
    wait_until(lambda: requests_in_store(ruled) == 1, what="the request")


def _requested(h: Harness, user: str, channel: str, op_type: str) -> str:
    """A request confirmed by ``user`` in ``channel``, waiting for approval: its id."""
    _response, request = h.command(f"schedule {DOCUMENTED_SERIAL} {op_type} tomorrow at 2am", user_id=user,
                                  channel_id=channel)  # fmt: skip
    (preview,) = h.responses(request)
    confirm = buttons(preview)["Confirm"]
    h.sender.send(h.sender.block_action("schedule_confirm", confirm["value"], block_id="confirm_actions",
                                        is_ephemeral=True, response_url=request.response_url, user_id=user,
                                        channel_id=channel))  # fmt: skip
    request_id = str(confirm["value"])
    wait_until(lambda: approval_posts(h, request_id), what="the approval message")
    wait_until(lambda: db(h.database_url, lambda s: s.get_request(request_id)).approval_ts,  # type: ignore[attr-defined]
               what="the approval message recorded")  # fmt: skip
    return request_id


def test_approve_needs_approve_of_the_type_on_the_click_itself(ruled: Harness) -> None:
    request_id = _requested(ruled, FW_ENGINEER, FW_CHANNEL, "firmware_update")
    # U0APPROVER is in APPROVERS but may approve only reboots: the click is refused, nothing is created.
    click, response = click_decision(ruled, "Approve", APPROVER, request_id)
    assert response.status_code == 200
    (refusal,) = ruled.bench.wait_for_response(click.response_key)
    assert "You may not approve `firmware_update` requests" in texts(refusal.body)
    # A crafted click by the outsider (deny *) on the real message: refused too.
    click, _ = click_decision(ruled, "Approve", OUTSIDER, request_id)
    (refusal,) = ruled.bench.wait_for_response(click.response_key)
    assert "You may not" in texts(refusal.body)
    time.sleep(0.5)
    assert posts(ruled) == 0
    assert db(ruled.database_url, lambda s: s.get_request(request_id)).state.value == "pending_approval"  # type: ignore[attr-defined]
    # A member of S0APPROVERS (approve:*) decides: created once.
    click_decision(ruled, "Approve", GROUP_APPROVER, request_id)
    wait_until(lambda: posts(ruled) == 1, what="the operation created")
    assert denials(ruled, "approve:firmware_update") == 2


def test_a_crafted_confirm_of_a_type_the_person_may_not_schedule_is_refused(ruled: Harness) -> None:
    """Rules are checked again on Confirm: a draft made while allowed is not confirmed once the rule says no
    (here: a crafted Confirm of the firmware engineer's draft from a channel the rule does not cover)."""
    _response, request = ruled.command(f"schedule {DOCUMENTED_SERIAL} firmware_update tomorrow at 2am",
                                      user_id=FW_ENGINEER, channel_id=FW_CHANNEL)  # fmt: skip
    (preview,) = ruled.responses(request)
    draft_id = str(buttons(preview)["Confirm"]["value"])
    click = ruled.sender.block_action("schedule_confirm", draft_id, block_id="confirm_actions", is_ephemeral=True,
                                      user_id=FW_ENGINEER, channel_id=HERE)  # fmt: skip
    ruled.sender.send(click)
    (refusal,) = ruled.bench.wait_for_response(click.response_key)
    assert "You may not schedule `firmware_update` here" in texts(refusal.body)
    assert db(ruled.database_url, lambda s: s.get_request(draft_id)).state.value == "draft"  # type: ignore[attr-defined]


def test_can_and_help_answer_for_the_reader(ruled: Harness) -> None:
    allowed = ephemeral(ruled, "can schedule:reboot", REQUESTER)
    assert "Allowed" in allowed and "rule 1" in allowed
    denied = ephemeral(ruled, "can list", OUTSIDER)
    assert "Denied" in denied and "rule 6" in denied
    default = ephemeral(ruled, "can audit", REQUESTER)
    assert "no rule allows it" in default
    there = ephemeral(ruled, f"can schedule:firmware_update in <#{FW_CHANNEL}|firmware>", FW_ENGINEER)
    assert "Allowed" in there and "rule 2" in there
    types = ephemeral(ruled, "can schedule", REQUESTER)
    assert "`reboot`" in types and "firmware_update" not in types
    assert f"In <#{HERE}>" in types  # the channel link intact (its id keeps its case)

    mine = ephemeral(ruled, "help", REQUESTER)
    theirs = ephemeral(ruled, "help", OUTSIDER)
    assert "/headless schedule" in mine and "/headless audit" not in mine
    assert "`/headless schedule`" not in theirs and "`/headless list [" not in theirs and "/headless can" in theirs


def test_leaving_a_group_loses_access_within_the_cache_time(ruled: Harness) -> None:
    command = f"can schedule:firmware_update in <#{FW_CHANNEL}|firmware>"
    assert "Allowed" in ephemeral(ruled, command, FW_ENGINEER)
    ruled.bench.add_usergroup("S0FWTEAM", [])  # taken out of the team
    time.sleep(0.6)  # ACCESS_GROUP_CACHE_SECONDS=0.5
    assert "Denied" in ephemeral(ruled, command, FW_ENGINEER)


def test_shortcuts_and_rollout_buttons_pass_the_gate_too(ruled: Harness) -> None:
    before = len(ruled.bench.calls_to("views.open"))
    shortcut = ruled.sender.shortcut("start_rollout", user_id=REQUESTER)  # rollout:* only for the firmware team
    assert ruled.sender.send(shortcut).status_code == 200
    dm = wait_until(lambda: [c for c in ruled.bench.calls_to("chat.postMessage") if c.body.get("channel") == REQUESTER
                             and "You may not start rollouts" in texts(c.body)], what="the denial DM")  # fmt: skip
    assert dm and len(ruled.bench.calls_to("views.open")) == before
    pause = ruled.sender.block_action("rollout_pause", "0" * 32, block_id="rollout_actions", user_id=REQUESTER,
                                      channel_id=HERE)  # fmt: skip
    ruled.sender.send(pause)
    (refusal,) = ruled.bench.wait_for_response(pause.response_key)
    assert "You may not pause rollouts here" in texts(refusal.body)
    assert denials(ruled, "rollout.pause") == 1


def test_without_rules_the_bot_is_as_before(database_url: str) -> None:
    with bot_harness(database_url=database_url) as h:
        _, request = h.command(f"schedule {DOCUMENTED_SERIAL} firmware_update tomorrow at 2am", user_id=OUTSIDER)
        (preview,) = h.responses(request)
        assert "Confirm" in buttons(preview)
        assert "no access rules are configured" in ephemeral(h, "can audit", OUTSIDER).lower()
        assert h.metric("access_denied_total") == 0
