"""``/headless``: ack first, parse into a typed request, then answer (at once, or later through ``respond``).

A listener returns as soon as it has acked (bolt runs with ``process_before_response=True``, so Slack's HTTP
response leaves the moment the listener returns, with no polling); anything slow is spawned as background work and
answers through ``respond()`` (the request's ``response_url``), with a "still waiting" note when the Control API is
slow and a plain-words error when it fails, so a person never meets a Slack timeout or a stack trace.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.control.models import Operation
from bot.domain.access import place_of
from bot.domain.ids import CHANNEL_ID
from bot.domain.inventory import Inventory, SelectorError
from bot.i18n import N_, _, current_language, set_language
from bot.services.inputs import InputError, split_quick_form
from bot.services.operations import ListCursor
from bot.services.scheduling import FormErrors, NoApprovalChannel, ScheduleForm
from bot.slack.blocks import inventory as ib
from bot.slack.blocks import operations as blocks
from bot.slack.blocks import scheduling as sb
from bot.slack.blocks.common import Message, escape, status_badge, text_message
from bot.slack.commands import (
    AuditRequest,
    CanRequest,
    DevicesRequest,
    HelpRequest,
    InvalidRequest,
    LanguageRequest,
    ListRequest,
    ParsedCommand,
    RefreshRequest,
    RolloutRequest,
    RolloutsRequest,
    RolloutStatusRequest,
    ScheduleRequest,
    StatusRequest,
    TypesRequest,
    UnknownRequest,
    UnwatchRequest,
    WatchRequest,
    parse_command,
)
from bot.slack.deps import SlackDeps
from bot.slack.listeners.rollouts import quick_rollout, run_rollout_status, run_rollouts
from bot.slack.modal import open_modal
from bot.slack.operation_fields import types_message
from bot.slack.payloads import user_id_of
from bot.slack.respond import Respond, answer_later, guarded, safe_respond
from bot.slack.rollout_modal import open_rollout_modal
from bot.slack.web import POST
from bot.slack.wording import (
    NO_INVENTORY,
    access_answer,
    cannot_post_in,
    form_errors,
    selector_refused,
    types_answer,
)

log = logging.getLogger("bot.slack.listeners")

COMMAND = "/headless"
LANGUAGE_NAMES = {"en": N_("English"), "es": N_("Spanish")}


def register(app: AsyncApp) -> None:
    app.command(COMMAND)(handle_command)


async def handle_command(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: Respond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    deps: SlackDeps,
) -> None:
    request: ParsedCommand = parse_command(str(command.get("text") or ""))
    metrics, spawn = deps.metrics, deps.tasks.spawn
    if isinstance(request, HelpRequest) and deps.access.restricted:  # only what the reader may do: looked up
        await ack()
        spawn(run_help(deps, respond, user_id_of(command), command.get("channel_id")))
    elif isinstance(request, HelpRequest):
        await ack(**blocks.help_message(), response_type="ephemeral")
        metrics.count("help", "ok")
    elif isinstance(request, LanguageRequest):
        await ack()
        spawn(guarded(deps, respond, run_language(deps, respond, user_id_of(command), request)))
    elif isinstance(request, CanRequest):
        await ack()
        spawn(guarded(deps, respond, run_can(deps, respond, user_id_of(command), request, command.get("channel_id"))))
    elif isinstance(request, UnknownRequest):
        await ack(**blocks.help_message(word=request.word, suggestion=request.suggestion), response_type="ephemeral")
        metrics.count("unknown", "user_error")
    elif isinstance(request, InvalidRequest):
        await ack(**blocks.help_message(problem=request.problem), response_type="ephemeral")
        metrics.count(request.subcommand, "user_error")
    elif isinstance(request, ListRequest):
        await ack()
        spawn(run_list(deps, respond, request))
    elif isinstance(request, StatusRequest):
        await ack()
        spawn(run_status(deps, respond, request.operation_id))
    elif isinstance(request, RefreshRequest):
        await ack(
            text=":satellite_antenna: "
            + _(
                "Refreshing `{operation_id}`: asking the device for its current "
                "status. This can take a little while; the answer will appear here."
            ).format(operation_id=request.operation_id),
            response_type="ephemeral",
        )
        spawn(run_refresh(deps, respond, request.operation_id, replace=True))
    elif isinstance(request, ScheduleRequest):
        await handle_schedule(ack, command, respond, client, request.args, deps)
    elif isinstance(request, WatchRequest | UnwatchRequest):
        channel = request.channel_id or str(command.get("channel_id") or "")
        if not CHANNEL_ID.match(channel):  # a DM or a payload we cannot trust to be a channel id
            await ack(
                **blocks.help_message(
                    problem=_("Name the channel with Slack's # autocomplete: {example}.").format(
                        example=f"`/headless {request.kind} {request.operation_id} #ops`"
                    )
                ),
                response_type="ephemeral",
            )
            metrics.count(request.kind, "user_error")
            return
        await ack()
        spawn(run_watch(deps, respond, user_id_of(command), request, channel, context.bot_user_id))
    elif isinstance(request, AuditRequest):
        await ack()
        spawn(run_audit(deps, respond, user_id_of(command), request.subject))
    elif isinstance(request, DevicesRequest):
        await ack()
        spawn(run_devices(deps, respond, request))
    elif isinstance(request, RolloutRequest) and not request.args:
        await ack()
        trigger_id, channel_id = str(command.get("trigger_id")), command.get("channel_id")
        spawn(open_rollout_modal(deps, client, trigger_id, user_id_of(command), channel_id))
    elif isinstance(request, RolloutRequest):
        await ack()
        spawn(guarded(deps, respond, quick_rollout(deps, respond, command, request.args)))
    elif isinstance(request, RolloutStatusRequest):
        await ack()
        spawn(guarded(deps, respond, run_rollout_status(deps, respond, request.rollout_id)))
    elif isinstance(request, RolloutsRequest):
        await ack()
        spawn(guarded(deps, respond, run_rollouts(deps, respond)))
    elif isinstance(request, TypesRequest):
        await ack(**types_message(deps.scheduling.rules), response_type="ephemeral")
        metrics.count("types", "ok")
    else:
        await ack(
            text=":construction: "
            + _(
                "`/headless {subcommand}` is not available in this version yet. Type `/headless help` for what is."
            ).format(subcommand=request.kind),
            response_type="ephemeral",
        )
        metrics.count(request.kind, "unavailable")


# ---------------------------------------------------------------------------------------------- lookups


def _operation(operation_id: str) -> str:
    """What a failure about one operation names (``explain``'s ``what``)."""
    return _("operation `{operation_id}`").format(operation_id=operation_id)


async def run_list(
    deps: SlackDeps, respond: Respond, request: ListRequest, *, replace: bool = False, after: ListCursor | None = None
) -> None:
    async def work() -> Message:
        operations = await deps.operations.list(serial=request.serial, status=request.status)
        return blocks.list_message(
            operations, serial=request.serial, status=request.status, offset=request.offset, after=after
        )

    await answer_later(
        deps, respond, command="list", what=_("the operation list"), work=work, deadline=deps.deadline,
        replace_original=replace, reading=True,
    )  # fmt: skip


async def run_status(deps: SlackDeps, respond: Respond, operation_id: str) -> None:
    async def work() -> Message:
        return blocks.operation_message(await deps.operations.status(operation_id))

    await answer_later(
        deps, respond, command="status", what=_operation(operation_id), work=work, deadline=deps.deadline,
        reading=True,
    )  # fmt: skip


async def run_refresh(deps: SlackDeps, respond: Respond, operation_id: str, *, replace: bool) -> None:
    async def work() -> Message:
        result = await deps.operations.refresh(operation_id)
        return blocks.operation_message(result.operation, refreshed_age=result.age_seconds, cached=result.cached)

    await answer_later(
        deps, respond, command="refresh", what=_operation(operation_id), work=work,
        deadline=deps.refresh_deadline, replace_original=replace, replace_progress=replace, reading=True,
    )  # fmt: skip


async def run_help(deps: SlackDeps, respond: Respond, user_id: str, channel_id: str | None) -> None:
    """``/headless help`` under access rules: the lines of what the reader may do where they asked."""
    allowed = await deps.access.permitted(user_id, place_of(channel_id))
    await safe_respond(respond, blocks.help_message(allowed=allowed))
    deps.metrics.count("help", "ok")


async def run_can(deps: SlackDeps, respond: Respond, user_id: str, request: CanRequest, channel_id: str | None) -> None:
    """``/headless can ACTION [in #channel]``: allowed or denied there, and the rule that decided. ``schedule``
    (``approve``, ``rollout``) with no type lists the types the person may use."""
    access = deps.access
    place = request.channel_id or place_of(channel_id)
    family, _colon, kind = request.action.partition(":")
    if kind == "*" and access.restricted:
        types = await access.allowed_types(user_id, family, place)
        await safe_respond(respond, text_message(types_answer(family, types, place)))
    else:
        verdict = await access.check(user_id, request.action, place)
        hint = None if verdict.allowed else await access.hint(user_id, verdict)
        await safe_respond(respond, text_message(access_answer(verdict, hint)))
    deps.metrics.count("can", "ok")


async def run_language(deps: SlackDeps, respond: Respond, user_id: str, request: LanguageRequest) -> None:
    """``/headless language es|en|auto``: stored for the person; the answer is already in the new language."""
    languages = deps.languages
    if request.language is None:
        chosen = await languages.choice(user_id)
        how = _("chosen by you") if chosen else _("from your Slack language")
        text = _("You read the bot in {language} ({how}). Change it with {command}.").format(
            language=_(LANGUAGE_NAMES[await languages.for_person(user_id)]), how=how,
            command="`/headless language es|en|auto`",
        )  # fmt: skip
    else:
        set_language(await languages.choose(user_id, request.language))
        if request.language == "auto":
            text = _("Done: the bot follows your Slack language again ({language}).")
        else:
            text = _("Done: the bot speaks {language} to you now.")
        text = text.format(language=_(LANGUAGE_NAMES[current_language()]))
    await safe_respond(respond, text_message(f":speech_balloon: {text}"))
    deps.metrics.count("language", "ok")


async def run_audit(deps: SlackDeps, respond: Respond, user_id: str, subject: str | None) -> None:
    # Under access rules the gate has checked `audit`; without them the audit log is for approvers, as it was.
    if not deps.access.restricted and not await deps.directory.is_approver(user_id, deps.settings.approvers):
        await safe_respond(
            respond, text_message(":lock: " + _("The audit log is for approvers.")), replace_original=False
        )
        deps.metrics.count("audit", "not_allowed")
        return

    async def audit() -> Message:
        return blocks.audit_message(await deps.watches.recent_audit(subject, limit=25), subject=subject)

    await answer_later(
        deps, respond, command="audit", what=_("the audit log"), work=audit, deadline=deps.deadline, reading=True
    )


async def run_devices(deps: SlackDeps, respond: Respond, request: DevicesRequest, *, replace: bool = False) -> None:
    """``/headless devices [SELECTOR]``: read from the inventory in memory (no API call), off the event loop (a
    selector over 100,000 devices takes a few milliseconds, its counts a few more)."""
    source = deps.inventory
    inventory = source.current if source is not None else None
    if source is None or inventory is None:
        await safe_respond(respond, text_message(_(NO_INVENTORY)), replace_original=replace)
        deps.metrics.count("devices", "unavailable")
        return
    try:
        message = await asyncio.to_thread(_devices_page, inventory, request, source.problem)
    except SelectorError as exc:
        await safe_respond(respond, text_message(selector_refused(exc)), replace_original=replace)
        deps.metrics.count("devices", "user_error")
        return
    await safe_respond(respond, message, replace_original=replace)
    deps.metrics.count("devices", "ok")


def _devices_page(inventory: Inventory, request: DevicesRequest, stale: str | None) -> Message:
    selection = inventory.select(request.selector)
    return ib.devices_message(selection, total=len(inventory), offset=request.offset, stale=stale)


# ---------------------------------------------------------------------------------------------- watches


async def run_watch(
    deps: SlackDeps,
    respond: Respond,
    user_id: str,
    request: WatchRequest | UnwatchRequest,
    channel: str,
    bot_user_id: str | None = None,
) -> None:
    operation_id = request.operation_id
    if isinstance(request, UnwatchRequest):

        async def unwatch() -> Message:
            removed = await deps.watches.unwatch(operation_id, channel, user_id)
            where = f"<#{channel}>"
            if removed:
                return text_message(
                    ":mute: "
                    + _("{channel} no longer follows `{operation_id}`.").format(
                        channel=where, operation_id=operation_id
                    )
                )
            return text_message(
                ":information_source: "
                + _("{channel} was not following `{operation_id}`.").format(channel=where, operation_id=operation_id)
            )

        # Through answer_later like every other answer: a failure is worded and counted, never silent.
        await answer_later(
            deps, respond, command="unwatch", what=_operation(operation_id), work=unwatch,
            deadline=deps.deadline,
        )  # fmt: skip
        return

    async def work() -> Message:
        operation = await deps.operations.status(operation_id)  # it must exist before anyone follows it
        refusal = await announce_watch(deps, operation_id, operation, channel, user_id, bot_user_id)
        if refusal is not None:
            return refusal
        added = await deps.watches.watch(operation_id, channel, user_id)
        sentence = (
            _("{channel} now follows `{operation_id}` ({operation_type} on `{serial}`, {status}).")
            if added
            else _("{channel} already follows `{operation_id}` ({operation_type} on `{serial}`, {status}).")
        )
        stop = _("Status changes will be posted there; {unwatch} to stop.").format(
            unwatch=f"`/headless unwatch {operation.id}`"
        )
        return text_message(
            ":eyes: "
            + sentence.format(
                channel=f"<#{channel}>",
                operation_id=operation.id,
                operation_type=escape(operation.operation_type),
                serial=escape(operation.device_serial),
                status=status_badge(operation.status),
            )
            + " "
            + stop
        )

    await answer_later(deps, respond, command="watch", what=_operation(operation_id), work=work, deadline=deps.deadline)


async def announce_watch(
    deps: SlackDeps, operation_id: str, operation: Operation, channel: str, user_id: str, bot_user_id: str | None
) -> Message | None:
    """Before ``channel`` starts following an operation, the bot tells it so there; ``None`` when that worked (or the
    channel already follows it), else the refusal for the person (nothing is set up).

    The post proves the bot can post in the channel with the scope it already has (``chat:write``), where
    ``conversations.info`` would need ``channels:read`` and ``groups:read``. The store is read first, so a database
    outage fails before anything is posted.
    """
    if await deps.watches.is_watched(operation_id, channel):
        return None
    problem = await post_in_channel(deps, channel, blocks.watch_announcement(operation, asked_by=user_id))
    if problem is None:
        return None
    log.info("watch of %s refused: cannot post in %s (%s)", operation_id, channel, problem)
    subject = f"`{escape(operation.id)}`"
    return text_message(cannot_post_in(channel, problem, subject=subject, bot_user_id=bot_user_id))


async def post_in_channel(deps: SlackDeps, channel: str, message: Message) -> str | None:
    """``chat.postMessage``: ``None`` when Slack took it, else why not (Slack's error code, ``ratelimited``,
    ``http_<status>`` or ``unreachable``). Tried again only after a short 429 (``web.POST``)."""
    result = await deps.web.post(channel, message, policy=POST)
    if result.ok:
        return None
    answer = result.answer
    if answer.failure is not None:
        log.warning("chat.postMessage to %s failed: %s", channel, answer.failure)
        return "unreachable"
    if answer.rate_limited:
        return "ratelimited"
    if answer.status >= 400:
        return f"http_{answer.status}"
    return answer.error or "unknown_error"


# ---------------------------------------------------------------------------------------------- schedule


async def handle_schedule(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: Respond,
    client: AsyncWebClient,
    args: tuple[str, ...],
    deps: SlackDeps,
) -> None:
    """The ``schedule`` subcommand: the modal with no arguments, the quick form with them."""
    await ack()
    if not args:
        trigger_id, user_id = str(body.get("trigger_id")), user_id_of(body)
        deps.tasks.spawn(open_modal(deps, client, trigger_id, user_id, body.get("channel_id"), respond))
        deps.metrics.count("schedule", "modal")
    else:
        deps.tasks.spawn(guarded(deps, respond, quick_form(deps, respond, body, args)))


async def quick_form(deps: SlackDeps, respond: Respond, body: dict[str, Any], args: tuple[str, ...]) -> None:
    """``/headless schedule SERIAL TYPE WHEN [key=value …]``: validated, stored as a draft, shown with Confirm."""
    user_id = user_id_of(body)
    try:
        serials, op_type, when_text, params = split_quick_form(args)
    except InputError as exc:
        await safe_respond(respond, {"text": f":warning: {escape(exc)}"})
        return
    person = await deps.directory.person(user_id)
    form = ScheduleForm(serials=serials, operation_type=op_type, when=when_text, parameters="\n".join(params))
    try:
        draft = deps.scheduling.validate(form, tz=person.tz, locale=person.locale)
    except NoApprovalChannel as exc:
        await safe_respond(respond, {"text": f":warning: {_(exc.TEXT)}"})
        return
    except FormErrors as exc:
        await safe_respond(respond, {"text": form_errors(exc.errors)})
        deps.metrics.count("schedule", "user_error")
        return
    record = await deps.scheduling.open_request(
        draft,
        requester_id=user_id,
        team_id=str(body.get("team_id") or ""),
        origin_channel_id=body.get("channel_id"),
        confirm_first=True,
        response_url=body.get("response_url"),
    )
    await safe_respond(respond, sb.confirmation_message(draft, record.id))
    deps.metrics.count("schedule", "ok")
