"""Listeners of scheduling: the modal (and its live preview), the quick form, Confirm/Cancel, Approve/Reject.

Each acks first. A modal's submission is validated before its ack (``response_action: errors`` must travel in
the ack); that is pure CPU work with the person's zone already known, so it stays well inside Slack's 3 seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.ids import CHANNEL_ID, REQUEST_ID
from bot.domain.people import Person
from bot.domain.requests import RequestState
from bot.services.decisions import already
from bot.services.inputs import InputError, split_quick_form
from bot.services.scheduling import FormErrors, ScheduleForm, TimeMoved
from bot.slack import schedule_blocks as sb
from bot.slack.blocks import escape, neutralize, text_message
from bot.slack.listeners import safe_respond
from bot.slack.payloads import user_id_of
from bot.slack.schedule_modal import ModalContext, as_dict, form_from_view, typed_text, zone_note
from bot.store.errors import StoreUnavailable

if TYPE_CHECKING:
    from bot.runtime import BotRuntime

log = logging.getLogger("bot.slack.schedule")

MODAL_NOT_OPENED = (
    ":warning: Slack could not open the scheduling form just now. Run `/headless schedule` again in a moment, "
    "or schedule in one line: `/headless schedule SERIAL TYPE WHEN`, like "
    "`/headless schedule SN123456789 reboot tomorrow at 2am`."
)


def request_id_of(action: dict[str, Any]) -> str:
    """The request id a button carries, or ``""`` when its value cannot be one (edited, or not ours)."""
    value = action.get("value")
    return value if isinstance(value, str) and REQUEST_ID.match(value) else ""


def _send_errors(errors: dict[str, str]) -> str:
    names = {
        "serials": "Device serial",
        "operation_type": "Operation",
        "when": "When",
        "parameters": "Parameters",
        "notify_channel_id": "Post status updates in",
    }
    lines = [f"• *{names.get(k, k)}*: {escape(v)}" for k, v in errors.items()]
    return ":warning: I could not schedule that:\n" + "\n".join(lines)


def register(app: AsyncApp, runtime: BotRuntime) -> None:
    settings = runtime.settings
    workflow = runtime.workflow
    directory = runtime.directory
    service = runtime.scheduling

    async def open_modal(
        client: AsyncWebClient,
        trigger_id: str,
        user_id: str,
        channel_id: str | None,
        respond: AsyncRespond | None = None,
    ) -> None:
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
            runtime.metrics.count("schedule_modal", "slack_error")
            message = text_message(MODAL_NOT_OPENED)
            if respond is not None:
                await safe_respond(respond, message)
            else:  # a shortcut has no response_url: a direct message
                await workflow.post(user_id, message)
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
        user_id = user_id_of(body)
        try:
            serials, op_type, when_text, params = split_quick_form(args)
        except InputError as exc:
            await safe_respond(respond, {"text": f":warning: {escape(exc)}"})
            return
        person = await directory.person(user_id)
        form = ScheduleForm(serials=serials, operation_type=op_type, when=when_text, parameters="\n".join(params))
        try:
            draft = service.validate(form, tz=person.tz, locale=person.locale)
        except FormErrors as exc:
            await safe_respond(respond, {"text": _send_errors(exc.errors)})
            runtime.metrics.count("schedule", "user_error")
            return
        if draft.approval_required and settings.approval_channel is None:
            await safe_respond(respond, {"text": _no_approval_channel()})
            return
        record = await service.open_request(
            draft,
            requester_id=user_id,
            team_id=str(body.get("team_id") or ""),
            origin_channel_id=body.get("channel_id"),
            confirm_first=True,
            response_url=body.get("response_url"),
        )
        await safe_respond(respond, sb.confirmation_message(draft, record.id))
        runtime.metrics.count("schedule", "ok")

    runtime.command_handlers["schedule"] = _schedule_command(runtime, open_modal, quick_form)

    @app.shortcut(sb.SCHEDULE_SHORTCUT)
    async def on_shortcut(ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id = user_id_of(shortcut)
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
        if meta.tz is None:  # the zone is filled in when the modal opens; only a very quick keystroke beats it
            person = await directory.person(user_id_of(body))
            meta = meta.model_copy(update={"tz": person.tz, "locale": person.locale})
        form = form_from_view(view)
        shown = service.preview_at(form.when, tz=meta.tz, locale=meta.locale)
        await show_preview(client, view, shown.line, meta, form.when, shown.at)

    async def show_preview(
        client: AsyncWebClient, view: dict[str, Any], line: str, meta: ModalContext, text: str, at: datetime | None
    ) -> None:
        """The preview line under "When", and (in the metadata) the instant it shows for ``text``."""
        meta = meta.model_copy(update={"shown_when": text if at is not None else None, "shown_at": at})
        updated = sb.with_preview(view, line)
        updated["private_metadata"] = meta.model_dump_json()
        try:
            await client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=updated)
        except Exception as exc:  # hash_conflict: a newer keystroke's preview wins
            log.debug("preview update skipped: %s", type(exc).__name__)

    @app.view(sb.SCHEDULE_MODAL)
    async def on_modal_submit(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user_id = user_id_of(body)
        try:
            meta = ModalContext.model_validate_json(view.get("private_metadata") or "{}")
        except ValidationError:
            meta = ModalContext()
        person = directory.cached_person(user_id)
        tz = meta.tz or (person.tz if person else settings.default_timezone)
        form = form_from_view(view)
        try:
            draft = service.validate(form, tz=tz, locale=meta.locale, shown_at=meta.shown_for(form.when))
        except FormErrors as exc:
            errors = {sb.FIELD_BLOCKS.get(k, k): neutralize(v)[:1900] for k, v in exc.errors.items()}
            await ack(response_action="errors", errors=errors)
            runtime.metrics.count("schedule_modal", "user_error")
            if isinstance(exc, TimeMoved):  # the preview (and what the next Submit creates) become the new time
                line = (
                    f"{exc.preview}\n:warning: The time moved on since the last preview: Submit again to keep this one."
                )
                runtime.spawn(show_preview(client, view, line, meta.model_copy(update={"tz": tz}), form.when, exc.when))
            return
        if draft.approval_required and settings.approval_channel is None:
            await ack(response_action="errors", errors={"operation_type": _no_approval_channel(plain=True)})
            return
        await ack()
        runtime.metrics.count("schedule_modal", "ok")
        team_id = str((body.get("team") or {}).get("id") or "")
        runtime.spawn(_guarded_dm(runtime, user_id, submit_modal(draft, user_id, team_id, meta.channel_id)))

    async def submit_modal(draft: Any, user_id: str, team_id: str, channel_id: str | None) -> None:
        record = await service.open_request(
            draft, requester_id=user_id, team_id=team_id, origin_channel_id=channel_id, confirm_first=False
        )
        await follow_up(record)

    async def follow_up(record: Any) -> None:
        """What follows a recorded request or decision (post, create, tell). It is saved by now, so a failure here
        must not read "not saved, try again": the maintenance loop finishes the job."""
        try:
            await workflow.after_decision(record)
        except Exception as exc:
            raise SavedButUnfinished(record.id) from exc

    @app.action(sb.ACTION_CONFIRM)
    async def on_confirm(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        runtime.spawn(_guarded(runtime, respond, confirm_or_cancel(body, action, respond, confirm=True), CLICK))

    @app.action(sb.ACTION_CANCEL)
    async def on_cancel(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        runtime.spawn(_guarded(runtime, respond, confirm_or_cancel(body, action, respond, confirm=False), CLICK))

    async def confirm_or_cancel(
        body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, *, confirm: bool
    ) -> None:
        user_id = user_id_of(body)
        request_id = request_id_of(action)
        decision = await (service.confirm if confirm else service.cancel)(request_id, user_id)
        if decision.expired:  # the Confirm came too late: the preview says so in place (its reader is the requester)
            await safe_respond(
                respond, text_message(f":alarm_clock: {decision.reason}"), replace_original=True, response_type=None
            )
            return
        if not decision.won or decision.record is None:
            await safe_respond(respond, {"text": f":information_source: {decision.reason}"}, replace_original=False)
            return
        record = decision.record
        if record.state is RequestState.CANCELLED:
            await safe_respond(
                respond, {"text": ":no_entry_sign: Cancelled. Nothing was scheduled."}, replace_original=True,
                response_type=None,
            )  # fmt: skip
            return
        if record.state is RequestState.PENDING_APPROVAL:
            await safe_respond(
                respond,
                text_message(f":outbox_tray: Sent for approval in <#{settings.approval_channel}>. "
                             "You will get a message when someone decides."),
                replace_original=True, response_type=None,
            )  # fmt: skip
        else:
            await safe_respond(
                respond, text_message(":rocket: Confirmed. Creating the operation now…"), replace_original=True,
                response_type=None,
            )  # fmt: skip
        await follow_up(record)

    @app.action(sb.ACTION_APPROVE)
    async def on_approve(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        runtime.spawn(_guarded(runtime, respond, approve(body, action, respond), CLICK))

    async def approve(body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
        user_id = user_id_of(body)
        record = await checked_request(body, action, respond)
        if record is None:
            return
        decision = await service.decide(
            record.id, user_id, approve=True, is_approver=await may_approve(user_id), channel_id=_channel(body)
        )
        if decision.expired and decision.record is not None:
            # Too late to approve: the approver reads why, the message and the requester hear of it at once.
            await safe_respond(respond, {"text": f":alarm_clock: {decision.reason}"}, replace_original=False)
            await follow_up(decision.record)
            return
        if not decision.won or decision.record is None:
            await safe_respond(respond, {"text": f":information_source: {decision.reason}"}, replace_original=False)
            return
        await follow_up(decision.record)

    async def checked_request(body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> Any:
        """The request a button names, if the button is really on that request's approval message."""
        request_id = request_id_of(action)
        record = await runtime.store.get_request(request_id) if request_id else None
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
            user_id = user_id_of(body)
            if await superseded(record, body, respond):
                return None
            log.warning("a decision button did not match its request (user %s)", user_id)
            if record is not None:
                await service.audit(user_id, "decision_mismatch", record, channel_id=_channel(body), outcome="refused")
            await safe_respond(
                respond,
                {
                    "text": ":warning: That button does not belong to this request. "
                    "Use the buttons on the request itself."
                },
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
        await safe_respond(
            respond,
            {
                "text": ":recycle: This copy of the request was replaced by a newer message in this channel; "
                "decide there."
            },
            replace_original=True,
            response_type=None,
        )
        return True

    @app.action(sb.ACTION_REJECT)
    async def on_reject(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        runtime.spawn(_guarded(runtime, respond, open_reject(body, action, respond, client), CLICK))

    async def open_reject(
        body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        user_id = user_id_of(body)
        record = await checked_request(body, action, respond)
        if record is None:
            return
        refusal = service.may_decide(record, user_id, is_approver=await may_approve(user_id))
        if refusal is None and record.state is not RequestState.PENDING_APPROVAL:
            refusal = already(record)  # where it stands, as an Approve click would read it
        if refusal is not None:
            await service.audit(user_id, "reject_refused", record, channel_id=_channel(body), outcome="not_allowed")
            await safe_respond(respond, {"text": f":information_source: {refusal}"}, replace_original=False)
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
        user_id = user_id_of(body)
        try:
            meta = as_dict(json.loads(view.get("private_metadata") or "{}"))
        except (json.JSONDecodeError, TypeError):
            meta = {}
        values = as_dict(as_dict(as_dict(view.get("state")).get("values")).get("reason"))
        reason = typed_text(as_dict(values.get("value")).get("value")).strip()[:500] or None
        channel = meta.get("channel_id")
        channel = channel if isinstance(channel, str) and CHANNEL_ID.match(channel) else None
        request_id = request_id_of({"value": meta.get("request_id")})
        runtime.spawn(_guarded_dm(runtime, user_id, reject(request_id, user_id, reason, channel), CLICK))

    async def may_approve(user_id: str) -> bool:
        return await directory.is_approver(user_id, settings.approvers)

    async def reject(request_id: str, user_id: str, reason: str | None, channel_id: str | None) -> None:
        decision = await service.decide(
            request_id,
            user_id,
            approve=False,
            is_approver=await may_approve(user_id),
            reason=reason,
            channel_id=channel_id,
        )
        if decision.won and decision.record is not None:
            await follow_up(decision.record)
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
                open_modal(client, str(body.get("trigger_id")), user_id_of(body), body.get("channel_id"), respond)
            )
            runtime.metrics.count("schedule", "modal")
        else:
            runtime.spawn(_guarded(runtime, respond, quick_form(respond, body, args)))

    return handle


class SavedButUnfinished(Exception):
    """The request (or decision) is recorded; what follows it failed and is left to the maintenance loop."""

    def __init__(self, request_id: str) -> None:
        super().__init__(request_id)
        self.request_id = request_id


@dataclass(frozen=True)
class Words:
    """What the person reads when background work fails: in general, and when the database is unreachable."""

    failed: str
    not_saved: str


SCHEDULING = Words(
    failed=":warning: Something went wrong while scheduling; nothing was sent. Try again.",
    not_saved=":floppy_disk: The bot cannot reach its database right now, so your request was not saved and nothing "
    "was sent to the Control API. Try again in a minute; if it keeps happening, tell an admin.",
)
CLICK = Words(
    failed=":warning: Something went wrong while handling that click. It has been logged; try again in a moment "
    "(a decision is only ever taken once, so clicking again is safe).",
    not_saved=":floppy_disk: The bot cannot reach its database right now, so that click was not recorded. Click "
    "again in a minute (a decision is only ever taken once, so clicking again is safe).",
)


def _failure_message(runtime: BotRuntime, exc: Exception, words: Words) -> str:
    """Log the failure; the words for the person (no stack trace, and never "try again" for what is saved)."""
    if isinstance(exc, SavedButUnfinished):
        cause = exc.__cause__
        if isinstance(cause, StoreUnavailable):
            log.warning("request %s is recorded; what follows is postponed: %s", exc.request_id, cause)
        else:
            log.error("request %s is recorded; what follows failed", exc.request_id, exc_info=cause)
        runtime.metrics.count("schedule", "postponed")
        return (
            f":hourglass_flowing_sand: Request `{exc.request_id}` is recorded, but the bot could not finish the "
            "next step just now. It will finish it by itself and you will get a message; do not send it again."
        )
    if isinstance(exc, StoreUnavailable):
        log.warning("scheduling postponed: %s", exc)
        runtime.metrics.count("schedule", "database_unavailable")
        return words.not_saved
    log.error("scheduling failed", exc_info=exc)
    runtime.metrics.count("schedule", "error")
    return words.failed


async def _guarded(runtime: BotRuntime, respond: AsyncRespond, work: Any, words: Words = SCHEDULING) -> None:
    """Run background work; any failure becomes a plain message to the person, never a silent loss."""
    try:
        await work
    except Exception as exc:
        await safe_respond(respond, text_message(_failure_message(runtime, exc, words)))


async def _guarded_dm(runtime: BotRuntime, user_id: str, work: Any, words: Words = SCHEDULING) -> None:
    """``_guarded`` for work with no ``response_url`` (a modal's submission): the person hears in a DM."""
    try:
        await work
    except Exception as exc:
        await runtime.workflow.post(user_id, text_message(_failure_message(runtime, exc, words)))
