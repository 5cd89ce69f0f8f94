"""Rollouts on the App Home, through the real endpoint (SQLite and PostgreSQL): a rollout waiting for approval is in
the approver's "Waiting for you" with the rollout message's Approve / Reject; once approved it is an active rollout
with Pause (then Resume); a manual gate puts Promote in "Waiting for you". Each click is the channel button's action
id and value, decided once by the rollout service's compare-and-set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.clock import OffsetClock
from bot.domain.rollouts import RolloutState
from tests.integration.test_home import home_buttons, home_click, open_home, publishes, view_text
from tests.integration.test_rollouts import rollout, start, until_state
from tests.support.fleet import fleet_harness, inventory_csv
from tests.support.flows import wait_until
from tests.support.harness import APPROVER, REQUESTER, Harness


@pytest.fixture
def h(tmp_path: Path, database_url: str) -> Iterator[Harness]:
    for harness in fleet_harness(
        tmp_path, database_url, inventory_csv(20), sim_config={"failure_rate": 0.0, "run_seconds": 5.0},
        clock=OffsetClock(), maintenance_interval=0.3, poll_interval_seconds=1, rollout_lead_seconds=90,
        bench_options={"reject_invalid_blocks": True},
    ):  # fmt: skip
        harness.runtime.home.min_interval = 0.3
        yield harness


def latest_home(h: Harness, user: str, shows: str) -> Any:
    """The user's home once a publish shows ``shows`` (it is re-published as the rollout changes)."""
    return wait_until(lambda: [c for c in publishes(h, user) if c.ok and shows in view_text(c)], timeout=15,
                      what=f"{user}'s home showing {shows!r}")[-1]  # fmt: skip


def test_a_rollout_is_decided_paused_and_promoted_from_the_home(h: Harness) -> None:
    rollout_id = start(h, "rollout reboot GW0000* in 10 minutes waves=30,100 gate=manual soak=0 rate=6000/min")
    open_home(h, APPROVER)
    open_home(h, REQUESTER)
    waiting = view_text(latest_home(h, APPROVER, f"*Rollout* `{rollout_id}`"))
    assert "Waiting for you (1)" in waiting
    assert f"`{rollout_id}`" not in view_text(publishes(h, REQUESTER)[-1]).split("Your requests")[0], "four eyes"
    approve = home_buttons(h, APPROVER)["Approve"]
    assert (approve["action_id"], approve["value"]) == ("rollout_approve", rollout_id)
    home_click(h, APPROVER, "rollout_approve", rollout_id)
    wait_until(lambda: rollout(h, rollout_id).state is not RolloutState.PENDING_APPROVAL, what="approved")
    assert rollout(h, rollout_id).decided_by == APPROVER
    active = latest_home(h, APPROVER, "Active rollouts (1)")
    assert home_buttons(h, APPROVER).get("Pause", {}).get("value") == rollout_id, view_text(active)
    home_click(h, APPROVER, "rollout_pause", rollout_id)
    wait_until(lambda: rollout(h, rollout_id).state is RolloutState.PAUSED, what="paused")
    latest_home(h, APPROVER, "paused")
    wait_until(lambda: "Resume" in home_buttons(h, APPROVER), what="Resume on the home")
    home_click(h, APPROVER, "rollout_resume", rollout_id)
    until_state(h, rollout_id, RolloutState.WAITING_PROMOTE)
    latest_home(h, APPROVER, "waits for a promote")
    home_click(h, APPROVER, "rollout_promote", rollout_id)
    until_state(h, rollout_id, RolloutState.COMPLETED)
    assert len(h.sim_state.order) == 10, "each device once"
