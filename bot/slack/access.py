"""The access gate every Slack request passes through before any listener runs (a bolt middleware).

``gate_of`` reads, from the payload alone, which action a request needs and where it happens: a slash command by its
subcommand (the quick forms by their operation type, read as the service reads it), a button by its ``action_id``,
a form's submission by its ``callback_id`` and the type chosen in it, a shortcut by its ``callback_id``. A denied
request never reaches its listener: the person reads why, the denial is audited and counted.

What the payload cannot tell (the operation type of the request an Approve button names) is ``DEFERRED``: the
listener checks it with ``require_for`` once it has the stored request, when the click is handled (not when the
button was shown). A request of a kind this table does not know is denied whenever rules are configured, so an entry
point added later cannot slip past: ``tests/unit/test_access_gate.py`` checks every registered listener is here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse

from bot.domain.access import NotAllowed, Outcome, Verdict, place_of, typed_action
from bot.services.inputs import InputError, parse_operation_type, split_quick_form
from bot.services.rollouts import split_rollout_quick
from bot.services.schedule_form import FormErrors
from bot.slack.blocks import inventory as ib
from bot.slack.blocks import operations as ob
from bot.slack.blocks import rollout_modal as rm
from bot.slack.blocks import rollouts as rb
from bot.slack.blocks import scheduling as sb
from bot.slack.blocks.common import text_message
from bot.slack.commands import (
    AuditRequest,
    DevicesRequest,
    ListRequest,
    ParsedCommand,
    RefreshRequest,
    RolloutRequest,
    RolloutsRequest,
    RolloutStatusRequest,
    ScheduleRequest,
    StatusRequest,
    UnwatchRequest,
    WatchRequest,
    parse_command,
)
from bot.slack.deps import SlackDeps
from bot.slack.modal import as_dict, context_of, form_from_view
from bot.slack.payloads import user_id_of
from bot.slack.respond import safe_respond
from bot.slack.rollout_modal import form_words
from bot.slack.wording import access_denied_text

log = logging.getLogger("bot.access")

COMMAND = "/headless"
FREE = "free"  # nothing to check (help, can, cancelling one's own draft, an event)
DEFERRED = "deferred"  # the listener checks, once it has the stored request


@dataclass(frozen=True)
class Gate:
    """What one request needs: ``action`` (``FREE``, ``DEFERRED``, an action such as ``schedule:reboot``, or a
    family such as ``schedule`` meaning "any type of it") in ``place``; ``field`` is the form block a denial is
    shown on (a submission)."""

    action: str
    place: str
    family: bool = False
    field: str | None = None


#: Buttons and inputs by ``action_id``.
ACTION_GATES: dict[str, str] = {
    ob.ACTION_LIST_MORE: "list",
    ib.ACTION_DEVICES_MORE: "devices",
    ob.ACTION_REFRESH: "refresh",
    sb.ACTION_WHEN: "schedule",  # typing in the schedule form: may schedule something here
    sb.ACTION_CONFIRM: DEFERRED,  # schedule:<the draft's type>
    sb.ACTION_CANCEL: FREE,  # only the requester's own draft; cancelling never does anything
    sb.ACTION_APPROVE: DEFERRED,  # approve:<the request's type>
    sb.ACTION_REJECT: DEFERRED,
    rm.ACTION_ROLLOUT_WHEN: "rollout",
    rb.ACTION_ROLLOUT_CONFIRM: DEFERRED,  # rollout:<the draft's type>
    rb.ACTION_ROLLOUT_CANCEL: FREE,
    rb.ACTION_ROLLOUT_APPROVE: DEFERRED,
    rb.ACTION_ROLLOUT_REJECT: DEFERRED,
    rb.ACTION_ROLLOUT_PROMOTE: "rollout.promote",
    rb.ACTION_ROLLOUT_PAUSE: "rollout.pause",
    rb.ACTION_ROLLOUT_RESUME: "rollout.resume",
    rb.ACTION_ROLLOUT_ABORT: "rollout.abort",
    rb.ACTION_ROLLOUT_CLONE: DEFERRED,  # rollout:<the rollout's type>
    sb.SCHEDULE_SHORTCUT: "schedule",  # the App Home's "Schedule an operation" (the shortcut's id): opens the form
    rm.ROLLOUT_SHORTCUT: "rollout",  # the App Home's "Start a rollout"
}
#: Inputs inside a form (any ``action_id``): the form's own family.
FORM_GATES: dict[str, str] = {sb.SCHEDULE_MODAL: "schedule", rm.ROLLOUT_MODAL: "rollout"}
#: Form submissions by ``callback_id``.
VIEW_GATES: dict[str, str] = {sb.SCHEDULE_MODAL: "schedule", rm.ROLLOUT_MODAL: "rollout", sb.REJECT_MODAL: DEFERRED}
#: Shortcuts by ``callback_id``.
SHORTCUT_GATES: dict[str, str] = {
    sb.SCHEDULE_SHORTCUT: "schedule", rm.ROLLOUT_SHORTCUT: "rollout",
    sb.SCHEDULE_FROM_MESSAGE: "schedule", ob.WATCH_FROM_MESSAGE: "watch",  # message shortcuts, in their channel
}  # fmt: skip
#: What each subcommand needs (the quick forms add their type).
_COMMAND_GATES: dict[type[ParsedCommand], str] = {
    ListRequest: "list", RolloutsRequest: "list", StatusRequest: "status", RolloutStatusRequest: "status",
    RefreshRequest: "refresh", DevicesRequest: "devices", WatchRequest: "watch", UnwatchRequest: "watch",
    AuditRequest: "audit",
}  # fmt: skip
_FAMILIES = ("schedule", "rollout", "approve")


def gate_of(body: dict[str, Any], types: list[str]) -> Gate | None:
    """The gate of one request (``None``: a kind the table does not know). ``types``: the known operation types."""
    kind = body.get("type")
    if body.get("command") == COMMAND:
        return _command_gate(body, types)
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        action_id = str(as_dict(actions[0]).get("action_id") or "")
        view = as_dict(body.get("view"))
        if view.get("type") == "modal" and str(view.get("callback_id")) in FORM_GATES:
            return Gate(FORM_GATES[str(view.get("callback_id"))], place_of(context_of(view).channel_id))
        channel = as_dict(body.get("channel")).get("id") or as_dict(body.get("container")).get("channel_id")
        action = ACTION_GATES.get(action_id)
        return None if action is None else Gate(action, place_of(channel))
    if kind == "view_submission":
        return _view_gate(as_dict(body.get("view")), types)
    if kind in ("shortcut", "message_action"):
        action = SHORTCUT_GATES.get(str(body.get("callback_id")))
        channel = as_dict(body.get("channel")).get("id")
        return None if action is None else Gate(action, place_of(channel))
    if kind in ("event_callback", "view_closed", "block_suggestion", "url_verification"):
        return Gate(FREE, place_of(None))  # nothing is done on anyone's behalf; what is shown is filtered
    return None


def _command_gate(body: dict[str, Any], types: list[str]) -> Gate:
    place = place_of(str(body.get("channel_id") or ""))
    request = parse_command(str(body.get("text") or ""))
    if isinstance(request, ScheduleRequest | RolloutRequest) and request.args:
        family = "schedule" if isinstance(request, ScheduleRequest) else "rollout"
        try:
            typed = split_quick_form(request.args)[1] if family == "schedule" else split_rollout_quick(request.args)
            word = typed if isinstance(typed, str) else typed.operation_type
            return Gate(typed_action(family, parse_operation_type(word, types)), place)
        except (InputError, FormErrors):  # the listener says what to type; nothing can be created from it
            return Gate(family, place, family=True)
    if isinstance(request, ScheduleRequest | RolloutRequest):  # the form
        return Gate("schedule" if isinstance(request, ScheduleRequest) else "rollout", place, family=True)
    action = _COMMAND_GATES.get(type(request))
    return Gate(action, place) if action else Gate(FREE, place)


def _view_gate(view: dict[str, Any], types: list[str]) -> Gate | None:
    callback = str(view.get("callback_id"))
    action = VIEW_GATES.get(callback)
    if action is None:
        return None
    place = place_of(context_of(view).channel_id)
    if action == DEFERRED:
        return Gate(DEFERRED, place)
    if callback == sb.SCHEDULE_MODAL:
        word, field = form_from_view(view).operation_type, sb.FIELD_BLOCKS["operation_type"]
    else:
        form, _problems = form_words(view)
        word, field = (form.operation_type if form else ""), rm.FIELDS["operation_type"]
    try:
        return Gate(typed_action(action, parse_operation_type(word, types)), place, field=field)
    except InputError:  # no type chosen, or one the form never offered: may the person use the form at all?
        return Gate(action, place, family=True, field=field)


def _families_gate(gate: Gate) -> bool:
    return gate.family or gate.action in _FAMILIES


async def check_gate(deps: SlackDeps, user_id: str, gate: Gate) -> Verdict | None:
    """``None`` when the gate lets the person through; else the verdict (already audited and counted)."""
    access = deps.access
    if gate.action in (FREE, DEFERRED) or not access.restricted:
        return None
    if _families_gate(gate):
        if await access.may_any(user_id, gate.action, gate.place):
            return None
        verdict = Verdict(f"{gate.action}:*", gate.place, Outcome.NO_RULE)
    else:
        verdict = await access.check(user_id, gate.action, gate.place)
        if verdict.allowed:
            return None
    return verdict


def access_middleware(deps: SlackDeps) -> Callable[..., Awaitable[BoltResponse | None]]:
    """The bolt middleware: every request's gate is checked before its listener; a denial is answered here."""

    async def gate_request(
        body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        access = deps.access
        if not access.restricted:
            return await next()
        gate = gate_of(body, list(deps.scheduling.rules.names))
        user_id = user_id_of(body)
        if gate is None:  # a kind of request nobody taught the gate: denied while rules are in force
            log.error("access: no gate for a %s request (%s); denied", body.get("type"), _what(body))
            gate = Gate("unknown", place_of(None))
            verdict: Verdict | None = Verdict("unknown", gate.place, Outcome.NO_RULE)
        else:
            verdict = await check_gate(deps, user_id, gate)
        if verdict is None:
            return await next()
        denial = await access.denied(user_id, verdict)
        return await _answer_denial(deps, body, context, gate, denial)

    return gate_request


async def _answer_denial(
    deps: SlackDeps, body: dict[str, Any], context: AsyncBoltContext, gate: Gate, denial: NotAllowed
) -> BoltResponse:
    text = access_denied_text(denial)
    user_id = user_id_of(body)
    if body.get("command"):
        return _json(text_message(text) | {"response_type": "ephemeral"})
    if body.get("type") == "view_submission":
        field = gate.field or _first_input(as_dict(body.get("view")))
        if field:
            return _json({"response_action": "errors", "errors": {field: text[:1900]}})
    respond = context.respond if context.response_url else None
    if respond is not None:
        deps.tasks.spawn(safe_respond(respond, text_message(text), replace_original=False))
    else:  # a shortcut, a Home button: no response_url
        deps.tasks.spawn(deps.messenger.post(user_id, text_message(text)))
    return BoltResponse(status=200, body="")


def _first_input(view: dict[str, Any]) -> str | None:
    for block in view.get("blocks") or []:
        if isinstance(block, dict) and block.get("type") == "input" and block.get("block_id"):
            return str(block["block_id"])
    return None


def _json(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(status=200, body=json.dumps(payload), headers={"content-type": "application/json"})


def _what(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    return str(
        body.get("callback_id") or as_dict(body.get("view")).get("callback_id") or as_dict(actions[0]).get("action_id")
    )[:64]


async def require_for(deps: SlackDeps, user_id: str, family: str, operation_type: str, channel_id: str | None) -> None:
    """The check a ``DEFERRED`` gate leaves to its listener, once the stored request's type is known: raises
    ``NotAllowed`` (worded by ``guarded``) when the person may not ``family`` that type where they clicked."""
    await deps.access.require(user_id, typed_action(family, operation_type), place_of(channel_id))
