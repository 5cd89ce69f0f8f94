"""Answers through ``response_url``: pooled, retried, never raising; and the background work behind them.

bolt's ``respond`` builds a fresh ``AsyncWebhookClient`` — a new aiohttp session, a new TCP and TLS connection to
hooks.slack.com — for every answer. The bot answers almost every command and click that way, so under load that is
a handshake per answer. ``PooledRespond`` is the same call over the web sender's shared session (keep-alive),
built from slack_sdk's public ``AsyncWebhookClient.send_dict``; a bolt middleware puts it in every request's
context.

``answer_later`` runs a listener's slow work after the ack, says so when the Control API is slow and answers
with its message or a plain-words error; ``guarded`` / ``guarded_dm`` turn any failure of background work into a
message to the person, never a silent loss or a stack trace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from ssl import SSLContext
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient, WebhookResponse

from bot.control.errors import ControlApiError, ControlApiUnavailable, Unauthorized
from bot.domain.access import NotAllowed
from bot.i18n import N_, _
from bot.slack.blocks.common import Message, text_message
from bot.slack.web import send_response
from bot.slack.wording import access_denied_text, explain
from bot.store.errors import StoreUnavailable

if TYPE_CHECKING:
    from bot.slack.deps import SlackDeps

log = logging.getLogger("bot.slack.listeners")

PROGRESS_AFTER_SECONDS = 2.0
Respond = Callable[..., Awaitable[Any]]

# What bolt's respond() accepts besides the message itself; only those given are sent (as bolt does).
_FIELDS = ("response_type", "replace_original", "delete_original", "unfurl_links", "unfurl_media", "thread_ts",
           "metadata")  # fmt: skip


class PooledRespond:
    """``respond(text=…, blocks=…, replace_original=…)`` over a shared aiohttp session."""

    def __init__(
        self, *, response_url: str, session: aiohttp.ClientSession, proxy: str | None, ssl: SSLContext | None
    ) -> None:
        self.response_url = response_url
        self._session = session
        self._proxy = proxy
        self._ssl = ssl

    async def __call__(
        self,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        **fields: Any,
    ) -> WebhookResponse:
        message: dict[str, Any] = {"text": text}
        if blocks:
            message["blocks"] = blocks
        if attachments:
            message["attachments"] = attachments
        message.update({key: fields[key] for key in _FIELDS if fields.get(key) is not None})
        client = AsyncWebhookClient(url=self.response_url, proxy=self._proxy, ssl=self._ssl, session=self._session)
        return await client.send_dict(message)


async def safe_respond(
    respond: Respond,
    message: Message,
    *,
    replace_original: bool | None = None,
    response_type: str | None = "ephemeral",
) -> bool:
    """Answer through ``response_url``; True when Slack took it.

    A 429 (Slack's ``Retry-After`` honoured, up to a few seconds) or a 5xx is tried again a couple of times
    (``web.RESPOND``) before giving up with a log line: an answer is never silently dropped because Slack was
    briefly busy. Nothing here ever raises.
    """
    result = await send_response(respond, message, response_type=response_type, replace_original=replace_original)
    if result.ok:
        return True
    answer = result.answer
    if answer.failure is not None:
        log.warning("could not answer through response_url: %s", answer.failure)
    elif result.waited_too_long is not None:
        log.warning("Slack asked to wait %.0f s before answering through response_url; not waiting",
                    result.waited_too_long)  # fmt: skip
    else:
        log.warning("Slack refused an answer through response_url: HTTP %d", answer.status)
    return False


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
    deps: SlackDeps,
    respond: Respond,
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
        done, _pending = await asyncio.wait({task}, timeout=PROGRESS_AFTER_SECONDS)
        if not done:
            progress_shown = await safe_respond(
                respond,
                {
                    "text": ":hourglass_flowing_sand: "
                    + _("Still waiting for the Control API on {what}…").format(what=what)
                },
                replace_original=replace_original,
            )
        message = await asyncio.wait_for(task, timeout=max(0.1, deadline - PROGRESS_AFTER_SECONDS))
    except Exception as exc:
        outcome = _outcome(exc)
        if outcome == "error":
            log.error("%s failed", command, exc_info=exc)
        else:
            log.warning("%s: %s: %s", command, outcome.replace("_", " "), exc)
        message = text_message(explain(exc, what=what, reading=reading))
    deps.metrics.count(command, outcome)
    await safe_respond(respond, message, replace_original=replace_original or (progress_shown and replace_progress))


class SavedButUnfinished(Exception):
    """The request (or decision) is recorded; what follows it failed and is left to the maintenance loop."""

    def __init__(self, request_id: str) -> None:
        super().__init__(request_id)
        self.request_id = request_id


@dataclass(frozen=True)
class Words:
    """What the person reads when background work fails: in general, and when the database is unreachable
    (msgids marked with ``N_``, translated by ``failure_message`` for the reader)."""

    failed: str
    not_saved: str


SCHEDULING = Words(
    failed=N_(":warning: Something went wrong while scheduling; nothing was sent. Try again."),
    not_saved=N_(
        ":floppy_disk: The bot cannot reach its database right now, so your request was not saved and nothing "
        "was sent to the Control API. Try again in a minute; if it keeps happening, tell an admin."
    ),
)
CLICK = Words(
    failed=N_(
        ":warning: Something went wrong while handling that click. It has been logged; try again in a moment "
        "(a decision is only ever taken once, so clicking again is safe)."
    ),
    not_saved=N_(
        ":floppy_disk: The bot cannot reach its database right now, so that click was not recorded. Click "
        "again in a minute (a decision is only ever taken once, so clicking again is safe)."
    ),
)


def failure_message(deps: SlackDeps, exc: Exception, words: Words) -> str:
    """Log the failure; the words for the person (no stack trace, and never "try again" for what is saved)."""
    if isinstance(exc, NotAllowed):  # the access rules said no (already audited and counted)
        return access_denied_text(exc)
    if isinstance(exc, SavedButUnfinished):
        cause = exc.__cause__
        if isinstance(cause, StoreUnavailable):
            log.warning("request %s is recorded; what follows is postponed: %s", exc.request_id, cause)
        else:
            log.error("request %s is recorded; what follows failed", exc.request_id, exc_info=cause)
        deps.metrics.count("schedule", "postponed")
        return ":hourglass_flowing_sand: " + _(
            "Request `{request_id}` is recorded, but the bot could not finish the "
            "next step just now. It will finish it by itself and you will get a message; do not send it again."
        ).format(request_id=exc.request_id)
    if isinstance(exc, StoreUnavailable):
        log.warning("scheduling postponed: %s", exc)
        deps.metrics.count("schedule", "database_unavailable")
        return _(words.not_saved)
    log.error("scheduling failed", exc_info=exc)
    deps.metrics.count("schedule", "error")
    return _(words.failed)


async def guarded(
    deps: SlackDeps, respond: Respond, work: Coroutine[Any, Any, None], words: Words = SCHEDULING
) -> None:
    """Run background work; any failure becomes a plain message to the person, never a silent loss."""
    try:
        await work
    except Exception as exc:
        await safe_respond(respond, text_message(failure_message(deps, exc, words)))


async def guarded_dm(deps: SlackDeps, user_id: str, work: Coroutine[Any, Any, None], words: Words = SCHEDULING) -> None:
    """``guarded`` for work with no ``response_url`` (a modal's submission): the person hears in a DM."""
    try:
        await work
    except Exception as exc:
        await deps.messenger.post(user_id, text_message(failure_message(deps, exc, words)))
