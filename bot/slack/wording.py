"""The one place that turns errors and refusals into the words a person reads in Slack.

Every message says which thing it is about, what happened, and what to do next. Details (status codes, reasons)
go to the log; secrets go nowhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.control.errors import (
    ControlApiError,
    ControlApiUnavailable,
    DeviceNotFound,
    InvalidRequest,
    OperationNotFound,
    Unauthorized,
    UnexpectedAnswer,
)
from bot.domain.access import DM, Hint, NotAllowed, Outcome, Rule, Verdict
from bot.domain.ids import USER_ID
from bot.domain.inventory import SelectorError
from bot.domain.requests import Decision, Refusal, RequestState, ScheduleRecord
from bot.domain.rollouts import state_words
from bot.services.rollouts import RolloutDecision
from bot.slack.blocks.common import escape
from bot.store.errors import StoreUnavailable
from bot.when import format_relative


def explain(exc: BaseException, *, what: str = "the request", reading: bool = False) -> str:
    """A mrkdwn sentence or two for ``exc``; ``what`` names the subject (already escaped by the caller).

    ``reading``: the request only looked something up (list, status, refresh, audit), so a failure means it "could
    not be looked up", not that something "could not be done" (and there is no point saying nothing changed).
    """
    failed = "could not be looked up" if reading else "could not be done"
    later = "Try again in a few minutes." if reading else "Nothing was changed; try again in a few minutes."
    if isinstance(exc, OperationNotFound):
        return (
            f":mag: No operation `{escape(exc.operation_id)}` in the Control API. "
            "Check the id (it looks like `txn_12345`), or find it with `/headless list`."
        )
    if isinstance(exc, DeviceNotFound):
        return (
            f":mag: Device serial `{escape(exc.device_serial)}` is not in the inventory. "
            "Check the serial on the device label or in the inventory, then schedule again."
        )
    if isinstance(exc, InvalidRequest):
        detail = escape(exc.detail).rstrip(". ")
        return f":warning: The Control API refused {what}: {detail}. Fix it and try again."
    if isinstance(exc, Unauthorized):
        problem = (
            "accepted the bot's token but does not allow it this action"
            if exc.status_code == 403
            else "rejected the bot's token"
        )
        outcome = f"{what} {failed}" if reading else f"nothing was done for {what}"
        fix = (
            "Ask an admin to grant the token's account that permission."
            if exc.status_code == 403
            else "Ask an admin to check `CONTROL_API_TOKEN`."
        )
        return f":lock: The Control API {problem}, so {outcome}. {fix}"
    if isinstance(exc, UnexpectedAnswer) and exc.outcome_unknown:
        return (
            f":warning: The Control API's answer to {what} was not in a form the bot can use ({escape(exc.reason)}). "
            "It may or may not have taken effect: check with `/headless list` before trying again."
        )
    if isinstance(exc, UnexpectedAnswer):
        return (
            f":warning: The Control API answered, but not in a form the bot can use ({escape(exc.reason)}), so "
            f"{what} {failed}. {later} If it keeps happening, tell an admin."
        )
    if isinstance(exc, ControlApiUnavailable) and exc.status_code == 429:
        return (
            f":hourglass: The Control API is turning the bot's requests away for now (too many, HTTP 429), so {what} "
            f"{failed}. {later}"
        )
    if isinstance(exc, ControlApiUnavailable) and exc.outcome_unknown:
        return (
            f":electric_plug: The Control API stopped answering in the middle of {what} ({escape(exc.reason)}). "
            "It may or may not have taken effect: check with `/headless list` before trying again."
        )
    if isinstance(exc, ControlApiUnavailable):
        return (
            f":electric_plug: The Control API is not answering right now ({escape(exc.reason)}), so {what} "
            f"{failed}. {later}"
        )
    if isinstance(exc, ControlApiError):
        return f":warning: The Control API could not handle {what}: {escape(str(exc))}."
    if isinstance(exc, StoreUnavailable):
        return (
            f":floppy_disk: The bot cannot reach its database right now, so {what} {failed}. "
            "Try again in a minute; if it keeps happening, tell an admin."
        )
    if isinstance(exc, TimeoutError):
        return f":hourglass: The Control API took too long to answer for {what}. {later}"
    return f":warning: Something went wrong with {what}. It has been logged; try again, or ask an admin."


#: Slack's answers to a post when the bot is not in the channel (a private one it was never invited to is "not found").
NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found"})


def cannot_post_in(channel: str, error: str, *, subject: str, bot_user_id: str | None) -> str:
    """Why ``channel`` cannot follow ``subject`` (already escaped): the bot's post there failed with ``error``
    (Slack's error code, ``ratelimited``, ``http_<status>`` or ``unreachable``). Nothing was set up."""
    where = f"<#{channel}>"
    bot = f"<@{bot_user_id}>" if bot_user_id and USER_ID.match(bot_user_id) else "the bot"
    if error in NOT_A_MEMBER and channel.startswith("D"):
        return (
            f":no_entry_sign: I can't post in this conversation, so it cannot follow {subject}. Name a channel I am "
            "in instead, like `/headless watch TXN_ID #ops`. Nothing was set up."
        )
    if error in NOT_A_MEMBER:
        return (
            f":no_entry_sign: I can't post in {where}, so it cannot follow {subject}. Invite {bot} to {where} first "
            "(`/invite` in that channel), then run the command again. Nothing was set up."
        )
    if error in ("is_archived", "channel_is_archived"):
        return (
            f":no_entry_sign: {where} is archived, so it cannot follow {subject}. Pick another channel. "
            "Nothing was set up."
        )
    if error in ("ratelimited", "unreachable") or error.startswith("http_5"):
        return (
            f":hourglass: Slack did not take my message in {where} just now, so it cannot follow {subject} yet. "
            "Nothing was set up; try again in a minute."
        )
    return (
        f":no_entry_sign: Slack does not let me post in {where} (`{escape(error)}`), so it cannot follow {subject}. "
        "Pick another channel, or ask a Slack admin. Nothing was set up."
    )


# ---------------------------------------------------------------------------------------------- refusals


def refusal_text(decision: Decision) -> str:
    """Why a Confirm / Cancel / Approve / Reject did not win, in the words of what was tried."""
    refusal, record = decision.refusal, decision.record
    if refusal is Refusal.NOT_REQUESTER:
        return f"Only the person who asked can {decision.action} this request."
    if refusal is Refusal.SELF_APPROVAL:
        return "You asked for this operation, so someone else has to approve it (four-eyes rule)."
    if refusal is Refusal.NOT_APPROVER:
        return "Only the configured approvers can approve or reject requests."
    if refusal is Refusal.TOO_LATE and decision.time_left is not None and decision.lead is not None:
        return too_late(decision.time_left, decision.lead)
    if refusal is Refusal.NO_SUCH_REQUEST or record is None:
        return "This request no longer exists."
    return already(record, confirming=decision.action == "confirm")


def rollout_refusal_text(decision: RolloutDecision) -> str:
    """Why a click on a rollout did not win, in the words of what was tried (as ``refusal_text`` for requests)."""
    refusal, record = decision.refusal, decision.record
    if refusal is Refusal.NOT_REQUESTER:
        return f"Only the person who asked can {decision.action} this rollout."
    if refusal is Refusal.SELF_APPROVAL:
        return "You asked for this rollout, so someone else has to approve it (four-eyes rule)."
    if refusal is Refusal.NOT_APPROVER:
        return f"Only the configured approvers can {decision.action} a rollout."
    if refusal is Refusal.TOO_LATE:
        return (
            "Too late: the first wave could no longer be created before its time, so the rollout expired. "
            "Start it again for a later time."
        )
    if refusal is Refusal.NO_SUCH_REQUEST or record is None:
        return "This rollout no longer exists."
    return f"This rollout is {state_words(record.state)} now, so it cannot {decision.action}."


def already(record: ScheduleRecord, *, confirming: bool = False) -> str:
    """Why a click lost, from where the request stands now (``confirming``: the click was a Confirm)."""
    who = f" by <@{_mrkdwn_safe(record.decided_by)}>" if record.decided_by else ""
    # Without approval, the requester's Confirm is the decision: "confirmed", and by whom goes without saying.
    decided = f"approved{who}" if record.approval_required else "confirmed"
    words = {
        RequestState.DRAFT: "is still waiting for its requester to confirm",
        RequestState.PENDING_APPROVAL: "was already confirmed and is waiting for approval"
        if confirming
        else "is waiting for approval",
        RequestState.APPROVED: f"was already {decided}",
        RequestState.DONE: f"was already {decided} and handled",
        RequestState.REJECTED: f"was already rejected{who}",
        RequestState.CANCELLED: "was cancelled by its requester",
        RequestState.EXPIRED: "expired: it was decided too close to its scheduled time, so nothing was created"
        if record.decided_by
        else "expired: its scheduled time passed (or came too close) before anyone decided",
    }
    return f"This request {words.get(record.state, record.state.value)}."


def _mrkdwn_safe(text: str) -> str:
    """An id repeated inside ``<@…>``: the three characters mrkdwn reserves escaped (ids never contain them)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def too_late(left: timedelta, lead: timedelta) -> str:
    """What the person whose click came too late reads (the request has just expired)."""
    if left <= timedelta(0):
        why = "its scheduled time has passed"
    else:
        why = (
            f"its scheduled time is only {format_relative(left, suffix=False)} away, less than the "
            f"{format_relative(lead, suffix=False)} needed to create the operation"
        )
    return f"Too late: {why}, so this request expired and nothing was created. Schedule it again for a later time."


# ---------------------------------------------------------------------------------------------- scheduling

MODAL_NOT_OPENED = (
    ":warning: Slack could not open the scheduling form just now. Run `/headless schedule` again in a moment, "
    "or schedule in one line: `/headless schedule SERIAL TYPE WHEN`, like "
    "`/headless schedule SN123456789 reboot tomorrow at 2am`."
)

_FIELD_NAMES = {
    "serials": "Device serial",
    "operation_type": "Operation",
    "when": "When",
    "parameters": "Parameters",
    "notify_channel_id": "Post status updates in",
}


def form_errors(errors: dict[str, str]) -> str:
    """The quick form's problems, one line per field."""
    lines = [f"• *{_FIELD_NAMES.get(k, k)}*: {escape(v)}" for k, v in errors.items()]
    return ":warning: I could not schedule that:\n" + "\n".join(lines)


NO_INVENTORY = (
    ":information_source: No device inventory is configured. Set `INVENTORY_FILE` to a CSV file with the header "
    "`serial,zone,site,tags` (or a YAML list of devices with those fields) and restart the bot; the README's "
    "*Device inventory* section has an example."
)


def selector_refused(exc: SelectorError) -> str:
    """A selector that cannot be read or matches nothing, naming what was asked (escaped, in a code span)."""
    problem = exc.show(lambda asked: f"`{escape(asked)}`")
    return (
        f":warning: {problem} Selectors: serials, `SN1234*`, `site:NAME`, `tag:NAME`, `zone:IANA`; "
        "`,` for either, `+` for both (e.g. `site:san-jose+tag:gateway`)."
    )


# ---------------------------------------------------------------------------------------------- access rules

_PLAIN_PHRASES = {
    "list": "list operations",
    "status": "look up operations",
    "refresh": "refresh operations",
    "devices": "look up devices",
    "watch": "watch operations",
    "audit": "read the audit log",
    "rollout.pause": "pause rollouts",
    "rollout.resume": "resume rollouts",
    "rollout.promote": "promote rollouts",
    "rollout.abort": "abort rollouts",
}
_TYPED_PHRASES = {
    "schedule": ("schedule operations", "schedule `{}`"),
    "approve": ("approve requests", "approve `{}` requests"),
    "rollout": ("start rollouts", "start a rollout of `{}`"),
}


def action_phrase(action: str) -> str:
    """``schedule:firmware_update`` → "schedule `firmware_update`"; ``rollout.pause`` → "pause rollouts"."""
    family, colon, kind = action.partition(":")
    if colon and family in _TYPED_PHRASES:
        any_type, one_type = _TYPED_PHRASES[family]
        return any_type if kind in ("", "*") else one_type.format(escape(kind))
    return _PLAIN_PHRASES.get(action, f"use `{escape(action)}`")


def _place_words(place: str) -> str:
    return "in a direct message with the bot" if place == DM else f"in <#{place}>"


def _rule_words(rule: Rule) -> str:
    return f"{escape(rule.label)}: `{escape(rule.text)}`"


def access_denied_text(exc: NotAllowed) -> str:
    """ "You may not schedule `firmware_update` here; ask in #firmware." — the action, and what to ask for."""
    verdict, hint = exc.verdict, exc.hint
    text = f":lock: You may not {action_phrase(verdict.action)} here"
    if verdict.outcome is Outcome.DENIED and verdict.rule is not None:
        text += f" ({_rule_words(verdict.rule)})"
    if hint.places:
        text += "; ask " + " or ".join(_place_words(p) for p in hint.places)
    elif hint.groups:
        groups = ", ".join(f"`{escape(g)}`" for g in hint.groups)
        text += f"; ask to be added to the user group {groups}, whose members may"
    else:
        text += f"; ask whoever runs the bot to allow `{escape(verdict.action)}` for you in the access rules"
    return text + "."


def types_answer(family: str, types: Sequence[str], place: str) -> str:
    """``/headless can schedule``: the operation types the person may use for ``family`` there."""
    phrase = action_phrase(f"{family}:*")
    if not types:
        return f":no_entry: You may not {phrase} {_place_words(place)}: no rule allows any operation type there."
    listed = ", ".join(f"`{escape(t)}`" for t in types)
    return f":white_check_mark: {_place_words(place).capitalize()} you may {phrase} of these types: {listed}."


def access_answer(verdict: Verdict, hint: Hint | None = None) -> str:
    """``/headless can``: allowed or denied, and the rule that decided."""
    where = _place_words(verdict.place)
    action = f"`{escape(verdict.action)}`"
    if verdict.outcome is Outcome.UNRESTRICTED:
        return (
            f":white_check_mark: Allowed: {action} {where}. No access rules are configured (ACCESS_RULES / "
            "ACCESS_FILE), so everyone may do everything; APPROVERS still decide approvals."
        )
    if verdict.allowed and verdict.rule is not None:
        return f":white_check_mark: Allowed: {action} {where}, by {_rule_words(verdict.rule)}."
    if verdict.outcome is Outcome.DENIED and verdict.rule is not None:
        text = f":no_entry: Denied: {action} {where}, by {_rule_words(verdict.rule)} (a deny wins over any allow)."
    else:
        text = f":no_entry: Denied: {action} {where}: no rule allows it (access is denied by default)."
    if hint is not None and hint.places:
        text += " It is allowed " + " or ".join(_place_words(p) for p in hint.places) + "."
    return text
