"""The access gate knows every entry point: each listener the app registers has a gate, so a listener added later
without one is caught here (under rules the middleware would deny it), and each payload reads as the right action."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.slack.access import DEFERRED, FREE, gate_of
from bot.slack.app import LISTENER_MODULES

TYPES = ["firmware_update", "config_update", "reboot", "diagnostics"]


class RecordingApp:
    """Stands in for bolt's AsyncApp in ``register(app)``: records what each listener is registered for."""

    def __init__(self) -> None:
        self.registered: list[tuple[str, Any]] = []

    def _record(self, kind: str) -> Callable[..., Callable[[Any], Any]]:
        def register(matcher: Any, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
            self.registered.append((kind, matcher))
            return lambda handler: handler

        return register

    def __getattr__(self, kind: str) -> Callable[..., Callable[[Any], Any]]:
        return self._record(kind)


def registered() -> list[tuple[str, Any]]:
    app = RecordingApp()
    for module in LISTENER_MODULES:
        module.register(app)
    return app.registered


def body_for(kind: str, matcher: Any) -> dict[str, Any]:
    if kind == "command":
        return {"command": matcher, "text": "list", "channel_id": "C0A", "user_id": "U0A"}
    if kind == "action":
        action_id = matcher["action_id"] if isinstance(matcher, dict) else matcher
        block_id = matcher.get("block_id") if isinstance(matcher, dict) else "b"
        body: dict[str, Any] = {"type": "block_actions", "user": {"id": "U0A"}, "channel": {"id": "C0A"},
                                "actions": [{"action_id": action_id, "block_id": block_id}]}  # fmt: skip
        if isinstance(matcher, dict):  # an input inside a form (registered by its block)
            body["view"] = {"type": "modal", "callback_id": "schedule_modal", "private_metadata": "{}"}
        return body
    if kind == "view":
        return {"type": "view_submission", "user": {"id": "U0A"}, "view": {"callback_id": matcher, "state": {}}}
    if kind == "shortcut":
        callback = matcher["callback_id"] if isinstance(matcher, dict) else matcher
        return {"type": "shortcut", "user": {"id": "U0A"}, "callback_id": callback}
    if kind == "event":
        return {"type": "event_callback", "event": {"type": matcher}}
    raise AssertionError(f"a listener of a kind the gate test does not know: {kind}")


def test_every_registered_listener_has_a_gate() -> None:
    seen = registered()
    assert len(seen) >= 15  # the table below is not vacuous
    missing = [(kind, matcher) for kind, matcher in seen if gate_of(body_for(kind, matcher), TYPES) is None]
    assert not missing, f"listeners with no access gate (add them to bot/slack/access.py): {missing}"


def test_an_unknown_button_has_no_gate() -> None:
    body = {"type": "block_actions", "user": {"id": "U0A"}, "actions": [{"action_id": "launch_missiles"}]}
    assert gate_of(body, TYPES) is None


@pytest.mark.parametrize(
    ("text", "action", "family"),
    [
        ("list status=failed", "list", False),
        ("status txn_1", "status", False),
        ("refresh txn_1", "refresh", False),
        ("watch txn_1", "watch", False),
        ("unwatch txn_1", "watch", False),
        ("audit", "audit", False),
        ("devices site:a", "devices", False),
        ("rollouts", "list", False),
        ("schedule", "schedule", True),
        ("schedule SN123456789 Firmware-Update tomorrow 2am", "schedule:firmware_update", False),
        ("schedule SN123456789 reboot", "schedule", True),  # unreadable: the listener says what to type
        ("schedule SN123456789 rebot tomorrow 2am", "schedule", True),  # a typo of a type: no type, no creation
        ("rollout", "rollout", True),
        ("rollout reboot site:a tomorrow 2am waves=50,100", "rollout:reboot", False),
        ("help", FREE, False),
        ("can schedule:reboot", FREE, False),
        ("types", FREE, False),
        ("frobnicate", FREE, False),
    ],
)
def test_commands_read_as_their_action(text: str, action: str, family: bool) -> None:
    gate = gate_of({"command": "/headless", "text": text, "channel_id": "C0A"}, TYPES)
    assert gate is not None
    assert (gate.action, gate.family, gate.place) == (action, family, "C0A")


def test_a_form_submission_reads_the_type_chosen_and_where_the_form_was_opened() -> None:
    view = {
        "callback_id": "schedule_modal",
        "private_metadata": '{"channel_id": "C0FIRMWARE"}',
        "state": {"values": {"operation_type": {"value": {"selected_option": {"value": "firmware_update"}}}}},
    }
    gate = gate_of({"type": "view_submission", "view": view}, TYPES)
    assert gate is not None
    assert (gate.action, gate.place, gate.field) == ("schedule:firmware_update", "C0FIRMWARE", "operation_type")
    view["state"]["values"]["operation_type"]["value"]["selected_option"]["value"] = "self_destruct"
    crafted = gate_of({"type": "view_submission", "view": view}, TYPES)
    assert crafted is not None and crafted.action == "schedule" and crafted.family


def test_buttons_whose_rule_needs_the_stored_request_are_deferred() -> None:
    for action_id in ("approval_approve", "approval_reject", "schedule_confirm", "rollout_approve", "rollout_clone"):
        gate = gate_of({"type": "block_actions", "actions": [{"action_id": action_id}], "channel": {"id": "C0A"}},
                       TYPES)  # fmt: skip
        assert gate is not None and gate.action == DEFERRED, action_id
    pause = gate_of({"type": "block_actions", "actions": [{"action_id": "rollout_pause"}]}, TYPES)
    assert pause is not None and (pause.action, pause.place) == ("rollout.pause", "dm")
