"""The rollout form through the real endpoint: ``/headless rollout`` alone and the "Start a rollout" shortcut open
it, its live preview reads the typed time, each problem goes inline on its field, and Submit stores a draft whose
preview (with Confirm) reaches the person as the quick form's does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.domain.rollouts import RolloutState
from tests.support.fleet import fleet_harness, inventory_csv
from tests.support.flows import db, wait_until
from tests.support.harness import REQUESTER, Harness


@pytest.fixture
def h(tmp_path: Path, database_url: str) -> Iterator[Harness]:
    yield from fleet_harness(tmp_path, database_url, inventory_csv(10))


def selected(value: str) -> dict[str, Any]:
    option = {"text": {"type": "plain_text", "text": value}, "value": value}
    return {"value": {"type": "static_select", "selected_option": option}}


def form(op_type: str, targets: str, when: str, **options: str) -> dict[str, Any]:
    values: dict[str, Any] = {
        "rollout_type": selected(op_type),
        "rollout_targets": {"value": {"type": "plain_text_input", "value": targets}},
        "rollout_when": {"rollout_when_input": {"type": "plain_text_input", "value": when}},
        "rollout_gate": selected("auto"),
    }
    for name, value in options.items():
        values[f"rollout_option_{name}"] = {"value": {"type": "plain_text_input", "value": value}}
    return values


def submit(h: Harness, values: dict[str, Any]) -> Any:
    """The form submitted from the command in C111 (the channel the command came from)."""
    meta = '{"tz": "UTC", "channel_id": "C111"}'
    view = {"id": "V0ROLL", "type": "modal", "callback_id": "rollout_modal", "private_metadata": meta}
    return h.sender.send(h.sender.view_submission("rollout_modal", values, view=view))


def test_the_command_alone_and_the_shortcut_open_the_form(h: Harness) -> None:
    response, _ = h.command("rollout")
    assert response.status_code == 200
    (opened,) = h.bench.wait_for("views.open")
    view = opened.body["view"]
    assert view["callback_id"] == "rollout_modal"
    ids = [b.get("block_id") for b in view["blocks"]]
    assert {"rollout_type", "rollout_targets", "rollout_when", "rollout_option_waves", "rollout_gate"} <= set(ids)
    waves = next(b for b in view["blocks"] if b.get("block_id") == "rollout_option_waves")
    assert waves["element"]["initial_value"] == "1,10,50,100"
    h.sender.send(h.sender.shortcut("start_rollout"))
    assert len(h.bench.wait_for("views.open", count=2)) == 2


def test_problems_go_inline_on_their_fields(h: Harness) -> None:
    body = submit(h, form("reboot", "GW0000*", "tomorrow 2am", waves="10,5,100", rate="fast")).json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"rollout_option_waves", "rollout_option_rate"}
    body = submit(h, form("reboot", "GW00001,SN999000001", "tomorrow 2am")).json()
    assert "1 serial is not in the inventory: SN999000001" in body["errors"]["rollout_targets"]
    body = submit(h, form("reboot", "GW0000*", "gibberish words")).json()
    assert "rollout_when" in body["errors"]


def test_the_when_field_previews_as_the_person_types(h: Harness) -> None:
    h.command("rollout")
    (opened,) = h.bench.wait_for("views.open")
    blocks = {b.get("block_id"): b for b in opened.body["view"]["blocks"]}
    assert blocks["rollout_when"]["dispatch_action"] is True
    view_id = opened.response["view"]["id"]
    typed = {"rollout_when": {"rollout_when_input": {"type": "plain_text_input", "value": "tomorrow 2am"}}}
    h.sender.send(h.sender.block_action("rollout_when_input", None, block_id="rollout_when",
                                        action_type="plain_text_input", view=view_id, state_values=typed))  # fmt: skip
    (updated,) = h.bench.wait_for("views.update")
    preview = next(b for b in updated.body["view"]["blocks"] if b.get("block_id") == "rollout_when_preview")
    shown = str(preview["elements"])
    assert "02:00 PST" in shown or "02:00 PDT" in shown  # the requester's zone (America/Los_Angeles)
    assert "Type when" not in shown


def test_submit_stores_a_draft_and_shows_its_preview_with_confirm(h: Harness) -> None:
    response = submit(h, form("reboot", "GW0000*", "tomorrow 2am", waves="50,100", soak="10m"))
    assert response.status_code == 200 and response.text in ("", "null"), response.text
    (posted,) = h.bench.wait_for("chat.postEphemeral")
    assert posted.body["channel"] == "C111" and posted.body["user"] == REQUESTER
    buttons = [e for b in posted.body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    (confirm,) = [e for e in buttons if e["text"]["text"] == "Confirm"]
    (draft,) = db(h.database_url, lambda s: s.list_rollouts())  # type: ignore[attr-defined]
    assert draft.state is RolloutState.DRAFT and confirm["value"] == draft.id
    assert draft.total == 10
    assert [len(w) for w in draft.plan] == [5, 5] and draft.options.soak.total_seconds() == 600
    h.sender.send(h.sender.block_action("rollout_confirm", confirm["value"], block_id="rollout_actions",
                                        is_ephemeral=True))  # fmt: skip

    def pending() -> list[Any]:
        found = db(h.database_url, lambda s: s.list_rollouts())  # type: ignore[attr-defined]
        return [r for r in found if r.state is RolloutState.PENDING_APPROVAL]

    (record,) = wait_until(pending, what="the rollout sent for approval")
    assert record.id == draft.id


def test_the_shortcut_s_preview_comes_as_a_direct_message(h: Harness) -> None:
    view = {"id": "V0ROLL", "type": "modal", "callback_id": "rollout_modal", "private_metadata": '{"tz": "UTC"}'}
    values = form("reboot", "GW0000*", "tomorrow 2am")
    h.sender.send(h.sender.view_submission("rollout_modal", values, view=view))
    (posted,) = h.bench.wait_for("chat.postMessage")
    assert posted.body["channel"] == REQUESTER and "Confirm" in str(posted.body["blocks"])
