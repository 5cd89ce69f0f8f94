"""Listeners of scheduling: the modal (and its live preview), the quick form, Confirm/Cancel, Approve/Reject.

Each acks first. A modal's submission is validated before its ack (``response_action: errors`` must travel in
the ack); that is pure CPU work with the person's zone already known, so it stays well inside Slack's 3 seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.inputs import InputError, split_quick_form
from bot.services.people import Person
from bot.services.scheduling import FormErrors, ScheduleForm
from bot.slack import schedule_blocks as sb
from bot.slack.blocks import escape, text_message
from bot.store.records import RequestState

if TYPE_CHECKING:
    from bot.runtime import BotRuntime

log = logging.getLogger("bot.slack.schedule")


class ModalContext(BaseModel):
    """What the schedule modal carries in ``private_metadata``."""

    channel_id: str | None = None
    tz: str | None = None
    locale: str | None = None


def zone_note(person: Person) -> str:
    if person.tz_from_profile:
        return f"Read in your time zone ({person.tz})."
    return f"Read in {person.tz} (your Slack time zone is unknown)."


def form_from_view(view: dict[str, Any]) -> ScheduleForm:
    values = (view.get("state") or {}).get("values") or {}

    def field(block: str, action: str = "value") -> dict[str, Any]:
        entry = (values.get(block) or {}).get(action)
        return entry if isinstance(entry, dict) else {}

    option = field("operation_type").get("selected_option") or {}
    return ScheduleForm(
        serials=str(field("serials").get("value") or ""),
        operation_type=str(option.get("value") or ""),
        when=str(field("when", sb.ACTION_WHEN).get("value") or ""),
        parameters=str(field("parameters").get("value") or ""),
        notify_channel_id=field("notify_channel").get("selected_conversation") or None,
    )


def _send_errors(errors: dict[str, str]) -> str:
    names = {"serials": "Device serial", "operation_type": "Operation", "when": "When", "parameters": "Parameters"}
    lines = [f"• *{names.get(k, k)}*: {escape(v)}" for k, v in errors.items()]
    return ":warning: I could not schedule that:\n" + "\n".join(lines)


def register(app: AsyncApp, runtime: BotRuntime) -> None:
    settings = runtime.settings
    workflow = runtime.workflow
    directory = runtime.directory
    service = runtime.scheduling

    async def open_modal(client: AsyncWebClient, trigger_id: str, user_id: str, channel_id: str | None) -> None:
        """Open at once (trigger ids live 3 s), then fill in the person's zone and a preview."""
        cached = directory.cached_person(user_id)
        person = cached or Person(user_id=user_id, tz=settings.default_timezone, tz_from_profile=False)
        meta = ModalContext(channel_id=channel_id, tz=person.tz if cached else None, locale=person.locale)
        view = sb.schedule_modal(
            settings.operation_types,
            preview="Type when, e.g. “tomorrow 2am”, “in 3 hours”, “next window”.",
            private_metadata=meta.model_dump_json(),
            max_serials=settings.max_serials_per_request,
            zone_note=zone_note(person),
        )
        try:
            opened = await client.views_open(trigger_id=trigger_id, view=view)
        except Exception as exc:  # an expired trigger or Slack down: the person can simply run the command again
            log.warning("views.open failed: %s", type(exc).__name__)
            return
        if cached is not None:
            return
        person = await directory.person(user_id)
        meta = ModalContext(channel_id=channel_id, tz=person.tz, locale=person.locale)
        fresh = sb.schedule_modal(
            settings.operation_types,
            preview="Type when, e.g. “tomorrow 2am”, “in 3 hours”, “next window”.",
            private_metadata=meta.model_dump_json(),
            max_serials=settings.max_serials_per_request,
            zone_note=zone_note(person),
        )
        opened_view = opened.get("view") or {}
        try:
            await client.views_update(view_id=opened_view.get("id"), hash=opened_view.get("hash"), view=fresh)
        except Exception as exc:  # the person typed meanwhile (hash_conflict): their preview carries the zone
            log.info("views.update after open skipped: %s", type(exc).__name__)

    async def quick_form(respond: AsyncRespond, body: dict[str, Any], args: tuple[str, ...]) -> None:
        user_id = str(body.get("user_id"))
        try:
            serials, op_type, when_text, params = split_quick_form(args)
        except InputError as exc:
            await respond(text=f":warning: {escape(exc)}", response_type="ephemeral")
            return
        person = await directory.person(user_id)
        form = ScheduleForm(serials=serials, operation_type=op_type, when=when_text, parameters="\n".join(params))
        try:
            draft = service.validate(form, tz=person.tz, locale=person.locale)
        except FormErrors as exc:
            await respond(text=_send_errors(exc.errors), response_type="ephemeral")
            runtime.metrics.count("schedule", "user_error")
            return
        if draft.approval_required and settings.approval_channel is None:
            await respond(text=_no_approval_channel(), response_type="ephemeral")
            return
        record = await service.open_request(
            draft,
            requester_id=user_id,
            team_id=str(body.get("team_id") or ""),
            origin_channel_id=body.get("channel_id"),
            confirm_first=True,
            response_url=body.get("response_url"),
        )
        await respond(**sb.confirmation_message(draft, record.id), response_type="ephemeral")
        runtime.metrics.count("schedule", "ok")

    runtime.command_handlers["schedule"] = _schedule_command(runtime, open_modal, quick_form)

    @app.shortcut(sb.SCHEDULE_SHORTCUT)
    async def on_shortcut(ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id = str((shortcut.get("user") or {}).get("id"))
        runtime.spawn(open_modal(client, str(shortcut.get("trigger_id")), user_id, None))

    @app.action(sb.ACTION_WHEN)
    async def on_when_typed(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        runtime.spawn(live_preview(client, body))

    async def live_preview(client: AsyncWebClient, body: dict[str, Any]) -> None:
        view = body.get("view") or {}
        try:
            meta = ModalContext.model_validate_json(view.get("private_metadata") or "{}")
        except ValidationError:
            meta = ModalContext()
        user_id = str((body.get("user") or {}).get("id"))
        person = await directory.person(user_id)
        if meta.tz is None:
            meta = meta.model_copy(update={"tz": person.tz, "locale": person.locale})
        form = form_from_view(view)
        line, _ok = service.preview(form.when, tz=meta.tz or person.tz, locale=meta.locale)
        updated = sb.with_preview(view, line)
        updated["private_metadata"] = meta.model_dump_json()
        try:
            await client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=updated)
        except Exception as exc:  # hash_conflict: a newer keystroke's preview wins
            log.debug("preview update skipped: %s", type(exc).__name__)

    @app.view(sb.SCHEDULE_MODAL)
    async def on_modal_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = str((body.get("user") or {}).get("id"))
        try:
            meta = ModalContext.model_validate_json(view.get("private_metadata") or "{}")
        except ValidationError:
            meta = ModalContext()
        person = directory.cached_person(user_id)
        tz = meta.tz or (person.tz if person else settings.default_timezone)
        try:
            draft = service.validate(form_from_view(view), tz=tz, locale=meta.locale)
        except FormErrors as exc:
            errors = {sb.FIELD_BLOCKS.get(k, k): v[:1900] for k, v in exc.errors.items()}
            await ack(response_action="errors", errors=errors)
            runtime.metrics.count("schedule_modal", "user_error")
            return
        if draft.approval_required and settings.approval_channel is None:
            await ack(response_action="errors", errors={"operation_type": _no_approval_channel(plain=True)})
            return
        await ack()
        runtime.metrics.count("schedule_modal", "ok")
        team_id = str((body.get("team") or {}).get("id") or "")
        runtime.spawn(submit_modal(draft, user_id, team_id, meta.channel_id))

    async def submit_modal(draft: Any, user_id: str, team_id: str, channel_id: str | None) -> None:
        record = await service.open_request(
            draft, requester_id=user_id, team_id=team_id, origin_channel_id=channel_id, confirm_first=False
        )
        await workflow.after_decision(record)

    @app.action(sb.ACTION_CONFIRM)
    async def on_confirm(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        runtime.spawn(confirm_or_cancel(body, action, respond, confirm=True))

    @app.action(sb.ACTION_CANCEL)
    async def on_cancel(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        runtime.spawn(confirm_or_cancel(body, action, respond, confirm=False))

    async def confirm_or_cancel(
        body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, *, confirm: bool
    ) -> None:
        user_id = str((body.get("user") or {}).get("id"))
        request_id = str(action.get("value") or "")[:64]
        decision = await (service.confirm if confirm else service.cancel)(request_id, user_id)
        if not decision.won or decision.record is None:
            await respond(
                text=f":information_source: {decision.reason}", response_type="ephemeral", replace_original=False
            )
            return
        record = decision.record
        if record.state is RequestState.CANCELLED:
            await respond(text=":no_entry_sign: Cancelled. Nothing was scheduled.", replace_original=True)
            return
        if record.state is RequestState.PENDING_APPROVAL:
            await respond(
                **text_message(f":outbox_tray: Sent for approval in <#{settings.approval_channel}>. "
                               "You will get a message when someone decides."),
                replace_original=True,
            )  # fmt: skip
        else:
            await respond(**text_message(":rocket: Confirmed. Creating the operation now…"), replace_original=True)
        await workflow.after_decision(record)

    @app.action(sb.ACTION_APPROVE)
    async def on_approve(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        runtime.spawn(approve(body, action, respond))

    async def approve(body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        user_id = str((body.get("user") or {}).get("id"))
        record = await checked_request(body, action, respond)
        if record is None:
            return
        is_approver = await directory.is_member(user_id, settings.approvers)
        decision = await service.decide(
            record.id, user_id, approve=True, is_approver=is_approver, channel_id=_channel(body)
        )
        if not decision.won or decision.record is None:
            await respond(
                text=f":information_source: {decision.reason}", response_type="ephemeral", replace_original=False
            )
            return
        await workflow.after_decision(decision.record)

    async def checked_request(body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> Any:
        """The request a button names, if the button is really on that request's approval message."""
        request_id = str(action.get("value") or "")[:64]
        record = await runtime.store.get_request(request_id)
        for _ in range(20):  # a very quick click can race the bot recording where it posted the message
            if record is None or record.approval_ts is not None:
                break
            await asyncio.sleep(0.1)
            record = await runtime.store.get_request(request_id)
        message_ts = (body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get("ts")
        if (
            record is None
            or record.approval_ts is None
            or record.approval_ts != message_ts
            or (record.approval_channel_id != _channel(body))
        ):
            user_id = str((body.get("user") or {}).get("id"))
            if await superseded(record, body, respond):
                return None
            log.warning("a decision button did not match its request (user %s)", user_id)
            if record is not None:
                await service.audit(user_id, "decision_mismatch", record, channel_id=_channel(body), outcome="refused")
            await respond(
                text=":warning: That button does not belong to this request. Use the buttons on the request itself.",
                response_type="ephemeral",
                replace_original=False,
            )
            return None
        return record

    async def superseded(record: Any, body: dict[str, Any], respond: AsyncRespond) -> bool:
        """A click on an older copy of the request's own approval message (posted again after a crash between
        posting it and recording where): retire that copy in place and point to the live one."""
        message = body.get("message") or {}
        if (
            record is None
            or record.approval_ts is None
            or record.approval_channel_id != _channel(body)
            or f"`{record.id}`" not in json.dumps(message.get("blocks") or [])
        ):
            return False
        await respond(
            text=":recycle: This copy of the request was replaced by a newer message in this channel; decide there.",
            replace_original=True,
        )
        return True

    @app.action(sb.ACTION_REJECT)
    async def on_reject(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        runtime.spawn(open_reject(body, action, respond, client))

    async def open_reject(
        body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        user_id = str((body.get("user") or {}).get("id"))
        record = await checked_request(body, action, respond)
        if record is None:
            return
        is_approver = await directory.is_member(user_id, settings.approvers)
        refusal = service.may_decide(record, user_id, is_approver=is_approver)
        if refusal is None and record.state is not RequestState.PENDING_APPROVAL:
            refusal = "This request has already been decided."
        if refusal is not None:
            await service.audit(user_id, "reject_refused", record, channel_id=_channel(body), outcome="not_allowed")
            await respond(text=f":information_source: {refusal}", response_type="ephemeral", replace_original=False)
            return
        view = sb.reject_modal(record.id, record.approval_channel_id, record.approval_ts)
        try:
            await client.views_open(trigger_id=str(body.get("trigger_id")), view=view)
        except Exception as exc:  # expired trigger: reject without a reason rather than lose the click
            log.warning("views.open for a reason failed (%s); rejecting without one", type(exc).__name__)
            await reject(record.id, user_id, None, _channel(body))

    @app.view(sb.REJECT_MODAL)
    async def on_reject_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        user_id = str((body.get("user") or {}).get("id"))
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except json.JSONDecodeError:
            meta = {}
        values = ((view.get("state") or {}).get("values") or {}).get("reason") or {}
        reason = str((values.get("value") or {}).get("value") or "").strip()[:500] or None
        runtime.spawn(reject(str(meta.get("request_id") or ""), user_id, reason, meta.get("channel_id")))

    async def reject(request_id: str, user_id: str, reason: str | None, channel_id: str | None) -> None:
        is_approver = await directory.is_member(user_id, settings.approvers)
        decision = await service.decide(
            request_id, user_id, approve=False, is_approver=is_approver, reason=reason, channel_id=channel_id
        )
        if decision.won and decision.record is not None:
            await workflow.after_decision(decision.record)
        elif decision.reason:
            await workflow.post(user_id, {"text": f":information_source: {decision.reason}"})


def _channel(body: dict[str, Any]) -> str | None:
    return (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")


def _no_approval_channel(*, plain: bool = False) -> str:
    text = "This operation needs approval, but no approval channel is configured. Ask an admin to set APPROVAL_CHANNEL."
    return text if plain else f":warning: {text}"


def _schedule_command(runtime: BotRuntime, open_modal: Any, quick_form: Any) -> Any:
    """The ``schedule`` subcommand: the modal with no arguments, the quick form with them."""

    async def handle(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, args: tuple[str, ...]
    ) -> None:
        await ack()
        if not args:
            runtime.spawn(
                open_modal(client, str(body.get("trigger_id")), str(body.get("user_id")), body.get("channel_id"))
            )
            runtime.metrics.count("schedule", "modal")
        else:
            runtime.spawn(_guarded(runtime, respond, quick_form(respond, body, args)))

    return handle


async def _guarded(runtime: BotRuntime, respond: AsyncRespond, work: Any) -> None:
    """Run background work; any failure becomes a plain message to the person, never a silent loss."""
    try:
        await work
    except Exception as exc:
        log.error("scheduling failed", exc_info=exc)
        runtime.metrics.count("schedule", "error")
        try:
            await respond(
                **text_message(":warning: Something went wrong while scheduling; nothing was sent. Try again."),
                response_type="ephemeral",
            )
        except Exception:
            log.warning("could not tell the person about the failure")
