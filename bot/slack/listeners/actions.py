"""Buttons and inputs: More, Refresh, the form's "When" as it is typed, Confirm / Cancel, Approve / Reject.

Each acks first and spawns the rest. The rules behind a click (is it this request's button, who may decide, did
another decision win) are the services'; the words are ``bot.slack.wording``'s.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.ids import SERIAL, STATUS_WORD, TXN_ID
from bot.domain.inventory import MAX_SELECTOR_LENGTH
from bot.domain.requests import Decision, RequestState, ScheduleRecord
from bot.i18n import _
from bot.services.approvals import Verdict
from bot.services.operations import ListCursor
from bot.slack.access import require_for
from bot.slack.blocks import inventory as ib
from bot.slack.blocks import operations as blocks
from bot.slack.blocks import schedule_modal as smb
from bot.slack.blocks import scheduling as sb
from bot.slack.blocks.common import text_message
from bot.slack.blocks.home import shown_ids
from bot.slack.commands import DevicesRequest, ListRequest
from bot.slack.deps import SlackDeps
from bot.slack.listeners.commands import run_devices, run_list, run_refresh
from bot.slack.listeners.followup import follow_up, reject
from bot.slack.modal import live_preview
from bot.slack.operation_fields import type_chosen
from bot.slack.payloads import channel_of, home_view_of, message_shows, message_ts_of, request_id_of, user_id_of
from bot.slack.respond import CLICK, Respond, guarded, safe_respond
from bot.slack.wording import refusal_text

log = logging.getLogger("bot.slack.schedule")


def register(app: AsyncApp) -> None:
    app.action(blocks.ACTION_LIST_MORE)(handle_list_more)
    app.action(ib.ACTION_DEVICES_MORE)(handle_devices_more)
    app.action(blocks.ACTION_REFRESH)(handle_refresh)
    app.action(sb.ACTION_WHEN)(handle_when_typed)
    app.action({"block_id": sb.FIELD_BLOCKS["operation_type"], "action_id": "value"})(handle_type_chosen)
    app.action(sb.ACTION_CONFIRM)(handle_confirm)
    app.action(sb.ACTION_CANCEL)(handle_cancel)
    app.action(sb.ACTION_APPROVE)(handle_approve)
    app.action(sb.ACTION_REJECT)(handle_reject)


# ---------------------------------------------------------------------------------------------- lookups


class ListPage(BaseModel):
    """The More button's value: which list, and where the next page starts (only what ``/headless list`` accepts).

    ``after`` is where the next page starts: after the last operation shown. Buttons posted before cursors existed
    carry only ``offset``, which is still honoured.
    """

    serial: str | None = None
    status: str | None = None
    offset: int = 0
    after: ListCursor | None = None

    @field_validator("serial")
    @classmethod
    def _a_serial(cls, value: str | None) -> str | None:
        if value is not None and not SERIAL.match(value):
            raise ValueError("not a device serial")
        return value

    @field_validator("status")
    @classmethod
    def _a_status(cls, value: str | None) -> str | None:
        if value is not None and not STATUS_WORD.match(value):
            raise ValueError("not a status")
        return value

    @field_validator("offset")
    @classmethod
    def _bounded(cls, value: int) -> int:
        if not 0 <= value <= 100_000:
            raise ValueError("offset out of range")
        return value


async def handle_list_more(ack: AsyncAck, action: dict[str, Any], respond: Respond, deps: SlackDeps) -> None:
    await ack()
    try:
        page = ListPage.model_validate_json(str(action.get("value") or ""))
    except ValidationError:  # answered after the ack: the listener must return at once
        stale = _("That list is out of date; run {command} again.").format(command="`/headless list`")
        deps.tasks.spawn(safe_respond(respond, text_message(f":warning: {stale}"), replace_original=False))
        return
    request = ListRequest(serial=page.serial, status=page.status, offset=page.offset)
    deps.tasks.spawn(run_list(deps, respond, request, replace=True, after=page.after))


class DevicesPage(BaseModel):
    """The devices More button's value: the selector as typed and where the next page starts."""

    selector: str = Field("", max_length=MAX_SELECTOR_LENGTH)
    offset: int = Field(0, ge=0, le=10_000_000)


async def handle_devices_more(ack: AsyncAck, action: dict[str, Any], respond: Respond, deps: SlackDeps) -> None:
    await ack()
    try:
        page = DevicesPage.model_validate_json(str(action.get("value") or ""))
    except ValidationError:
        stale = _("That list is out of date; run {command} again.").format(command="`/headless devices`")
        deps.tasks.spawn(safe_respond(respond, text_message(f":warning: {stale}"), replace_original=False))
        return
    request = DevicesRequest(selector=page.selector, offset=page.offset)
    deps.tasks.spawn(run_devices(deps, respond, request, replace=True))


async def handle_refresh(ack: AsyncAck, action: dict[str, Any], respond: Respond, deps: SlackDeps) -> None:
    await ack()
    operation_id = str(action.get("value") or "")
    if not TXN_ID.match(operation_id):
        broken = _("That button is broken; use `/headless refresh TXN_ID`.")
        deps.tasks.spawn(safe_respond(respond, text_message(f":warning: {broken}"), replace_original=False))
        return
    deps.tasks.spawn(run_refresh(deps, respond, operation_id, replace=False))


async def handle_when_typed(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    await ack()
    deps.tasks.spawn(live_preview(deps, client, body, user_id_of(body)))


async def handle_type_chosen(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    """The form's operation type changed (``OPERATIONS_FILE``): its parameter fields replace the others."""
    await ack()
    deps.tasks.spawn(type_chosen(deps, client, body))


# ---------------------------------------------------------------------------------------------- decisions


async def handle_confirm(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: Respond, deps: SlackDeps
) -> None:
    await ack()
    work = confirm_or_cancel(deps, body, action, respond, confirm=True)
    deps.tasks.spawn(guarded(deps, respond, work, CLICK))


async def handle_cancel(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: Respond, deps: SlackDeps
) -> None:
    await ack()
    work = confirm_or_cancel(deps, body, action, respond, confirm=False)
    deps.tasks.spawn(guarded(deps, respond, work, CLICK))


async def confirm_or_cancel(
    deps: SlackDeps, body: dict[str, Any], action: dict[str, Any], respond: Respond, *, confirm: bool
) -> None:
    scheduling = deps.scheduling
    if confirm and (draft := await scheduling.get(request_id_of(action))) is not None:
        await require_for(deps, user_id_of(body), "schedule", draft.operation_type, channel_of(body))
    decide = scheduling.confirm if confirm else scheduling.cancel
    decision = await decide(request_id_of(action), user_id_of(body))
    if decision.expired:  # the Confirm came too late: the preview says so in place (its reader is the requester)
        await safe_respond(respond, text_message(f":alarm_clock: {refusal_text(decision)}"), replace_original=True,
                           response_type=None)  # fmt: skip
        return
    if not decision.won or decision.record is None:
        await _refused(respond, decision)
        return
    record = decision.record
    if record.state is RequestState.CANCELLED:
        shown: dict[str, Any] = {"text": ":no_entry_sign: " + _("Cancelled. Nothing was scheduled.")}
    elif record.state is RequestState.PENDING_APPROVAL:
        sent = _("Sent for approval in {channel}. You will get a message when someone decides.")
        shown = text_message(":outbox_tray: " + sent.format(channel=f"<#{deps.settings.approval_channel}>"))
    else:
        shown = text_message(":rocket: " + _("Confirmed. Creating the operation now…"))
    await safe_respond(respond, shown, replace_original=True, response_type=None)
    if record.state is not RequestState.CANCELLED:
        await follow_up(deps, record)


async def _refused(respond: Respond, decision: Decision) -> None:
    await safe_respond(respond, {"text": f":information_source: {refusal_text(decision)}"}, replace_original=False)


async def handle_approve(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: Respond, deps: SlackDeps
) -> None:
    await ack()
    deps.tasks.spawn(guarded(deps, respond, approve(deps, body, action, respond), CLICK))


async def approve(deps: SlackDeps, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
    user_id = user_id_of(body)
    record = await checked_request(deps, body, action, respond)
    if record is None:
        return
    await require_for(deps, user_id, "approve", record.operation_type, channel_of(body))
    is_approver = await deps.directory.is_approver(user_id, deps.settings.approvers)
    decision = await deps.scheduling.decide(
        record.id, user_id, approve=True, is_approver=is_approver, channel_id=channel_of(body)
    )
    if decision.expired and decision.record is not None:
        # Too late to approve: the approver reads why, the message and the requester hear of it at once.
        await safe_respond(respond, {"text": f":alarm_clock: {refusal_text(decision)}"}, replace_original=False)
        await follow_up(deps, decision.record)
        return
    if not decision.won or decision.record is None:
        await _refused(respond, decision)
        return
    await follow_up(deps, decision.record)


async def checked_request(
    deps: SlackDeps, body: dict[str, Any], action: dict[str, Any], respond: Respond
) -> ScheduleRecord | None:
    """The request a button names, if the button is really on that request's approval message; else the clicker
    reads why (a superseded copy is retired in place)."""
    if (home := home_view_of(body)) is not None:  # the App Home's Approve / Reject (``bot.slack.blocks.home``)
        check = await deps.approvals.request_for_home_button(
            request_id_of(action), user_id=user_id_of(body), shows_request=lambda rid: f"`{rid}`" in shown_ids(home)
        )
    else:
        check = await deps.approvals.request_for_button(
            request_id_of(action),
            user_id=user_id_of(body),
            channel_id=channel_of(body),
            message_ts=message_ts_of(body),
            shows_request=lambda request_id: message_shows(body, request_id),
        )
    if check.verdict is Verdict.MATCH:
        return check.record
    if check.verdict is Verdict.SUPERSEDED:
        text = ":recycle: " + _(
            "This copy of the request was replaced by a newer message in this channel; decide there."
        )
        await safe_respond(respond, {"text": text}, replace_original=True, response_type=None)
        return None
    text = ":warning: " + _("That button does not belong to this request. Use the buttons on the request itself.")
    await safe_respond(respond, {"text": text}, replace_original=False)
    return None


async def handle_reject(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
    client: AsyncWebClient,
    deps: SlackDeps,
) -> None:
    await ack()
    deps.tasks.spawn(guarded(deps, respond, open_reject(deps, body, action, respond, client), CLICK))


async def open_reject(
    deps: SlackDeps, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: AsyncWebClient
) -> None:
    """Reject asks for a reason in a modal; nothing is decided until it is submitted
    (``views.handle_reject_submit``)."""
    user_id = user_id_of(body)
    record = await checked_request(deps, body, action, respond)
    if record is None:
        return
    await require_for(deps, user_id, "approve", record.operation_type, channel_of(body))
    is_approver = await deps.directory.is_approver(user_id, deps.settings.approvers)
    refused = await deps.scheduling.check_reject(record, user_id, is_approver=is_approver, channel_id=channel_of(body))
    if refused is not None:
        await _refused(respond, refused)
        return
    view = smb.reject_modal(record.id, record.approval_channel_id, record.approval_ts)
    try:
        await client.views_open(trigger_id=str(body.get("trigger_id")), view=view)
    except Exception as exc:  # expired trigger: reject without a reason rather than lose the click
        log.warning("views.open for a reason failed (%s); rejecting without one", type(exc).__name__)
        await reject(deps, record.id, user_id, None, channel_of(body))
