"""The rollout messages (bot.slack.blocks.rollouts): built from hand-made records, views and tallies, no store.

Each message is checked for its wording (the issue's "In Slack" section), its buttons per state (action ids, the
rollout id as value, the Abort confirmation), its escaping of what a person typed, and Block Kit's limits (the Slack
stand-in's own checker, plus ≤ 50 blocks and ≤ 3000 characters per section, never cutting a date token).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.rollout_records import RolloutRecord
from bot.domain.rollouts import (
    ACTIVE_ROLLOUT_STATES,
    FINAL_ROLLOUT_STATES,
    RolloutOptions,
    RolloutState,
    WaveTally,
    abort_rule_text,
    effective_min_executed,
    plan_waves,
)
from bot.services.device_time import ZoneGroup
from bot.services.rollouts.events import RolloutEvent
from bot.services.rollouts.progress import RolloutView, WaveView
from bot.services.rollouts.starting import RolloutDraft
from bot.services.schedule_form import ScheduleDraft
from bot.slack.blocks.rollouts import (
    ACTION_ROLLOUT_ABORT,
    ACTION_ROLLOUT_APPROVE,
    ACTION_ROLLOUT_CANCEL,
    ACTION_ROLLOUT_CLONE,
    ACTION_ROLLOUT_CONFIRM,
    ACTION_ROLLOUT_PAUSE,
    ACTION_ROLLOUT_PROMOTE,
    ACTION_ROLLOUT_REJECT,
    ACTION_ROLLOUT_RESUME,
    ROLLOUT_ACTIONS_BLOCK,
    rollout_event_message,
    rollout_message,
    rollout_preview_message,
    rollout_status_message,
    rollouts_list_message,
)
from bot.slackkit.blockkit import block_kit_problems

NOW = datetime(2026, 3, 7, 2, 0, tzinfo=UTC)
START = NOW + timedelta(hours=1)
RID = "RO7K2M9Q"
TYPED = "note=<!channel> *bold* `tick`"  # what a person typed, shown as a parameter value


def serials(count: int, prefix: str = "SN") -> list[str]:
    return [f"{prefix}{n:08d}" for n in range(count)]


def record(state: RolloutState, *, total: int = 500, **values: Any) -> RolloutRecord:
    plan = values.pop("plan", None) or plan_waves(RID, serials(total), (1, 10, 50, 100))
    fields: dict[str, Any] = {
        "id": RID, "requester_id": "U0REQ", "team_id": "T1", "origin_channel_id": "C1",
        "operation_type": "firmware_update", "parameters": {"target_version": "1.10", "note": "<!channel>"},
        "requester_tz": "UTC", "options": RolloutOptions(), "plan": plan, "scheduled_time": START,
        "item_times": None, "when_text": "tomorrow 2am", "approval_required": True, "window_note": None,
        "state": state, "current_wave": 0, "wave_started_at": None, "soak_until": None, "decided_by": None,
        "decided_at": None, "decision_reason": None, "approval_channel_id": "CAPP", "approval_ts": "1.2",
        "stop_reason": None, "told": [], "failed_polls": 0, "version": 1, "created_at": NOW, "updated_at": NOW,
    }  # fmt: skip
    fields.update(values)
    return RolloutRecord(**fields)


def tally(size: int, *, completed: int = 0, failed: int = 0, pending: int = 0, failed_serials: tuple[str, ...] = ()):
    created = completed + failed + pending
    return WaveTally(
        total=size, created=created, completed=completed, failed=failed, expired=0, timed_out=0, pending=pending,
        not_created=size - created, failed_serials=failed_serials,
    )  # fmt: skip


def view(rec: RolloutRecord, tallies: dict[int, WaveTally], **values: Any) -> RolloutView:
    """Waves of ``rec``'s plan; ``tallies``: the started ones, by number."""
    waves, done = [], 0
    for number, wave in enumerate(rec.plan, 1):
        done += len(wave)
        percent = round(100 * done / rec.total)
        started = tallies.get(number)
        at = START + timedelta(hours=number) if started else None
        waves.append(WaveView(number, percent, len(wave), started, f"REQ{number}" if started else None, at))
    failed = tuple(s for t in tallies.values() for s in t.failed_serials)
    return RolloutView(record=rec, waves=tuple(waves), now=NOW, failed_serials=failed, **values)


def texts(message: dict[str, Any]) -> list[str]:
    """Every mrkdwn/plain text of the message's blocks (sections and context elements), and the fallback."""
    found = [message["text"]]
    for block in message["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return found


def joined(message: dict[str, Any]) -> str:
    return "\n".join(texts(message))


def actions(message: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = [b for b in message["blocks"] if b["type"] == "actions"]
    assert len(blocks) <= 1
    if not blocks:
        return []
    assert blocks[0]["block_id"] == ROLLOUT_ACTIONS_BLOCK
    return blocks[0]["elements"]


def assert_within_limits(message: dict[str, Any]) -> None:
    assert block_kit_problems(message, surface="message") == []
    assert message["text"].strip()
    assert len(message["blocks"]) <= 50
    for text in texts(message)[1:]:
        assert len(text) <= 3000
        assert ".." not in text  # a reason's own full stop is not doubled
        assert text.count("<!date^") == len(re.findall(r"<!date\^\d+\^[^|>]*\|[^>]*>", text))  # none cut in half


def assert_escaped(message: dict[str, Any]) -> None:
    everything = joined(message)
    assert "<!channel>" not in everything
    assert "&lt;!channel&gt;" in everything


# --- the preview ------------------------------------------------------------------------------------------------


def checked(total: int, *, options: RolloutOptions | None = None, **draft: Any) -> RolloutDraft:
    options = options or RolloutOptions()
    devices = serials(total)
    fields: dict[str, Any] = {
        "device_serials": devices, "operation_type": "firmware_update", "scheduled_time": START,
        "parameters": {"note": "<!channel> please"}, "notify_channel_id": None, "tz": "UTC",
        "preview": "Sat 7 Mar 03:00 UTC", "window_note": None, "window_inside": None, "approval_required": True,
    }  # fmt: skip
    fields.update(draft)
    return RolloutDraft(
        id=RID, draft=ScheduleDraft(**fields), options=options, plan=plan_waves(RID, devices, options.waves),
        rule=abort_rule_text(options, total), min_executed=effective_min_executed(options, total),
    )  # fmt: skip


def test_preview_shows_the_waves_rule_parameters_and_confirm_cancel() -> None:
    message = rollout_preview_message(checked(500, window_note="Inside the window Sat 01:00–05:00", window_inside=True))
    text = joined(message)
    assert "*Devices* 500:" in text and "`SN00000000`" in text and "and 480 more" in text
    # 1,10,50,100 of 500: 5, 45, 200, 250 devices; wave 1 with its earliest start as a date token.
    assert f"Wave 1/4 · 1 % · 5 devices · earliest start <!date^{int(START.timestamp())}^" in text
    for line in ("Wave 2/4 · 10 % · 45 devices", "Wave 3/4 · 50 % · 200 devices", "Wave 4/4 · 100 % · 250 devices"):
        assert line in text
    assert "after a 30m soak" in text
    assert "*soak* 30m" in text and "*rate* 60/min" in text and "*op_timeout* 1h" in text and "*Gate* auto" in text
    assert "Abort when 10 % or more of the executed operations failed, once at least 5 have executed" in text
    assert "Inside the window" in text
    assert "one approval covers the whole rollout" in text
    buttons = actions(message)
    assert [(b["action_id"], b["value"], b.get("style")) for b in buttons] == [
        (ACTION_ROLLOUT_CONFIRM, RID, "primary"),
        (ACTION_ROLLOUT_CANCEL, RID, None),
    ]
    assert_escaped(message)
    assert_within_limits(message)


def test_preview_says_min_executed_was_clamped_manual_gate_zones_and_no_approval() -> None:
    options = RolloutOptions(gate="manual", waves=(50, 100))
    zone = ZoneGroup(zone="America/Los_Angeles", devices=3, local=datetime(2026, 3, 7, 2, 0, tzinfo=UTC), instant=START)
    message = rollout_preview_message(checked(3, options=options, zone_groups=[zone], approval_required=False))
    text = joined(message)
    assert "min_executed=5 lowered to the rollout's 3 devices" in text
    assert "Wave 1/2 · 50 % · 2 devices" in text and "Wave 2/2 · 100 % · 1 device ·" in text
    assert "an approver clicks Promote" in text
    assert "*America/Los_Angeles* · 3 devices" in text
    assert "*Approval* not required" in text
    assert_within_limits(message)


# --- the rollout message: buttons per state -----------------------------------------------------------------------

APPROVE_REJECT = [(ACTION_ROLLOUT_APPROVE, "primary"), (ACTION_ROLLOUT_REJECT, "danger")]
PAUSE_ABORT = [(ACTION_ROLLOUT_PAUSE, None), (ACTION_ROLLOUT_ABORT, "danger")]
BUTTONS = {
    RolloutState.PENDING_APPROVAL: APPROVE_REJECT,
    RolloutState.SCHEDULED: PAUSE_ABORT,
    RolloutState.RUNNING: PAUSE_ABORT,
    RolloutState.SOAKING: PAUSE_ABORT,
    RolloutState.WAITING_PROMOTE: [(ACTION_ROLLOUT_PROMOTE, "primary"), *PAUSE_ABORT],
    RolloutState.PAUSED: [(ACTION_ROLLOUT_RESUME, None), (ACTION_ROLLOUT_ABORT, "danger")],
    **{state: [] for state in FINAL_ROLLOUT_STATES},
    # an aborted rollout with devices never reached offers them as a new rollout request
    RolloutState.ABORTED: [(ACTION_ROLLOUT_CLONE, None)],
}


@pytest.mark.parametrize("state", sorted(BUTTONS))
def test_the_buttons_that_apply_in_each_state(state: RolloutState) -> None:
    message = rollout_message(view(record(state, current_wave=1), {1: tally(5, completed=5)}))
    buttons = actions(message)
    assert [(b["action_id"], b.get("style")) for b in buttons] == BUTTONS[state]
    assert all(b["value"] == RID for b in buttons)
    for abort in (b for b in buttons if b["action_id"] == ACTION_ROLLOUT_ABORT):
        confirm = abort["confirm"]
        assert confirm["title"]["text"] == "Abort this rollout?"
        assert "Nothing more will be created" in confirm["text"]["text"]
        assert "cannot be cancelled through the API" in confirm["text"]["text"]
        assert confirm["style"] == "danger"
    assert_within_limits(message)


def test_states_without_buttons_are_the_final_ones() -> None:
    assert {s for s, b in BUTTONS.items() if not b} == set(FINAL_ROLLOUT_STATES) - {RolloutState.ABORTED}
    assert set(BUTTONS) == set(FINAL_ROLLOUT_STATES) | set(ACTIVE_ROLLOUT_STATES)


def test_pending_approval_message_says_who_decides() -> None:
    pending = view(record(RolloutState.PENDING_APPROVAL), {})
    text = joined(rollout_message(pending))
    assert ":raised_hand: *Rollout pending approval*" in text
    assert "*Requested by* <@U0REQ>" in text and "*Type* firmware_update" in text and "*Devices* 500:" in text
    assert f"Rollout `{RID}` · only approvers can approve or reject; the requester cannot approve their own" in text
    assert "the requester too, if they are one" in joined(rollout_message(pending, self_approval=True))
    assert "0/500 devices received the operation" in text and "PARTIAL" not in text
    assert_escaped(rollout_message(pending))


def test_running_message_has_a_line_per_wave() -> None:
    rec = record(RolloutState.RUNNING, current_wave=2)
    message = rollout_message(view(rec, {1: tally(5, completed=5), 2: tally(45, completed=40, failed=3, pending=2)}))
    text = joined(message)
    assert "*Rollout running*" in text
    assert "Wave 1/4 · 1 % · 5 ✅ 0 ❌ 0 ⏳" in text
    assert "Wave 2/4 · 10 % · 40 ✅ 3 ❌ 2 ⏳" in text
    assert "Wave 3/4 · 50 % · 200 devices, not started" in text
    assert "Wave 4/4 · 100 % · 250 devices, not started" in text
    assert "50/500 devices received the operation" in text
    assert "only approvers can promote, pause, resume or abort" in text


def test_soaking_and_waiting_for_promote_say_what_comes_next() -> None:
    until = NOW + timedelta(minutes=30)
    soaking = joined(rollout_message(view(record(RolloutState.SOAKING, current_wave=1, soak_until=until), {})))
    assert "*Rollout soaking*" in soaking
    assert f"Soaking until <!date^{int(until.timestamp())}^" in soaking and "then wave 2/4" in soaking
    waiting = joined(rollout_message(view(record(RolloutState.WAITING_PROMOTE, current_wave=1), {})))
    assert "*Rollout waiting for promote*" in waiting and "wave 2/4 starts when an approver clicks Promote" in waiting


def test_paused_message_says_why() -> None:
    rec = record(RolloutState.PAUSED, current_wave=1, stop_reason="paused by <@U0APP>")
    text = joined(rollout_message(view(rec, {1: tally(5, completed=5)})))
    assert "*Rollout paused*" in text
    assert ":double_vertical_bar: *Paused*: paused by <@U0APP>. Operations already created continue." in text


def test_an_aborted_rollout_is_partial_and_lists_what_cannot_be_cancelled() -> None:
    rec = record(RolloutState.ABORTED, current_wave=3, stop_reason="6 of 30 executed operations failed (20 %).")
    tallies = {1: tally(5, completed=5), 2: tally(45, completed=45), 3: tally(200, completed=24, failed=6, pending=40)}
    unfinished = tuple((s, f"op-{s}") for s in serials(25, "UF"))
    message = rollout_message(view(rec, tallies, unfinished=unfinished))
    text = joined(message)
    assert "PARTIAL: 120/500 devices received the operation" in text
    assert "*Aborted*: 6 of 30 executed operations failed (20 %). Nothing more will be created." in text
    assert "25 created operations not finished" in text and "cannot be cancelled through the API" in text
    assert "`UF00000019` → operation `op-UF00000019`" in text and "UF00000020" not in text
    assert "… and 5 more" in text
    assert not re.search(r"\bdone\b|\bcompleted\b", text)
    assert [b["action_id"] for b in actions(message)] == [ACTION_ROLLOUT_CLONE]  # the devices never reached
    assert_within_limits(message)


def test_a_completed_rollout_says_all_received_it_and_partial_never_says_completed() -> None:
    full = {n: tally(size, completed=size) for n, size in enumerate((5, 45, 200, 250), 1)}
    done = joined(rollout_message(view(record(RolloutState.COMPLETED, current_wave=4), full)))
    assert ":white_check_mark: *Rollout completed*" in done and "500/500 devices received the operation" in done
    assert "PARTIAL" not in done
    short = joined(rollout_message(view(record(RolloutState.COMPLETED, current_wave=2), {1: full[1], 2: full[2]})))
    assert "PARTIAL: 50/500 devices received the operation" in short
    assert "*Rollout ended, PARTIAL*" in short and "*Rollout completed" not in short


def test_failed_serials_fifty_inline_then_the_status_command() -> None:
    failed = tuple(serials(60, "FX"))
    rec = record(RolloutState.RUNNING, current_wave=2)
    text = joined(rollout_message(view(rec, {2: tally(45, completed=0, failed=45, failed_serials=failed)})))
    assert ":x: *Failed (60)*" in text
    assert "`FX00000049`" in text and "FX00000050" not in text
    assert f"… and 10 more: see /headless rollout status {RID}" in text


def test_a_typed_parameter_and_stop_reason_are_escaped() -> None:
    rec = record(RolloutState.ABORTED, stop_reason="aborted by <@U0APP>: <!here> `x`")
    message = rollout_message(view(rec, {}))
    text = joined(message)
    assert "<@U0APP>" in text and "<!here>" not in text and "&lt;!here&gt;" in text
    assert_escaped(message)


# --- thread replies -----------------------------------------------------------------------------------------------


def test_event_approved_and_rejected() -> None:
    approved = rollout_event_message(view(record(RolloutState.SCHEDULED), {}), RolloutEvent("approved", by="U0APP"))
    assert f"*Approved by <@U0APP>*: wave 1 starts <!date^{int(START.timestamp())}^" in joined(approved)
    rejected = rollout_event_message(
        view(record(RolloutState.REJECTED), {}), RolloutEvent("rejected", by="U0APP", reason="no <!channel> today")
    )
    assert "*Rejected by <@U0APP>*: no &lt;!channel&gt; today. Nothing was created." in joined(rejected)
    assert_escaped(rejected)
    for message in (approved, rejected):
        assert_within_limits(message)


def test_event_wave_started_and_settled_with_its_numbers() -> None:
    rec = record(RolloutState.SOAKING, current_wave=2, soak_until=NOW + timedelta(minutes=30))
    settled = tally(45, completed=42, failed=3, failed_serials=("SNA", "SNB", "SNC"))
    current = view(rec, {1: tally(5, completed=5), 2: settled})
    at = NOW + timedelta(minutes=2)
    started = joined(rollout_event_message(current, RolloutEvent("wave_started", wave=2, at=at)))
    assert f"*Wave 2/4 started* · 10 % · 45 devices · <!date^{int(at.timestamp())}^" in started
    message = rollout_event_message(current, RolloutEvent("wave_settled", wave=2, tally=settled))
    text = joined(message)
    assert "*Wave 2/4 settled*: Wave 2/4 · 10 % · 42 ✅ 3 ❌ 0 ⏳" in text
    assert "45 executed, 3 failed, success rate 93.33 %" in text
    assert ":x: *Failed (3)* `SNA`, `SNB`, `SNC`" in text
    assert "Soaking until <!date^" in text and "then wave 3/4" in text
    waiting = view(record(RolloutState.WAITING_PROMOTE, current_wave=2), {2: settled})
    assert "Waiting for promote" in joined(rollout_event_message(waiting, RolloutEvent("wave_settled", 2)))
    assert_within_limits(message)


def test_event_paused_resumed_promoted() -> None:
    rec = record(RolloutState.PAUSED, current_wave=1, stop_reason="inconclusive: 5 failed polls in a row")
    paused = joined(rollout_event_message(view(rec, {}), RolloutEvent("paused", wave=1, by="bot")))
    assert "*Paused*: inconclusive: 5 failed polls in a row." in paused
    resumed = joined(rollout_event_message(view(rec, {}), RolloutEvent("resumed", wave=1, by="U0APP")))
    assert "*Resumed by <@U0APP>*" in resumed
    promoted = joined(rollout_event_message(view(rec, {}), RolloutEvent("promoted", wave=1, by="U0APP")))
    assert "*Promoted by <@U0APP>*: wave 2/4 starts now" in promoted


def test_event_aborted_pages_oncall_once_and_lists_unfinished() -> None:
    rec = record(RolloutState.ABORTED, current_wave=1, stop_reason="x")
    unfinished = (("SN1", "op-1"), ("SN2", "op-2"))
    current = view(rec, {1: tally(5, completed=2, failed=1, pending=2)}, unfinished=unfinished)
    event = RolloutEvent("aborted", wave=1, by="bot", reason="3 operations failed, reaching max_failures=3.")
    paged = rollout_event_message(current, event, oncall_group="S0ONCALL")
    text = joined(paged)
    assert "<!subteam^S0ONCALL> :octagonal_sign: *Rollout aborted*: 3 operations failed" in text
    assert text.count("<!subteam^S0ONCALL>") == 2  # the block and the notification's fallback, one each
    assert "PARTIAL: 5/500 devices received the operation" in text
    assert "`SN1` → operation `op-1`" in text and "cannot be cancelled through the API" in text
    assert "495 devices never received the operation" in text and "max_failures=3. Nothing more" in text
    assert "subteam" not in joined(rollout_event_message(current, event))
    assert_within_limits(paged)


def test_event_completed_with_failures_and_partial() -> None:
    full = {n: tally(size, completed=size) for n, size in enumerate((5, 45, 200, 250), 1)}
    clean = joined(
        rollout_event_message(view(record(RolloutState.COMPLETED, current_wave=4), full), RolloutEvent("completed"))
    )
    assert "*Rollout completed*: 500/500 devices received the operation, all succeeded" in clean
    full[4] = tally(250, completed=248, failed=2, failed_serials=("SNX", "SNY"))
    rec = record(RolloutState.COMPLETED_WITH_FAILURES, current_wave=4)
    failing = joined(rollout_event_message(view(rec, full), RolloutEvent("completed")))
    assert "*Rollout completed with failures*: 500/500 devices received the operation, 2 failed" in failing
    assert "`SNX`, `SNY`" in failing
    short = joined(
        rollout_event_message(
            view(record(RolloutState.COMPLETED, current_wave=1), {1: full[1]}), RolloutEvent("completed")
        )
    )
    assert "PARTIAL: 5/500 devices received the operation" in short and "Rollout completed" not in short


def test_event_expired_and_cancelled() -> None:
    expired = joined(rollout_event_message(view(record(RolloutState.EXPIRED), {}), RolloutEvent("expired")))
    assert "*Expired*" in expired and "Nothing was created: 0/500 devices received the operation" in expired
    cancelled = joined(
        rollout_event_message(view(record(RolloutState.CANCELLED), {}), RolloutEvent("cancelled", by="U0REQ"))
    )
    assert "*Cancelled by <@U0REQ>*. Nothing was created." in cancelled


# --- status and list ----------------------------------------------------------------------------------------------


def test_status_lists_every_failed_serial_within_limits() -> None:
    failed = tuple(serials(5000, "FAIL"))
    rec = record(RolloutState.ABORTED, total=5000, current_wave=4, stop_reason="too many failures")
    big = {n: tally(len(w), failed=len(w), failed_serials=tuple(w)) for n, w in enumerate(rec.plan, 1)}
    current = view(rec, big)
    current = RolloutView(record=rec, waves=current.waves, now=NOW, failed_serials=failed)
    message = rollout_status_message(current)
    assert_within_limits(message)
    assert actions(message) == []
    text = joined(message)
    assert all(f"`{s}`" in text for s in failed)
    assert ":x: *Failed (5,000)*" in text
    assert "Wave 1/4: created 50/50 · completed 0 · failed 50" in text
    assert "*Per wave*" in text and "PARTIAL" not in text  # every device received it


def test_status_counts_failed_serials_beyond_fifty_blocks() -> None:
    failed = tuple("L" * 79 + f"{n:05d}" for n in range(5000))  # long serials: more than 50 sections' worth
    rec = record(RolloutState.RUNNING, current_wave=1)
    current = RolloutView(record=rec, waves=view(rec, {}).waves, now=NOW, failed_serials=failed)
    message = rollout_status_message(current)
    assert_within_limits(message)
    assert len(message["blocks"]) == 50
    text = joined(message)
    named = len(re.findall(r"`L+…`", text))
    more = re.search(r"… and ([\d,]+) more failed devices", text)
    assert more is not None and named > 0
    assert named + int(more.group(1).replace(",", "")) == 5000


def test_status_of_a_partial_aborted_rollout_with_a_typed_parameter() -> None:
    rec = record(RolloutState.ABORTED, current_wave=1, stop_reason="aborted by <@U0APP>")
    message = rollout_status_message(view(rec, {1: tally(5, completed=5)}, unfinished=(("SN1", "op-1"),)))
    text = joined(message)
    assert "PARTIAL: 5/500 devices received the operation" in text
    assert "Wave 2/4: 45 devices, not started" in text
    assert "cannot be cancelled through the API" in text
    assert_escaped(message)


def test_rollouts_list_active_first_then_recent() -> None:
    done = {n: tally(size, completed=size) for n, size in enumerate((5, 45, 200, 250), 1)}
    old = view(record(RolloutState.COMPLETED, current_wave=4, id="ROLD"), done)
    running = view(
        record(RolloutState.RUNNING, current_wave=2, id="RNEW"), {1: done[1], 2: tally(45, completed=40, failed=5)}
    )
    message = rollouts_list_message([old, running])
    text = joined(message)
    assert text.index("*Active rollouts (1)*") < text.index("`RNEW`") < text.index("*Recent rollouts (1)*")
    assert text.index("*Recent rollouts (1)*") < text.index("`ROLD`")
    assert "`RNEW` · firmware_update · 500 devices · *running* · wave 2/4 · 50/500 created · :x: 5 failed" in text
    assert "`ROLD` · firmware_update · 500 devices · *completed* · wave 4/4 · 500/500 created" in text
    assert "/headless rollout status ID" in text
    assert_within_limits(message)


def test_rollouts_list_empty_says_how_to_start_one() -> None:
    message = rollouts_list_message([])
    assert "No rollouts yet" in joined(message)
    assert "/headless rollout firmware_update site:san-jose+tag:gateway tomorrow 2am" in joined(message)
    assert_within_limits(message)


def test_long_serials_and_operation_ids_stay_within_one_section_and_are_counted() -> None:
    failed = tuple("F" * 90 + f"{n:03d}" for n in range(60))
    unfinished = tuple(("U" * 90 + f"{n:03d}", "o" * 200) for n in range(25))
    rec = record(RolloutState.ABORTED, current_wave=2, stop_reason="x")
    current = view(rec, {2: tally(45, failed=45, failed_serials=failed)}, unfinished=unfinished)
    message = rollout_message(current)
    assert_within_limits(message)
    text = joined(message)
    named = len(re.findall(r"`F+…`", text))
    more = re.search(r"… and (\d+) more: see /headless rollout status", text)
    assert 0 < named < 50 and more is not None and named + int(more.group(1)) == 60
    listed = len(re.findall(r"• `U+…` → operation `o+…`", text))
    rest = re.search(r"• … and (\d+) more \(/headless rollout status", text)
    assert 0 < listed <= 20 and rest is not None and listed + int(rest.group(1)) == 25
