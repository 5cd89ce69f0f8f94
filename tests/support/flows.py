"""Steps of the scheduling flow through the real HTTP endpoint, shared by the integration and crash tests.

A person schedules (quick form or modal), confirms, and an approver clicks Approve or Reject on the approval
message; these helpers send those signed requests to a ``Harness`` and read what the bench and the simulator
received. ``db`` reads the bot's database from the test's side; ``wait_until`` polls for an event, never sleeps a
fixed time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from bot.simulator import DOCUMENTED_SERIAL
from bot.store import Store
from tests.support.harness import APPROVAL_CHANNEL, Harness


def db(url: str, work: Callable[[Store], Any]) -> Any:
    """Run ``work(store)`` on a Store of its own (the bot's lives on the server's event loop)."""

    async def run() -> Any:
        async with Store(url) as store:
            return await work(store)

    return asyncio.run(run())


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def ops_for(h: Harness, serial: str) -> list[Any]:
    return [op for op in h.sim_state.operations.values() if op.device_serial == serial]


def buttons(message: Any) -> dict[str, dict[str, Any]]:
    body = message.body if hasattr(message, "body") else message
    found = {}
    for block in body.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("type") == "button":
                found[element["text"]["text"]] = element
    return found


def schedule_and_confirm(h: Harness, text: str = f"schedule {DOCUMENTED_SERIAL} reboot tomorrow at 2am") -> str:
    """Quick form + Confirm by the requester; returns the request id once its approval message is posted and,
    when the test can read the bot's database, recorded (Slack takes the message a moment before the bot writes
    down where it is: a test that clicks or cuts the database in between races the bot)."""
    _, request = h.command(text)
    (confirmation,) = h.responses(request)
    confirm = buttons(confirmation)["Confirm"]
    click = h.sender.block_action("schedule_confirm", confirm["value"], block_id="confirm_actions",
                                  is_ephemeral=True, response_url=request.response_url)  # fmt: skip
    h.sender.send(click)
    request_id = str(confirm["value"])
    post = wait_until(lambda: approval_posts(h, request_id), what="the approval message")[-1]
    url = getattr(h, "database_url", None)
    if url is not None:
        wait_until(lambda: db(url, lambda s: s.get_request(request_id)).approval_ts == post.response["ts"],
                   what="the approval message recorded")  # fmt: skip
    return request_id


def approval_posts(h: Harness, request_id: str | None = None) -> list[Any]:
    """Approval messages Slack took, oldest first (only those of ``request_id`` when given)."""
    return [
        c for c in h.bench.calls_to("chat.postMessage")
        if c.ok and c.body.get("channel") == APPROVAL_CHANNEL and (not request_id or request_id in json.dumps(c.body))
    ]  # fmt: skip


def approval_post(h: Harness, request_id: str | None = None) -> Any:
    posts = approval_posts(h, request_id)
    assert posts, "no approval message"
    return posts[-1]


def click_decision(h: Harness, label: str, user: str, request_id: str, **kwargs: Any) -> Any:
    """``Approve`` or ``Reject`` on the request's own approval message; (the click, the HTTP response)."""
    post = approval_post(h, request_id)
    action_id = {"Approve": "approval_approve", "Reject": "approval_reject"}[label]
    click = h.sender.block_action(
        action_id, request_id, block_id="approval_actions", user_id=user, channel_id=APPROVAL_CHANNEL,
        message_ts=post.response["ts"],
    )  # fmt: skip
    return click, h.sender.send(click, **kwargs)


def form_view(tz: str) -> dict[str, Any]:
    """The schedule modal as Slack sends it back on submit (the fields the bot reads)."""
    return {"id": "V0FORM", "type": "modal", "callback_id": "schedule_modal", "private_metadata": f'{{"tz": "{tz}"}}'}


def modal_values(serials: str, op_type: str, when: str, parameters: str = "") -> dict[str, Any]:
    values: dict[str, Any] = {
        "serials": {"value": {"type": "plain_text_input", "value": serials}},
        "when": {"when_input": {"type": "plain_text_input", "value": when}},
        "parameters": {"value": {"type": "plain_text_input", "value": parameters}},
        "notify_channel": {"value": {"type": "conversations_select", "selected_conversation": None}},
    }
    if op_type:
        values["operation_type"] = {
            "value": {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": op_type},
                                                                  "value": op_type}}
        }  # fmt: skip
    return values
