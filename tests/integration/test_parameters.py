"""Parameters end to end (issue #12): what a person types is what the Control API receives, and what approvers read.

Through the real HTTP endpoint, the Slack bench and the simulator, on SQLite and PostgreSQL (the request's
parameters are stored, then POSTed from the store after approval). Pure parsing cases are in tests/unit/test_inputs.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.control.models import Operation
from bot.services.scheduling import find_match
from bot.simulator import DOCUMENTED_SERIAL
from bot.store import Store
from tests.support.flows import approval_post, buttons, click_decision, form_view, modal_values, ops_for, wait_until
from tests.support.harness import APPROVAL_CHANNEL, APPROVER, Harness, bot_harness
from tests.support.records import T0, new_request
from tests.support.slack_text import texts


@pytest.fixture
def harness(database_url: str) -> Iterator[Harness]:
    with bot_harness(database_url=database_url) as h:
        yield h
        h.bench.assert_no_violations()


def quick_form(h: Harness, text: str) -> tuple[str, str]:
    """``/headless`` + Confirm; (the confirmation's text, the request id) once the approval message is posted."""
    _, request = h.command(text)
    (confirmation,) = h.responses(request)
    shown = texts(confirmation)
    assert "Confirm" in buttons(confirmation), shown
    confirm = buttons(confirmation)["Confirm"]
    click = h.sender.block_action("schedule_confirm", confirm["value"], block_id="confirm_actions",
                                  is_ephemeral=True, response_url=request.response_url)  # fmt: skip
    h.sender.send(click)
    request_id = str(confirm["value"])
    wait_until(lambda: [c for c in h.bench.calls_to("chat.postMessage")
                        if c.body.get("channel") == APPROVAL_CHANNEL and request_id in json.dumps(c.body)],
               what="the approval message")  # fmt: skip
    return shown, request_id


def approve_and_get_sent(h: Harness, request_id: str, serial: str = DOCUMENTED_SERIAL) -> tuple[str, dict[str, Any]]:
    """Approve; (the operation id, the parameters the simulator received)."""
    click_decision(h, "Approve", APPROVER, request_id)
    (created,) = wait_until(lambda: ops_for(h, serial), what="the operation")
    return created.id, created.parameters


def status_text(h: Harness, operation_id: str) -> str:
    _, request = h.command(f"status {operation_id}")
    (answer,) = h.responses(request)
    return texts(answer.body)


def code_spans_balanced(text: str) -> bool:
    return all(line.count("`") % 2 == 0 for line in text.splitlines())


def test_quick_form_sends_text_exactly_as_typed(harness: Harness) -> None:
    """The issue's own example: "1.10" and "1.1" are different firmware, and pin 0042 is not 42."""
    h = harness
    shown, request_id = quick_form(
        h, f"schedule {DOCUMENTED_SERIAL} firmware_update tomorrow 2pm ET target_version=1.10 pin=0042"
    )
    assert '`target_version="1.10"`, `pin="0042"`' in shown
    assert '`target_version="1.10"`, `pin="0042"`' in texts(approval_post(h, request_id).body)
    operation_id, sent = approve_and_get_sent(h, request_id)
    assert json.dumps(sent) == json.dumps({"target_version": "1.10", "pin": "0042"})
    assert '`target_version="1.10"`, `pin="0042"`' in status_text(h, operation_id)


def test_quick_form_quotes_json_and_phone_typography(harness: Harness) -> None:
    h = harness
    typed = (
        f"schedule {DOCUMENTED_SERIAL} configuration_update tomorrow at 3am "
        "note=“café  au lait” retries:=3 limits:={“cpu”: 2} tag:=null restart_required=True empty= code='a`b'"
    )
    shown, request_id = quick_form(h, typed)
    expected = {"note": "café  au lait", "retries": 3, "limits": {"cpu": 2}, "tag": None,
                "restart_required": True, "empty": "", "code": "a`b"}  # fmt: skip
    listed = '`note="café  au lait"`, `retries=3`, `limits={"cpu": 2}`, `tag=null`, `restart_required=true`'
    approval = texts(approval_post(h, request_id).body)
    for text in (shown, approval):
        assert listed in text and '`empty=""`' in text, text
        assert code_spans_balanced(text), text
    operation_id, sent = approve_and_get_sent(h, request_id)
    assert json.dumps(sent) == json.dumps(expected)
    status = status_text(h, operation_id)
    assert '`note="café  au lait"`' in status and "\\u00e9" not in status
    assert code_spans_balanced(status), status


def test_a_bad_parameter_is_reported_as_the_parameter(harness: Harness) -> None:
    for params, words in [
        ("note=hello world", "put the value in quotes"),
        ('limits:={"cpu": 2', "Parameter limits"),
        ('note="open', "Parameter note"),
    ]:
        _, request = harness.command(f"schedule {DOCUMENTED_SERIAL} reboot tomorrow at 2am {params}")
        (answer,) = harness.responses(request)
        shown = texts(answer)
        assert "*Parameters*" in shown and words in shown, shown
        assert "*When*" not in shown, shown
    assert ops_for(harness, DOCUMENTED_SERIAL) == []


def test_one_device_whatever_the_case_of_its_serial(harness: Harness) -> None:
    h = harness
    shown, request_id = quick_form(h, f"schedule {DOCUMENTED_SERIAL},{DOCUMENTED_SERIAL.lower()} reboot tomorrow 2am")
    assert "*Device* " in shown and DOCUMENTED_SERIAL.lower() not in shown
    approve_and_get_sent(h, request_id)
    assert len(ops_for(h, DOCUMENTED_SERIAL)) == 1


def test_modal_reads_parameters_by_the_same_rules(harness: Harness) -> None:
    h = harness
    parameters = 'target_version=1.10\npin=0042 note="two  words"\nretries:=3\nflags:=["a b"]\nevil=x\u202eyz'
    values = modal_values(DOCUMENTED_SERIAL, "firmware_update", "tomorrow 3am", parameters)
    response = h.sender.send(h.sender.view_submission("schedule_modal", values, view=form_view("UTC")))
    assert response.status_code == 200 and response.text in ("", "null"), response.text
    post = wait_until(lambda: approval_posts_any(h), what="the approval message")[-1]
    approval = texts(post.body)
    assert '`target_version="1.10"`, `pin="0042"`, `note="two  words"`, `retries=3`, `flags=["a b"]`' in approval
    assert "\u202e" not in approval and '`evil="x\ufffdyz"`' in approval
    request_id = buttons(post)["Approve"]["value"]
    _, sent = approve_and_get_sent(h, request_id)
    assert json.dumps(sent) == json.dumps({"target_version": "1.10", "pin": "0042", "note": "two  words",
                                           "retries": 3, "flags": ["a b"], "evil": "x\u202eyz"})  # fmt: skip


def test_modal_errors_echo_no_direction_override(harness: Harness) -> None:
    values = modal_values("SN\u202e987654321", "reboot", "tomorrow 2am", "n:=bad\u202eword")
    body = harness.sender.send(harness.sender.view_submission("schedule_modal", values, view=form_view("UTC"))).json()
    assert body["response_action"] == "errors" and {"serials", "parameters"} <= set(body["errors"]), body
    for error in body["errors"].values():
        assert "\u202e" not in error, error
    assert "\ufffd" in body["errors"]["serials"] and "\ufffd" in body["errors"]["parameters"]


def approval_posts_any(h: Harness) -> list[Any]:
    return [c for c in h.bench.calls_to("chat.postMessage") if c.ok and c.body.get("channel") == APPROVAL_CHANNEL]


async def test_audit_finds_a_serial_whatever_its_case(store: Store) -> None:
    request = await store.create_request(new_request(device_serials=["sn123456789"]), at=T0)
    await store.audit("U1", "schedule", "sn123456789", outcome="pending", request_id=request.id, at=T0)
    await store.audit("U2", "approve", request.id, outcome="approved", request_id=request.id, at=T0)
    await store.audit("U3", "refresh", "Sn123456789", outcome="ok", at=T0)
    found = await store.recent_audit(DOCUMENTED_SERIAL)
    assert sorted(a.action for a in found) == ["approve", "refresh", "schedule"]


async def test_a_serial_differing_only_by_case_is_one_item_and_reconciles(store: Store) -> None:
    """The store's own de-duplication, and reconciliation after a lost POST, compare serials as parse_serials does:
    an API that answers ``SN123456789`` for a request typed ``sn123456789`` must not get a second POST."""
    request = await store.create_request(new_request(device_serials=["sn123456789", "SN123456789"]), at=T0)
    (item,) = request.items
    assert item.device_serial == "sn123456789"
    created = Operation.model_validate(
        {"id": "txn_1", "device_serial": DOCUMENTED_SERIAL, "operation_type": request.operation_type,
         "status": "scheduled", "scheduled_time": request.scheduled_time.isoformat(), "created_at": T0.isoformat()}
    )  # fmt: skip
    assert find_match([created], request, item) == created
