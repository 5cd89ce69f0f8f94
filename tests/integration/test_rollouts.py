"""Staged rollouts through the real endpoint, against the simulator (its ``failure_rate`` drives the outcomes): the
quick form's preview, Confirm, approval by another person, waves created and settled, soak, the next wave, the
automatic abort, pause / resume, the manual gate, and the rollout message edited in place with its thread replies.

Time: the bot's clock and the simulator's move together (``advance``); the notifier polls every second and the
maintenance pass (which moves rollouts on) runs every 0.3 s, so each step is seen within a few seconds."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.clock import OffsetClock
from bot.domain.requests import ItemState
from bot.domain.rollouts import RolloutState
from tests.support.fleet import fleet_harness, inventory_csv
from tests.support.flows import buttons, db, wait_until
from tests.support.harness import APPROVAL_CHANNEL, APPROVER, Harness
from tests.support.slack_text import texts

COUNT = 20
ONCALL = "S0ONCALL"


def rollout_harness(tmp: Path, database_url: str, failure_rate: float) -> Iterator[Harness]:
    clock = OffsetClock()
    yield from fleet_harness(
        tmp, database_url, inventory_csv(COUNT),
        sim_config={"failure_rate": failure_rate, "run_seconds": 5.0}, clock=clock, maintenance_interval=0.3,
        poll_interval_seconds=1, rollout_lead_seconds=90, oncall_group=ONCALL,
    )  # fmt: skip


@pytest.fixture
def good(tmp_path: Path, database_url: str) -> Iterator[Harness]:
    yield from rollout_harness(tmp_path, database_url, 0.0)


@pytest.fixture
def bad(tmp_path: Path, database_url: str) -> Iterator[Harness]:
    yield from rollout_harness(tmp_path, database_url, 1.0)


def advance(h: Harness, seconds: float) -> None:
    """Move the bot's clock and the simulator's together."""
    h.runtime.deps.clock.advance(seconds)  # type: ignore[attr-defined]
    h.sim_state.advance(seconds)


def click(h: Harness, action_id: str, rollout_id: str, user: str = APPROVER) -> Any:
    request = h.sender.block_action(
        action_id, rollout_id, block_id="rollout_actions", user_id=user, channel_id=APPROVAL_CHANNEL
    )
    return h.sender.send(request)


def start(h: Harness, text: str) -> str:
    """The quick form, its preview, Confirm by the requester; the rollout's id once its message is posted."""
    _, request = h.command(text)
    (preview,) = h.responses(request)
    confirm = buttons(preview)["Confirm"]
    h.sender.send(h.sender.block_action("rollout_confirm", confirm["value"], block_id="rollout_actions",
                                        is_ephemeral=True, response_url=request.response_url))  # fmt: skip
    rollout_id = str(confirm["value"])
    wait_until(lambda: rollout(h, rollout_id).approval_ts, what="the rollout message")
    return rollout_id


def rollout(h: Harness, rollout_id: str) -> Any:
    return db(h.database_url, lambda s: s.get_rollout(rollout_id))  # type: ignore[attr-defined]


def thread(h: Harness, rollout_id: str) -> list[str]:
    ts = rollout(h, rollout_id).approval_ts
    return [texts(c.body) for c in h.bench.calls_to("chat.postMessage") if c.ok and c.body.get("thread_ts") == ts]


def until_state(h: Harness, rollout_id: str, *states: RolloutState, step: float = 30.0, limit: int = 90) -> Any:
    """Advance time in steps until the rollout reaches one of ``states``."""
    for _ in range(limit):
        record = rollout(h, rollout_id)
        if record.state in states:
            return record
        advance(h, step)
        time.sleep(1.2)  # one notifier poll and a few maintenance passes
    raise AssertionError(f"rollout {rollout_id} is {rollout(h, rollout_id).state}, not {states}")


def test_a_healthy_rollout_completes_every_wave_once(good: Harness) -> None:
    h = good
    text = "rollout reboot GW0000* in 10 minutes waves=20,50,100 soak=0 rate=6000/min min_executed=2"
    _, request = h.command(text)
    (preview,) = h.responses(request)
    shown = texts(preview)
    assert "10" in shown and "Confirm" in str(buttons(preview))
    rollout_id = start(h, text)
    record = rollout(h, rollout_id)
    assert record.state is RolloutState.PENDING_APPROVAL
    assert [len(wave) for wave in record.plan] == [2, 3, 5]
    click(h, "rollout_approve", rollout_id)
    wait_until(lambda: len(h.sim_state.order) == 2, what="wave 1's two operations")
    record = until_state(h, rollout_id, RolloutState.COMPLETED, RolloutState.COMPLETED_WITH_FAILURES)
    assert record.state is RolloutState.COMPLETED
    created = [op.device_serial for op in h.sim_state.order]
    assert sorted(created) == sorted(record.devices) and len(created) == len(set(created)) == 10
    assert created[:2] == record.plan[0] or sorted(created[:2]) == sorted(record.plan[0])  # the canaries first
    replies = thread(h, rollout_id)
    assert sum("started" in reply.lower() for reply in replies) == 3, replies
    updates = [texts(c.body) for c in h.bench.calls_to("chat.update") if c.body.get("ts") == record.approval_ts]
    assert updates and "completed" in updates[-1].lower()


def test_failures_abort_and_nothing_more_is_created(bad: Harness) -> None:
    h = bad
    text = "rollout reboot GW000* in 10 minutes waves=50,100 soak=0 rate=6000/min min_executed=3"
    rollout_id = start(h, text)
    click(h, "rollout_approve", rollout_id)
    wait_until(lambda: len(h.sim_state.order) == 10, what="wave 1's ten operations")
    record = until_state(h, rollout_id, RolloutState.ABORTED)
    assert "failed" in (record.stop_reason or "")
    advance(h, 600)
    time.sleep(2)
    assert len(h.sim_state.order) == 10, "nothing is created after an abort"
    requests = db(h.database_url, lambda s: s.wave_requests(rollout_id))  # type: ignore[attr-defined]
    assert [r.wave for r in requests] == [1]
    replies = thread(h, rollout_id)
    aborted = [reply for reply in replies if "abort" in reply.lower()]
    assert len(aborted) == 1 and f"<!subteam^{ONCALL}" in aborted[0], replies
    assert 'headless_bot_rollout_aborts_total{reason="threshold"} 1.0' in h.get("/metrics").text

    click(h, "rollout_clone", rollout_id)
    clones = wait_until(
        lambda: [r for r in db(h.database_url, lambda s: s.list_rollouts()) if r.id != rollout_id],  # type: ignore[attr-defined]
        what="the clone",
    )
    (clone,) = clones
    assert clone.state is RolloutState.PENDING_APPROVAL and clone.requester_id == APPROVER
    assert sorted(clone.devices) == sorted(rollout(h, rollout_id).plan[1]), "the devices never reached"
    wait_until(lambda: rollout(h, clone.id).approval_ts, what="the clone's approval message")


def test_pause_stops_creation_and_resume_goes_on(good: Harness) -> None:
    h = good
    text = "rollout reboot GW000* in 10 minutes waves=100 rate=60/min"
    rollout_id = start(h, text)
    click(h, "rollout_approve", rollout_id)
    wait_until(lambda: len(h.sim_state.order) >= 1, what="the first operation")
    click(h, "rollout_pause", rollout_id)
    wait_until(lambda: rollout(h, rollout_id).state is RolloutState.PAUSED, what="paused")
    time.sleep(2.5)
    paused_at = len(h.sim_state.order)
    time.sleep(2.5)
    assert len(h.sim_state.order) == paused_at < 20, "no POST while paused"
    click(h, "rollout_resume", rollout_id)
    wait_until(lambda: len(h.sim_state.order) > paused_at, timeout=15, what="creation going on")
    requests = db(h.database_url, lambda s: s.wave_requests(rollout_id))  # type: ignore[attr-defined]
    waiting = [i for i in requests[0].items if i.state is ItemState.WAITING]
    assert waiting and all(i.scheduled_time == requests[0].scheduled_time for i in waiting), "a time far enough stays"


def test_only_approvers_decide_and_the_requester_cannot_approve(good: Harness) -> None:
    h = good
    rollout_id = start(h, "rollout reboot GW0001* in 10 minutes")
    response = click(h, "rollout_approve", rollout_id, user="W111")  # the requester
    assert response.status_code == 200
    time.sleep(1)
    assert rollout(h, rollout_id).state is RolloutState.PENDING_APPROVAL
    click(h, "rollout_reject", rollout_id)
    wait_until(lambda: rollout(h, rollout_id).state is RolloutState.REJECTED, what="rejected")
    assert h.sim_state.order == []


def test_rollouts_list_and_status(good: Harness) -> None:
    h = good
    rollout_id = start(h, "rollout reboot GW0000* in 10 minutes waves=50,100")
    _, request = h.command("rollouts")
    (answer,) = h.responses(request)
    assert rollout_id[:8] in texts(answer)
    _, request = h.command(f"rollout status {rollout_id}")
    (answer,) = h.responses(request)
    assert re.search(r"Wave 1/2", texts(answer)), texts(answer)


def test_the_manual_gate_waits_for_promote(good: Harness) -> None:
    h = good
    rollout_id = start(h, "rollout reboot GW0000* in 10 minutes waves=30,100 gate=manual soak=0 rate=6000/min")
    click(h, "rollout_approve", rollout_id)
    record = until_state(h, rollout_id, RolloutState.WAITING_PROMOTE)
    assert record.current_wave == 1 and len(h.sim_state.order) == 3
    advance(h, 600)
    time.sleep(2)
    assert rollout(h, rollout_id).state is RolloutState.WAITING_PROMOTE, "nothing moves without Promote"
    assert len(h.sim_state.order) == 3
    click(h, "rollout_promote", rollout_id, user="W111")  # not an approver
    time.sleep(1)
    assert rollout(h, rollout_id).state is RolloutState.WAITING_PROMOTE
    click(h, "rollout_promote", rollout_id)
    record = until_state(h, rollout_id, RolloutState.COMPLETED)
    assert len(h.sim_state.order) == 10


def test_a_device_in_an_active_rollout_is_refused_and_min_executed_is_clamped(good: Harness) -> None:
    h = good
    start(h, "rollout reboot GW0000* in 10 minutes")
    _, request = h.command("rollout reboot GW00001,GW00015 in 10 minutes")
    (answer,) = h.responses(request)
    assert "1 of these devices are already in an active rollout: GW00001" in texts(answer)
    assert not buttons(answer)
    _, request = h.command("rollout reboot GW00015,GW00016 in 10 minutes min_executed=5")
    (answer,) = h.responses(request)
    shown = texts(answer)
    assert "2" in shown and set(buttons(answer)) == {"Confirm", "Cancel"}
    assert "clamped" in shown.lower() or "min_executed" in shown, shown


def test_a_blind_notifier_pauses_the_rollout_as_inconclusive(good: Harness) -> None:
    h = good
    rollout_id = start(h, "rollout reboot GW0000* in 10 minutes waves=50,100 rate=6000/min")
    click(h, "rollout_approve", rollout_id)
    wait_until(lambda: len(h.sim_state.order) == 5, what="wave 1")
    h.sim_state.faults.error_rate = 1.0  # the Control API answers every request with an error
    meta = wait_until(
        lambda: db(h.database_url, lambda s: s.notifier_meta()).get("outage_since"),  # type: ignore[attr-defined]
        what="the notifier's outage",
    )
    assert meta
    advance(h, 10)  # five poll intervals of one second
    record = wait_until(
        lambda: (r := rollout(h, rollout_id)).state is RolloutState.PAUSED and r, what="paused as inconclusive"
    )
    assert "inconclusive" in (record.stop_reason or "") and "5 times in a row" in record.stop_reason
    h.sim_state.faults.error_rate = 0.0
    assert any("inconclusive" in reply for reply in thread(h, rollout_id))


def test_a_slow_rate_schedules_the_next_wave_late_enough_to_create_it(good: Harness) -> None:
    """At 6 a minute, wave 2's 8 devices take 70 s to create: it is scheduled at least MIN_LEAD_SECONDS (60) + 70 s
    after it starts, more than ROLLOUT_LEAD_SECONDS (90), so its last operation is created before its time."""
    h = good
    rollout_id = start(h, "rollout reboot GW0000* in 10 minutes waves=20,100 soak=0 rate=6/min")
    click(h, "rollout_approve", rollout_id)
    wait_until(lambda: len(h.sim_state.order) == 2, timeout=30, what="wave 1's two operations")

    def wave_two() -> list[Any]:
        return [w for w in db(h.database_url, lambda s: s.wave_requests(rollout_id)) if w.wave == 2]  # type: ignore[attr-defined]

    for _ in range(40):
        if wave_two():
            break
        advance(h, 60)
        time.sleep(1.2)
    (wave,) = wave_two()
    started = rollout(h, rollout_id).wave_started_at
    assert (wave.scheduled_time - started).total_seconds() >= 60 + 70 - 1


@pytest.fixture
def staggered(tmp_path: Path, database_url: str) -> Iterator[Harness]:
    """Six devices an hour apart (fixed-offset zones UTC+1…UTC+6), every operation failing."""
    zones = [f"Etc/GMT-{n}" for n in range(1, 7)]  # (POSIX signs: Etc/GMT-3 is UTC+3)
    yield from fleet_harness(
        tmp_path, database_url, inventory_csv(6, zones=zones), sim_config={"failure_rate": 1.0, "run_seconds": 5.0},
        clock=OffsetClock(), maintenance_interval=0.3, poll_interval_seconds=1, oncall_group=ONCALL,
    )  # fmt: skip


def test_failures_abort_after_exactly_min_executed(staggered: Harness) -> None:
    """Device-local 02:00 staggers the executions an hour apart: the rollout aborts when the third has failed
    (min_executed=3), the other three still pending — created, listed as such, never cancelled — and nothing else."""
    h = staggered
    rollout_id = start(h, "rollout reboot GW* tomorrow 02:00 device-local waves=100 min_executed=3 rate=6000/min")
    click(h, "rollout_approve", rollout_id)
    wait_until(lambda: len(h.sim_state.order) == 6, what="the six operations")
    first = rollout(h, rollout_id).scheduled_time
    advance(h, (first - h.runtime.deps.clock()).total_seconds() - 60)  # type: ignore[attr-defined]
    for _ in range(30):
        if rollout(h, rollout_id).state is RolloutState.ABORTED:
            break
        advance(h, 20 * 60)  # one execution at most between two looks
        time.sleep(1.5)
    record = rollout(h, rollout_id)
    assert record.state is RolloutState.ABORTED
    assert "3 of 3 executed operations failed" in (record.stop_reason or ""), record.stop_reason
    assert len(h.sim_state.order) == 6
    aborted = [reply for reply in thread(h, rollout_id) if "abort" in reply.lower()]
    assert len(aborted) == 1 and "cannot be cancelled" in aborted[0], aborted
