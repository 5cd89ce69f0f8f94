"""The one place that turns errors and refusals into the words a person reads in Slack.

Every message says which thing it is about, what happened, and what to do next. Details (status codes, reasons)
go to the log; secrets go nowhere. Every sentence is a whole msgid (``bot.i18n``), rendered in the reader's language.
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
from bot.i18n import N_, _
from bot.services.rollouts import RolloutDecision
from bot.slack.blocks.common import escape
from bot.store.errors import StoreUnavailable
from bot.when import format_relative


def _later(reading: bool) -> str:
    return _("Try again in a few minutes.") if reading else _("Nothing was changed; try again in a few minutes.")


def explain(exc: BaseException, *, what: str | None = None, reading: bool = False) -> str:
    """A mrkdwn sentence or two for ``exc``; ``what`` names the subject (already escaped and translated by the
    caller; "the request" when not given).

    ``reading``: the request only looked something up (list, status, refresh, audit), so a failure means it "could
    not be looked up", not that something "could not be done" (and there is no point saying nothing changed).
    """
    what = _("the request") if what is None else what
    if isinstance(exc, OperationNotFound):
        return ":mag: " + _(
            "No operation `{operation_id}` in the Control API. "
            "Check the id (it looks like `txn_12345`), or find it with `/headless list`."
        ).format(operation_id=escape(exc.operation_id))
    if isinstance(exc, DeviceNotFound):
        return ":mag: " + _(
            "Device serial `{serial}` is not in the inventory. "
            "Check the serial on the device label or in the inventory, then schedule again."
        ).format(serial=escape(exc.device_serial))
    if isinstance(exc, InvalidRequest):
        detail = escape(exc.detail).rstrip(". ")
        return ":warning: " + _("The Control API refused {what}: {detail}. Fix it and try again.").format(
            what=what, detail=detail
        )
    if isinstance(exc, Unauthorized):
        return ":lock: " + _unauthorized(exc.status_code == 403, what, reading)
    if isinstance(exc, UnexpectedAnswer) and exc.outcome_unknown:
        return ":warning: " + _(
            "The Control API's answer to {what} was not in a form the bot can use ({reason}). "
            "It may or may not have taken effect: check with `/headless list` before trying again."
        ).format(what=what, reason=escape(exc.reason))
    if isinstance(exc, UnexpectedAnswer):
        sentence = (
            _(
                "The Control API answered, but not in a form the bot can use ({reason}), so {what} could not be "
                "looked up."
            )
            if reading
            else _(
                "The Control API answered, but not in a form the bot can use ({reason}), so {what} could not be done."
            )
        )
        return f":warning: {sentence.format(reason=escape(exc.reason), what=what)} {_later(reading)} " + _(
            "If it keeps happening, tell an admin."
        )
    if isinstance(exc, ControlApiUnavailable) and exc.status_code == 429:
        sentence = (
            _(
                "The Control API is turning the bot's requests away for now (too many, HTTP 429), so {what} "
                "could not be looked up."
            )
            if reading
            else _(
                "The Control API is turning the bot's requests away for now (too many, HTTP 429), so {what} "
                "could not be done."
            )
        )
        return f":hourglass: {sentence.format(what=what)} {_later(reading)}"
    if isinstance(exc, ControlApiUnavailable) and exc.outcome_unknown:
        return ":electric_plug: " + _(
            "The Control API stopped answering in the middle of {what} ({reason}). "
            "It may or may not have taken effect: check with `/headless list` before trying again."
        ).format(what=what, reason=escape(exc.reason))
    if isinstance(exc, ControlApiUnavailable):
        sentence = (
            _("The Control API is not answering right now ({reason}), so {what} could not be looked up.")
            if reading
            else _("The Control API is not answering right now ({reason}), so {what} could not be done.")
        )
        return f":electric_plug: {sentence.format(reason=escape(exc.reason), what=what)} {_later(reading)}"
    if isinstance(exc, ControlApiError):
        return ":warning: " + _("The Control API could not handle {what}: {error}.").format(
            what=what, error=escape(str(exc))
        )
    if isinstance(exc, StoreUnavailable):
        sentence = (
            _("The bot cannot reach its database right now, so {what} could not be looked up.")
            if reading
            else _("The bot cannot reach its database right now, so {what} could not be done.")
        )
        return f":floppy_disk: {sentence.format(what=what)} " + _(
            "Try again in a minute; if it keeps happening, tell an admin."
        )
    if isinstance(exc, TimeoutError):
        sentence = _("The Control API took too long to answer for {what}.").format(what=what)
        return f":hourglass: {sentence} {_later(reading)}"
    return ":warning: " + _("Something went wrong with {what}. It has been logged; try again, or ask an admin.").format(
        what=what
    )


def _unauthorized(forbidden: bool, what: str, reading: bool) -> str:
    """The Control API said 401 (``forbidden`` False) or 403: what happened, and who can fix it."""
    if forbidden and reading:
        sentence = _(
            "The Control API accepted the bot's token but does not allow it this action, so {what} could not be "
            "looked up."
        )
    elif forbidden:
        sentence = _(
            "The Control API accepted the bot's token but does not allow it this action, so nothing was done for "
            "{what}."
        )
    elif reading:
        sentence = _("The Control API rejected the bot's token, so {what} could not be looked up.")
    else:
        sentence = _("The Control API rejected the bot's token, so nothing was done for {what}.")
    fix = (
        _("Ask an admin to grant the token's account that permission.")
        if forbidden
        else _("Ask an admin to check `CONTROL_API_TOKEN`.")
    )
    return f"{sentence.format(what=what)} {fix}"


#: Slack's answers to a post when the bot is not in the channel (a private one it was never invited to is "not found").
NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found"})


def cannot_post_in(channel: str, error: str, *, subject: str, bot_user_id: str | None) -> str:
    """Why ``channel`` cannot follow ``subject`` (already escaped): the bot's post there failed with ``error``
    (Slack's error code, ``ratelimited``, ``http_<status>`` or ``unreachable``). Nothing was set up."""
    where = f"<#{channel}>"
    bot = f"<@{bot_user_id}>" if bot_user_id and USER_ID.match(bot_user_id) else _("the bot")
    if error in NOT_A_MEMBER and channel.startswith("D"):
        return ":no_entry_sign: " + _(
            "I can't post in this conversation, so it cannot follow {subject}. Name a channel I am "
            "in instead, like `/headless watch TXN_ID #ops`. Nothing was set up."
        ).format(subject=subject)
    if error in NOT_A_MEMBER:
        return ":no_entry_sign: " + _(
            "I can't post in {channel}, so it cannot follow {subject}. Invite {bot} to {channel} first "
            "(`/invite` in that channel), then run the command again. Nothing was set up."
        ).format(channel=where, subject=subject, bot=bot)
    if error in ("is_archived", "channel_is_archived"):
        return ":no_entry_sign: " + _(
            "{channel} is archived, so it cannot follow {subject}. Pick another channel. Nothing was set up."
        ).format(channel=where, subject=subject)
    if error in ("ratelimited", "unreachable") or error.startswith("http_5"):
        return ":hourglass: " + _(
            "Slack did not take my message in {channel} just now, so it cannot follow {subject} yet. "
            "Nothing was set up; try again in a minute."
        ).format(channel=where, subject=subject)
    return ":no_entry_sign: " + _(
        "Slack does not let me post in {channel} (`{error}`), so it cannot follow {subject}. "
        "Pick another channel, or ask a Slack admin. Nothing was set up."
    ).format(channel=where, error=escape(error), subject=subject)


# ---------------------------------------------------------------------------------------------- refusals

#: The verbs of a click (``Decision.action``, ``RolloutDecision.action``), as they fill "can {action}".
_VERBS = {
    "confirm": N_("confirm"),
    "cancel": N_("cancel"),
    "approve": N_("approve"),
    "reject": N_("reject"),
    "promote": N_("promote"),
    "pause": N_("pause"),
    "resume": N_("resume"),
    "abort": N_("abort"),
}


def _verb(action: str) -> str:
    return _(_VERBS[action]) if action in _VERBS else action


def refusal_text(decision: Decision) -> str:
    """Why a Confirm / Cancel / Approve / Reject did not win, in the words of what was tried."""
    refusal, record = decision.refusal, decision.record
    if refusal is Refusal.NOT_REQUESTER:
        return _("Only the person who asked can {action} this request.").format(action=_verb(decision.action))
    if refusal is Refusal.SELF_APPROVAL:
        return _("You asked for this operation, so someone else has to approve it (four-eyes rule).")
    if refusal is Refusal.NOT_APPROVER:
        return _("Only the configured approvers can approve or reject requests.")
    if refusal is Refusal.TOO_LATE and decision.time_left is not None and decision.lead is not None:
        return too_late(decision.time_left, decision.lead)
    if refusal is Refusal.NO_SUCH_REQUEST or record is None:
        return _("This request no longer exists.")
    return already(record, confirming=decision.action == "confirm")


def rollout_refusal_text(decision: RolloutDecision) -> str:
    """Why a click on a rollout did not win, in the words of what was tried (as ``refusal_text`` for requests)."""
    refusal, record = decision.refusal, decision.record
    action = _verb(decision.action)
    if refusal is Refusal.NOT_REQUESTER:
        return _("Only the person who asked can {action} this rollout.").format(action=action)
    if refusal is Refusal.SELF_APPROVAL:
        return _("You asked for this rollout, so someone else has to approve it (four-eyes rule).")
    if refusal is Refusal.NOT_APPROVER:
        return _("Only the configured approvers can {action} a rollout.").format(action=action)
    if refusal is Refusal.TOO_LATE:
        return _(
            "Too late: the first wave could no longer be created before its time, so the rollout expired. "
            "Start it again for a later time."
        )
    if refusal is Refusal.NO_SUCH_REQUEST or record is None:
        return _("This rollout no longer exists.")
    # The state's words are the rollouts area's (``state_words``); translated here if that area marks them.
    return _("This rollout is {state} now, so it cannot {action}.").format(
        state=_(state_words(record.state)), action=action
    )


def already(record: ScheduleRecord, *, confirming: bool = False) -> str:
    """Why a click lost, from where the request stands now (``confirming``: the click was a Confirm)."""
    person = f"<@{_mrkdwn_safe(record.decided_by)}>" if record.decided_by else None
    state = record.state
    if state is RequestState.DRAFT:
        return _("This request is still waiting for its requester to confirm.")
    if state is RequestState.PENDING_APPROVAL:
        if confirming:
            return _("This request was already confirmed and is waiting for approval.")
        return _("This request is waiting for approval.")
    if state in (RequestState.APPROVED, RequestState.DONE):
        return _decided(record, person, handled=state is RequestState.DONE)
    if state is RequestState.REJECTED:
        if person:
            return _("This request was already rejected by {person}.").format(person=person)
        return _("This request was already rejected.")
    if state is RequestState.CANCELLED:
        return _("This request was cancelled by its requester.")
    if state is RequestState.EXPIRED:
        if record.decided_by:
            return _("This request expired: it was decided too close to its scheduled time, so nothing was created.")
        return _("This request expired: its scheduled time passed (or came too close) before anyone decided.")
    return _("This request {state}.").format(state=state.value)


def _decided(record: ScheduleRecord, person: str | None, *, handled: bool) -> str:
    """ "approved by …" (or "confirmed": without approval the requester's Confirm is the decision, and by whom goes
    without saying), and "and handled" once the operation was created."""
    if not record.approval_required:
        if handled:
            return _("This request was already confirmed and handled.")
        return _("This request was already confirmed.")
    if person and handled:
        return _("This request was already approved by {person} and handled.").format(person=person)
    if person:
        return _("This request was already approved by {person}.").format(person=person)
    if handled:
        return _("This request was already approved and handled.")
    return _("This request was already approved.")


def _mrkdwn_safe(text: str) -> str:
    """An id repeated inside ``<@…>``: the three characters mrkdwn reserves escaped (ids never contain them)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def too_late(left: timedelta, lead: timedelta) -> str:
    """What the person whose click came too late reads (the request has just expired)."""
    if left <= timedelta(0):
        return _(
            "Too late: its scheduled time has passed, so this request expired and nothing was created. "
            "Schedule it again for a later time."
        )
    return _(
        "Too late: its scheduled time is only {left} away, less than the {lead} needed to create the operation, "
        "so this request expired and nothing was created. Schedule it again for a later time."
    ).format(left=format_relative(left, suffix=False), lead=format_relative(lead, suffix=False))


# ---------------------------------------------------------------------------------------------- scheduling

#: Shown where the scheduling form could not be opened (render with ``_(MODAL_NOT_OPENED)``).
MODAL_NOT_OPENED = N_(
    ":warning: Slack could not open the scheduling form just now. Run `/headless schedule` again in a moment, "
    "or schedule in one line: `/headless schedule SERIAL TYPE WHEN`, like "
    "`/headless schedule SN123456789 reboot tomorrow at 2am`."
)

_FIELD_NAMES = {
    "serials": N_("Device serial"),
    "operation_type": N_("Operation"),
    "when": N_("When"),
    "parameters": N_("Parameters"),
    "notify_channel_id": N_("Post status updates in"),
}


def form_errors(errors: dict[str, str]) -> str:
    """The quick form's problems, one line per field."""
    lines = [f"• *{_(_FIELD_NAMES[k]) if k in _FIELD_NAMES else k}*: {escape(v)}" for k, v in errors.items()]
    return ":warning: " + _("I could not schedule that:") + "\n" + "\n".join(lines)


#: ``/headless devices`` with no inventory configured (render with ``_(NO_INVENTORY)``).
NO_INVENTORY = N_(
    ":information_source: No device inventory is configured. Set `INVENTORY_FILE` to a CSV file with the header "
    "`serial,zone,site,tags` (or a YAML list of devices with those fields) and restart the bot; the README's "
    "*Device inventory* section has an example."
)


def selector_refused(exc: SelectorError) -> str:
    """A selector that cannot be read or matches nothing, naming what was asked (escaped, in a code span)."""
    problem = exc.show(lambda asked: f"`{escape(asked)}`")
    return f":warning: {problem} " + _(
        "Selectors: serials, `SN1234*`, `site:NAME`, `tag:NAME`, `zone:IANA`; "
        "`,` for either, `+` for both (e.g. `site:san-jose+tag:gateway`)."
    )


# ---------------------------------------------------------------------------------------------- access rules

_PLAIN_PHRASES = {
    "list": N_("list operations"),
    "status": N_("look up operations"),
    "refresh": N_("refresh operations"),
    "devices": N_("look up devices"),
    "watch": N_("watch operations"),
    "audit": N_("read the audit log"),
    "rollout.pause": N_("pause rollouts"),
    "rollout.resume": N_("resume rollouts"),
    "rollout.promote": N_("promote rollouts"),
    "rollout.abort": N_("abort rollouts"),
}
_TYPED_PHRASES = {
    "schedule": (N_("schedule operations"), N_("schedule `{type}`")),
    "approve": (N_("approve requests"), N_("approve `{type}` requests")),
    "rollout": (N_("start rollouts"), N_("start a rollout of `{type}`")),
}


def action_phrase(action: str) -> str:
    """``schedule:firmware_update`` → "schedule `firmware_update`"; ``rollout.pause`` → "pause rollouts"."""
    family, colon, kind = action.partition(":")
    if colon and family in _TYPED_PHRASES:
        any_type, one_type = _TYPED_PHRASES[family]
        return _(any_type) if kind in ("", "*") else _(one_type).format(type=escape(kind))
    if action in _PLAIN_PHRASES:
        return _(_PLAIN_PHRASES[action])
    return _("use `{action}`").format(action=escape(action))


def _place_words(place: str) -> str:
    return _("in a direct message with the bot") if place == DM else _("in {channel}").format(channel=f"<#{place}>")


def _either(places: Sequence[str]) -> str:
    """ "in <#C1> or in <#C2>": the places as alternatives."""
    words = [_place_words(p) for p in places]
    text = words[0]
    for word in words[1:]:
        text = _("{first} or {second}").format(first=text, second=word)
    return text


def _rule_words(rule: Rule) -> str:
    return f"{escape(rule.label)}: `{escape(rule.text)}`"


def access_denied_text(exc: NotAllowed) -> str:
    """ "You may not schedule `firmware_update` here; ask in #firmware." — the action, and what to ask for."""
    verdict, hint = exc.verdict, exc.hint
    values = {"action": action_phrase(verdict.action)}
    ruled = verdict.outcome is Outcome.DENIED and verdict.rule is not None
    if ruled and verdict.rule is not None:
        values["rule"] = _rule_words(verdict.rule)
    if hint.places:
        values["places"] = _either(hint.places)
        text = (
            _("You may not {action} here ({rule}); ask {places}.")
            if ruled
            else _("You may not {action} here; ask {places}.")
        )
    elif hint.groups:
        values["groups"] = ", ".join(f"`{escape(g)}`" for g in hint.groups)
        text = (
            _("You may not {action} here ({rule}); ask to be added to the user group {groups}, whose members may.")
            if ruled
            else _("You may not {action} here; ask to be added to the user group {groups}, whose members may.")
        )
    else:
        values["action_id"] = f"`{escape(verdict.action)}`"
        text = (
            _(
                "You may not {action} here ({rule}); ask whoever runs the bot to allow {action_id} for you in the "
                "access rules."
            )
            if ruled
            else _(
                "You may not {action} here; ask whoever runs the bot to allow {action_id} for you in the access rules."
            )
        )
    return ":lock: " + text.format(**values)


def types_answer(family: str, types: Sequence[str], place: str) -> str:
    """``/headless can schedule``: the operation types the person may use for ``family`` there."""
    phrase = action_phrase(f"{family}:*")
    if not types:
        return ":no_entry: " + _("You may not {action} {place}: no rule allows any operation type there.").format(
            action=phrase, place=_place_words(place)
        )
    listed = ", ".join(f"`{escape(t)}`" for t in types)
    where = _place_words(place)  # the sentence starts with it: its first letter only (a channel id keeps its case)
    return ":white_check_mark: " + _("{place} you may {action} of these types: {types}.").format(
        place=where[:1].upper() + where[1:], action=phrase, types=listed
    )


def access_answer(verdict: Verdict, hint: Hint | None = None) -> str:
    """``/headless can``: allowed or denied, and the rule that decided."""
    where = _place_words(verdict.place)
    action = f"`{escape(verdict.action)}`"
    if verdict.outcome is Outcome.UNRESTRICTED:
        return ":white_check_mark: " + _(
            "Allowed: {action} {place}. No access rules are configured (ACCESS_RULES / "
            "ACCESS_FILE), so everyone may do everything; APPROVERS still decide approvals."
        ).format(action=action, place=where)
    if verdict.allowed and verdict.rule is not None:
        return ":white_check_mark: " + _("Allowed: {action} {place}, by {rule}.").format(
            action=action, place=where, rule=_rule_words(verdict.rule)
        )
    if verdict.outcome is Outcome.DENIED and verdict.rule is not None:
        text = ":no_entry: " + _("Denied: {action} {place}, by {rule} (a deny wins over any allow).").format(
            action=action, place=where, rule=_rule_words(verdict.rule)
        )
    else:
        text = ":no_entry: " + _("Denied: {action} {place}: no rule allows it (access is denied by default).").format(
            action=action, place=where
        )
    if hint is not None and hint.places:
        text += " " + _("It is allowed {places}.").format(places=_either(hint.places))
    return text
