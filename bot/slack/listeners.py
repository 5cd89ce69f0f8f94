"""Listeners: ``ack()`` first, parse into a typed request, call a service, render, answer.

They hold no business rules. A listener returns as soon as it has acked (bolt runs with
``process_before_response=True``, so Slack's HTTP response leaves the moment the listener returns, with no polling);
anything slow is spawned as a background task of the runtime and answers through ``respond()`` (the request's
``response_url``), with a "still waiting" note when the Control API is slow and a plain-words error when
it fails, so a person never meets a Slack timeout or a stack trace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from pydantic import BaseModel, ValidationError, field_validator
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.control.errors import ControlApiError, ControlApiUnavailable, Unauthorized
from bot.control.models import Operation
from bot.domain.ids import CHANNEL_ID, SERIAL, STATUS_WORD, TXN_ID
from bot.services.operations import ListCursor
from bot.slack import blocks
from bot.slack.commands import (
    AuditRequest,
    HelpRequest,
    InvalidRequest,
    ListRequest,
    ParsedCommand,
    RefreshRequest,
    ScheduleRequest,
    StatusRequest,
    UnknownRequest,
    UnwatchRequest,
    WatchRequest,
    parse_command,
)
from bot.slack.payloads import user_id_of
from bot.slack.wording import cannot_post_in, explain
from bot.slack.workflow import MAX_RETRY_WAIT_SECONDS, retry_after_seconds
from bot.store.errors import StoreUnavailable

if TYPE_CHECKING:
    from bot.runtime import BotRuntime

log = logging.getLogger("bot.slack.listeners")

COMMAND = "/headless"
PROGRESS_AFTER_SECONDS = 2.0
RESPOND_ATTEMPTS = 3
Message = dict[str, Any]


def _outcome(exc: BaseException) -> str:
    if isinstance(exc, StoreUnavailable):
        return "database_unavailable"
    if isinstance(exc, Unauthorized):
        return "unauthorized"
    if isinstance(exc, ControlApiUnavailable | TimeoutError):
        return "unavailable"
    if isinstance(exc, ControlApiError):
        return "api_error"
    return "error"


async def answer_later(
    runtime: BotRuntime,
    respond: AsyncRespond,
    *,
    command: str,
    what: str,
    work: Callable[[], Awaitable[Message]],
    deadline: float,
    replace_original: bool = False,
    replace_progress: bool = True,
    reading: bool = False,
) -> None:
    """Run ``work`` after the ack; say so if it is slow; answer with its message or a plain-words error.

    ``replace_original`` replaces the message the request came from (an ephemeral list page, the ack of a slash
    command); ``replace_progress`` lets the answer replace the "still waiting" note. Both must be False for a
    button on a channel message, or the answer would overwrite that message for everyone. ``reading``: ``work``
    only looks something up, so a failure is worded as "could not be looked up" (see ``explain``).
    """
    task = asyncio.ensure_future(work())
    progress_shown = False
    outcome = "ok"
    try:
        done, _ = await asyncio.wait({task}, timeout=PROGRESS_AFTER_SECONDS)
        if not done:
            progress_shown = await _safe_respond(
                respond,
                {"text": f":hourglass_flowing_sand: Still waiting for the Control API on {what}…"},
                replace_original=replace_original,
            )
        message = await asyncio.wait_for(task, timeout=max(0.1, deadline - PROGRESS_AFTER_SECONDS))
    except Exception as exc:
        outcome = _outcome(exc)
        if outcome == "error":
            log.error("%s failed", command, exc_info=exc)
        else:
            log.warning("%s: %s: %s", command, outcome.replace("_", " "), exc)
        message = blocks.text_message(explain(exc, what=what, reading=reading))
    runtime.metrics.count(command, outcome)
    await _safe_respond(respond, message, replace_original=replace_original or (progress_shown and replace_progress))


async def _safe_respond(respond: AsyncRespond, message: Message, *, replace_original: bool) -> bool:
    """``respond()`` that logs instead of raising when Slack cannot be reached; True when it was delivered."""
    return await safe_respond(respond, message, replace_original=replace_original)


async def safe_respond(
    respond: AsyncRespond,
    message: Message,
    *,
    replace_original: bool | None = None,
    response_type: str | None = "ephemeral",
) -> bool:
    """Answer through ``response_url``; True when Slack took it.

    slack_sdk's webhook client does not raise on an HTTP error, so a 429 (Slack's ``Retry-After`` honoured, up to
    a few seconds) or a 5xx is retried here, a couple of times, before giving up with a log line: an answer is
    never silently dropped because Slack was briefly busy. Nothing here ever raises.
    """
    for attempt in range(RESPOND_ATTEMPTS):
        try:
            response = await respond(**message, response_type=response_type, replace_original=replace_original)
        except Exception as exc:
            log.warning("could not answer through response_url: %s", type(exc).__name__)
            return False
        status = int(getattr(response, "status_code", 200) or 200)
        if status < 400:
            return True
        retryable = status == 429 or status >= 500
        if not retryable or attempt + 1 >= RESPOND_ATTEMPTS:
            log.warning("Slack refused an answer through response_url: HTTP %d", status)
            return False
        wait = retry_after_seconds(getattr(response, "headers", None), default=0.5 * 2**attempt)
        if wait > MAX_RETRY_WAIT_SECONDS:
            log.warning("Slack asked to wait %.0f s before answering through response_url; not waiting", wait)
            return False
        log.info("response_url answered HTTP %d; trying again in %.1f s", status, wait)
        await asyncio.sleep(wait)
    return False


async def post_in_channel(client: AsyncWebClient, channel: str, message: Message) -> str | None:
    """``chat.postMessage``: ``None`` when Slack took it, else why not (Slack's error code, ``ratelimited``,
    ``http_<status>`` or ``unreachable``).

    Tried once more only after a short 429 (nothing was posted then); a 5xx or a dropped connection may have posted,
    so it is not sent again.
    """
    for attempt in (1, 2):
        try:
            await client.chat_postMessage(channel=channel, **message)
        except SlackApiError as exc:
            status = int(getattr(exc.response, "status_code", 200) or 200)
            if status == 429:
                wait = retry_after_seconds(getattr(exc.response, "headers", None))
                if attempt == 1 and wait <= MAX_RETRY_WAIT_SECONDS:
                    await asyncio.sleep(wait)
                    continue
                return "ratelimited"
            if status >= 400:
                return f"http_{status}"
            return str(exc.response.get("error") or "unknown_error")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("chat.postMessage to %s failed: %s", channel, type(exc).__name__)
            return "unreachable"
        return None
    return "ratelimited"


async def announce_watch(
    runtime: BotRuntime, operation_id: str, operation: Operation, channel: str, user_id: str, bot_user_id: str | None
) -> Message | None:
    """Before ``channel`` starts following an operation, the bot tells it so there; ``None`` when that worked (or the
    channel already follows it), else the refusal for the person (nothing is set up).

    The post proves the bot can post in the channel with the scope it already has (``chat:write``), where
    ``conversations.info`` would need ``channels:read`` and ``groups:read``. The store is read first, so a database
    outage fails before anything is posted.
    """
    if await runtime.store.watches_for([operation_id], channel_id=channel):
        return None
    problem = await post_in_channel(runtime.web_client, channel, blocks.watch_announcement(operation, asked_by=user_id))
    if problem is None:
        return None
    log.info("watch of %s refused: cannot post in %s (%s)", operation_id, channel, problem)
    subject = f"`{blocks.escape(operation.id)}`"
    return blocks.text_message(cannot_post_in(channel, problem, subject=subject, bot_user_id=bot_user_id))


def register(app: AsyncApp, runtime: BotRuntime) -> None:
    """Attach every listener to ``app``."""
    settings = runtime.settings
    deadline = settings.control_api_timeout_seconds * 2.5
    refresh_deadline = settings.control_api_refresh_timeout_seconds + 5

    async def run_list(
        respond: AsyncRespond, request: ListRequest, *, replace: bool = False, after: ListCursor | None = None
    ) -> None:
        async def work() -> Message:
            operations = await runtime.operations.list(serial=request.serial, status=request.status)
            return blocks.list_message(
                operations, serial=request.serial, status=request.status, offset=request.offset, after=after
            )

        await answer_later(
            runtime, respond, command="list", what="the operation list", work=work, deadline=deadline,
            replace_original=replace, reading=True,
        )  # fmt: skip

    async def run_status(respond: AsyncRespond, operation_id: str) -> None:
        async def work() -> Message:
            return blocks.operation_message(await runtime.operations.status(operation_id))

        await answer_later(
            runtime, respond, command="status", what=f"operation `{operation_id}`", work=work, deadline=deadline,
            reading=True,
        )  # fmt: skip

    async def run_refresh(respond: AsyncRespond, operation_id: str, *, replace: bool) -> None:
        async def work() -> Message:
            result = await runtime.operations.refresh(operation_id)
            return blocks.operation_message(result.operation, refreshed_age=result.age_seconds, cached=result.cached)

        await answer_later(
            runtime, respond, command="refresh", what=f"operation `{operation_id}`", work=work,
            deadline=refresh_deadline, replace_original=replace, replace_progress=replace, reading=True,
        )  # fmt: skip

    @app.command(COMMAND)
    async def on_command(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        request: ParsedCommand = parse_command(str(command.get("text") or ""))
        if isinstance(request, HelpRequest):
            await ack(**blocks.help_message(), response_type="ephemeral")
            runtime.metrics.count("help", "ok")
        elif isinstance(request, UnknownRequest):
            await ack(
                **blocks.help_message(word=request.word, suggestion=request.suggestion), response_type="ephemeral"
            )
            runtime.metrics.count("unknown", "user_error")
        elif isinstance(request, InvalidRequest):
            await ack(**blocks.help_message(problem=request.problem), response_type="ephemeral")
            runtime.metrics.count(request.subcommand, "user_error")
        elif isinstance(request, ListRequest):
            await ack()
            runtime.spawn(run_list(respond, request))
        elif isinstance(request, StatusRequest):
            await ack()
            runtime.spawn(run_status(respond, request.operation_id))
        elif isinstance(request, RefreshRequest):
            await ack(
                text=f":satellite_antenna: Refreshing `{request.operation_id}`: asking the device for its current "
                "status. This can take a little while; the answer will appear here.",
                response_type="ephemeral",
            )
            runtime.spawn(run_refresh(respond, request.operation_id, replace=True))
        elif isinstance(request, ScheduleRequest) and "schedule" in runtime.command_handlers:
            await runtime.command_handlers["schedule"](ack, command, respond, client, request.args)
        elif isinstance(request, WatchRequest | UnwatchRequest):
            channel = request.channel_id or str(command.get("channel_id") or "")
            if not CHANNEL_ID.match(channel):  # a DM or a payload we cannot trust to be a channel id
                await ack(
                    **blocks.help_message(
                        problem=f"Name the channel with Slack's # autocomplete: `/headless {request.kind} "
                        f"{request.operation_id} #ops`."
                    ),
                    response_type="ephemeral",
                )
                runtime.metrics.count(request.kind, "user_error")
                return
            await ack()
            runtime.spawn(run_watch(respond, user_id_of(command), request, channel, context.bot_user_id))
        elif isinstance(request, AuditRequest):
            await ack()
            runtime.spawn(run_audit(respond, user_id_of(command), request.subject))
        else:
            await ack(
                text=f":construction: `/headless {request.kind}` is not available in this version yet. "
                "Type `/headless help` for what is.",
                response_type="ephemeral",
            )
            runtime.metrics.count(request.kind, "unavailable")

    async def run_watch(
        respond: AsyncRespond,
        user_id: str,
        request: WatchRequest | UnwatchRequest,
        channel: str,
        bot_user_id: str | None = None,
    ) -> None:
        operation_id = request.operation_id
        if isinstance(request, UnwatchRequest):

            async def unwatch() -> Message:
                removed = await runtime.store.remove_watch(operation_id, channel)
                if removed:
                    await runtime.audit(user_id, "unwatch", operation_id, channel_id=channel)
                return blocks.text_message(
                    f":mute: <#{channel}> no longer follows `{operation_id}`."
                    if removed
                    else f":information_source: <#{channel}> was not following `{operation_id}`."
                )

            # Through answer_later like every other answer: a failure is worded and counted, never silent.
            await answer_later(
                runtime, respond, command="unwatch", what=f"operation `{operation_id}`", work=unwatch,
                deadline=deadline,
            )  # fmt: skip
            return

        async def work() -> Message:
            operation = await runtime.operations.status(operation_id)  # it must exist before anyone follows it
            refusal = await announce_watch(runtime, operation_id, operation, channel, user_id, bot_user_id)
            if refusal is not None:
                return refusal
            added = await runtime.store.add_watch(operation_id, channel, user_id, runtime.clock())
            if added:
                await runtime.audit(user_id, "watch", operation_id, channel_id=channel)
            note = "now follows" if added else "already follows"
            return blocks.text_message(
                f":eyes: <#{channel}> {note} `{operation.id}` ({blocks.escape(operation.operation_type)} on "
                f"`{blocks.escape(operation.device_serial)}`, {blocks.status_badge(operation.status)}). "
                f"Status changes will be posted there; `/headless unwatch {operation.id}` to stop."
            )

        await answer_later(
            runtime, respond, command="watch", what=f"operation `{operation_id}`", work=work, deadline=deadline
        )

    async def run_audit(respond: AsyncRespond, user_id: str, subject: str | None) -> None:
        if not await runtime.directory.is_approver(user_id, settings.approvers):
            await _safe_respond(
                respond, blocks.text_message(":lock: The audit log is for approvers."), replace_original=False
            )
            runtime.metrics.count("audit", "not_allowed")
            return

        async def audit() -> Message:
            return blocks.audit_message(await runtime.store.recent_audit(subject, limit=25), subject=subject)

        await answer_later(
            runtime, respond, command="audit", what="the audit log", work=audit, deadline=deadline, reading=True
        )

    @app.action(blocks.ACTION_LIST_MORE)
    async def on_list_more(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        try:
            page = ListPage.model_validate_json(str(action.get("value") or ""))
        except ValidationError:  # answered after the ack: the listener must return at once (see the module doc)
            runtime.spawn(_safe_respond(
                respond, blocks.text_message(":warning: That list is out of date; run `/headless list` again."),
                replace_original=False,
            ))  # fmt: skip
            return
        request = ListRequest(serial=page.serial, status=page.status, offset=page.offset)
        runtime.spawn(run_list(respond, request, replace=True, after=page.after))

    @app.action(blocks.ACTION_REFRESH)
    async def on_refresh_button(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        operation_id = str(action.get("value") or "")
        if not TXN_ID.match(operation_id):
            runtime.spawn(_safe_respond(
                respond, blocks.text_message(":warning: That button is broken; use `/headless refresh TXN_ID`."),
                replace_original=False,
            ))  # fmt: skip
            return
        runtime.spawn(run_refresh(respond, operation_id, replace=False))


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
