"""``OPERATIONS_FILE`` through the real HTTP endpoint: the modal's fields per parameter (``views.update`` when the
type changes, errors inline on each field, the live preview still working), the quick form naming the parameter and
the rule, ``/headless types``, and an API 400 about a parameter named in the item's error.

The bot runs as ``serve`` builds it; Slack is the bench, the Control API the simulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.domain.requests import ItemState
from bot.simulator import DOCUMENTED_SERIAL
from tests.support.flows import click_decision, db, schedule_and_confirm, wait_until
from tests.support.harness import APPROVER, Harness, bot_harness
from tests.support.slack_text import texts

SAMPLE = Path(__file__).parents[2] / "bot" / "console" / "samples" / "operations.yaml"
FW = "param:firmware_update:"


@pytest.fixture
def harness() -> Iterator[Harness]:
    with bot_harness(operations_file=str(SAMPLE)) as h:
        yield h
        h.bench.assert_no_violations()


def open_form(h: Harness) -> dict[str, Any]:
    h.command("schedule")
    (opened,) = h.bench.wait_for("views.open")  # with the person's zone: looked up for their language, before the ack
    return opened.response["view"]


def block_ids(view: dict[str, Any]) -> list[str]:
    return [b.get("block_id", "") for b in view["blocks"]]


def choose(h: Harness, view_id: str, op_type: str, state: dict[str, Any] | None = None) -> None:
    option = {"text": {"type": "plain_text", "text": op_type}, "value": op_type}
    values = {**(state or {}), "operation_type": {"value": {"type": "static_select", "selected_option": option}}}
    h.sender.send(h.sender.block_action("value", None, block_id="operation_type", action_type="static_select",
                                        selected_option=option, view=view_id, state_values=values))  # fmt: skip


def typed(value: str) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": value}}


def test_the_modal_shows_the_chosen_types_fields_and_keeps_the_others(harness: Harness) -> None:
    h = harness
    view = open_form(h)
    assert "parameters" not in block_ids(view), "one field per parameter instead of the free text"
    type_block = view["blocks"][block_ids(view).index("operation_type")]
    assert type_block["dispatch_action"] is True
    assert [o["value"] for o in type_block["element"]["options"]] == [
        "firmware_update", "configuration_update", "reboot", "diagnostics", "factory_reset",
    ]  # fmt: skip
    before = [b for b in block_ids(h.bench.views[view["id"]]) if not b.startswith("param:")]

    choose(h, view["id"], "firmware_update", {"serials": typed(DOCUMENTED_SERIAL)})
    updated = h.bench.wait_for("views.update", count=1)[-1].body["view"]
    fields = {b["block_id"]: b for b in updated["blocks"] if b["block_id"].startswith("param:")}
    assert list(fields) == [FW + "target_version", FW + "restart_required"]
    version = fields[FW + "target_version"]
    assert version["optional"] is False and version["element"]["type"] == "plain_text_input"
    assert "Required." in version["hint"]["text"] and "1.10.2" in version["hint"]["text"]
    restart = fields[FW + "restart_required"]
    assert restart["element"]["type"] == "checkboxes" and restart["element"]["initial_options"], "default true"
    assert [b for b in block_ids(updated) if not b.startswith("param:")] == before, "the other fields are kept"
    assert "Install a firmware version" in texts(updated)

    choose(h, view["id"], "configuration_update")
    updated = h.bench.wait_for("views.update", count=2)[-1].body["view"]
    assert not [b for b in block_ids(updated) if b.startswith(FW)], "the other type's fields are gone"
    profile = next(b for b in updated["blocks"] if b["block_id"] == "param:configuration_update:config_profile")
    assert profile["element"]["type"] == "static_select"
    assert '"production_v2"' in [o["value"] for o in profile["element"]["options"]]

    choose(h, view["id"], "reboot")
    updated = h.bench.wait_for("views.update", count=3)[-1].body["view"]
    assert not [b for b in block_ids(updated) if b.startswith("param:")]
    assert "No parameters." in texts(updated)


def test_the_live_preview_keeps_the_fields(harness: Harness) -> None:
    h = harness
    view = open_form(h)
    choose(h, view["id"], "diagnostics")
    h.bench.wait_for("views.update", count=1)
    state = {"when": {"when_input": {"type": "plain_text_input", "value": "tomorrow 2am"}}}
    h.sender.send(h.sender.block_action("when_input", None, block_id="when", action_type="plain_text_input",
                                        view=view["id"], state_values=state))  # fmt: skip
    preview = h.bench.wait_for("views.update", count=2)[-1].body["view"]
    assert "02:00" in texts(preview) and "UTC" in texts(preview)
    duration = next(b for b in preview["blocks"] if b["block_id"] == "param:diagnostics:duration_minutes")
    assert duration["element"]["type"] == "number_input" and duration["element"]["initial_value"] == "10"


def submit(h: Harness, view_id: str, op_type: str, fields: dict[str, Any]) -> Any:
    option = {"text": {"type": "plain_text", "text": op_type}, "value": op_type}
    values = {
        "serials": typed(DOCUMENTED_SERIAL),
        "operation_type": {"value": {"type": "static_select", "selected_option": option}},
        "when": {"when_input": {"type": "plain_text_input", "value": "tomorrow 3am"}},
        "notify_channel": {"value": {"type": "conversations_select", "selected_conversation": None}},
        **fields,
    }
    return h.sender.send(h.sender.view_submission("schedule_modal", values, view=view_id))


def test_errors_are_inline_on_each_parameters_field(harness: Harness) -> None:
    h = harness
    view = open_form(h)
    choose(h, view["id"], "diagnostics")
    h.bench.wait_for("views.update", count=1)
    bad = {
        "param:diagnostics:duration_minutes": {"value": {"type": "number_input", "value": "500"}},
        "param:diagnostics:level": {"value": {"type": "static_select", "selected_option": None}},
    }
    body = submit(h, view["id"], "diagnostics", bad).json()
    assert body["response_action"] == "errors"
    assert body["errors"] == {"param:diagnostics:duration_minutes": "Parameter duration_minutes: must be at most 120."}

    choose(h, view["id"], "firmware_update")
    h.bench.wait_for("views.update", count=2)
    unchecked = {"value": {"type": "checkboxes", "selected_options": []}}
    bad = {FW + "target_version": typed("v2"), FW + "restart_required": unchecked}
    body = submit(h, view["id"], "firmware_update", bad).json()
    assert set(body["errors"]) == {FW + "target_version"}
    assert body["errors"][FW + "target_version"].startswith(
        "Parameter target_version: must match ^\\d+\\.\\d+(\\.\\d+)?$ (like 1.10.2)"
    )
    missing = submit(h, view["id"], "firmware_update", {FW + "target_version": typed("")}).json()
    assert missing["errors"][FW + "target_version"].startswith("Parameter target_version is required")


def test_a_valid_form_sends_typed_values_and_defaults(harness: Harness) -> None:
    h = harness
    view = open_form(h)
    choose(h, view["id"], "diagnostics")
    h.bench.wait_for("views.update", count=1)
    fields = {"param:diagnostics:duration_minutes": {"value": {"type": "number_input", "value": "30"}}}
    response = submit(h, view["id"], "diagnostics", fields)
    assert response.status_code == 200 and response.text in ("", "null")
    posted = wait_until(lambda: [c for c in h.bench.calls_to("chat.postMessage") if "diagnostics" in texts(c.body)])
    shown = texts(posted[0].body)
    assert "`duration_minutes=30`" in shown, "a number, not the text 30"
    assert '`level="basic"`' in shown, "the default applied"


def test_the_quick_form_names_the_parameter_and_the_rule(harness: Harness) -> None:
    h = harness
    _, request = h.command(f"schedule {DOCUMENTED_SERIAL} firmware_update tomorrow 2am target_version=1.x")
    (answer,) = h.responses(request)
    shown = texts(answer)
    assert "Parameter target_version: must match ^\\d+\\.\\d+(\\.\\d+)?$ (like 1.10.2)" in shown
    _, request = h.command(f"schedule {DOCUMENTED_SERIAL} firmware_update tomorrow 2am restart_required=true")
    assert "Parameter target_version is required" in texts(h.responses(request)[0])
    _, request = h.command(f"schedule {DOCUMENTED_SERIAL} diagnostics tomorrow 2am duration_minutes=45 level=full")
    confirmation = texts(h.responses(request)[0])
    assert "`duration_minutes=45`" in confirmation and '`level="full"`' in confirmation
    _, request = h.command(f"schedule {DOCUMENTED_SERIAL} reboot tomorrow 2am force=true")
    assert "Parameter force is not a parameter of reboot; it takes no parameters." in texts(h.responses(request)[0])


def test_types_lists_each_type_and_its_parameters(harness: Harness) -> None:
    response, _ = harness.command("types")
    shown = texts(response.json())
    assert "firmware_update" in shown and "factory_reset" in shown
    assert "`target_version` (text, required, matching ^\\d+\\.\\d+(\\.\\d+)?$, like 1.10.2)" in shown
    assert "`restart_required` (true or false, optional, default true)" in shown
    assert "`config_profile` (one of production_v2, production_v1, staging, lab, required)" in shown
    assert "window policy block" in shown
    help_text = texts(harness.command("help")[0].json())
    assert "/headless types" in help_text


def test_without_a_file_types_are_operation_types_with_free_parameters() -> None:
    with bot_harness(operation_types="reboot,diagnostics") as h:
        shown = texts(h.command("types")[0].json())
        assert "`reboot`" in shown and "`diagnostics`" in shown
        assert "Parameters are free" in shown
        h.command("schedule")
        (opened,) = h.bench.wait_for("views.open")
        assert "parameters" in block_ids(opened.response["view"]), "the modal is as before"
        type_block = next(b for b in opened.response["view"]["blocks"] if b["block_id"] == "operation_type")
        assert "dispatch_action" not in type_block


def test_an_api_refusal_naming_a_parameter_is_shown_on_it(tmp_path: Path) -> None:
    """Without a file the bot sends what was typed; the API's 400 about target_version names it in the item's error."""
    database = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    with bot_harness(sim_config={"check_parameters": True}, maintenance_interval=0.3, database_url=database) as h:
        request_id = schedule_and_confirm(h, f"schedule {DOCUMENTED_SERIAL} firmware_update tomorrow 2am "
                                             "target_version=latest")  # fmt: skip
        click_decision(h, "Approve", APPROVER, request_id)

        def failed() -> Any:
            record = db(h.settings.database_url, lambda s: s.get_request(request_id))
            return record if record.items[0].state is ItemState.FAILED else None

        record = wait_until(failed, what="the failed item")
        assert record.items[0].error == (
            "Parameter target_version: the Control API refused it: Enter a valid version number, like 1.2.3."
        )
        updates = wait_until(lambda: [c for c in h.bench.calls_to("chat.update") if "Parameter target_version"
                                      in texts(c.body)])  # fmt: skip
        assert updates
