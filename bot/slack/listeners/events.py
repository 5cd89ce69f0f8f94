"""Events and the App Home: ``app_home_opened`` publishes the reader's home; the home's own buttons open the forms.

Clicks on a Home view carry no ``response_url`` (there is no message to answer under), so a middleware gives those
clicks a ``respond`` that answers in a direct message (the app's Messages tab): the channel buttons' handlers
(Approve, Reject, Promote, Pause, Refresh) then run unchanged on the Home, with the same refusal words.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.ids import USER_ID
from bot.slack.blocks import home as hb
from bot.slack.blocks.common import Message
from bot.slack.deps import SlackDeps
from bot.slack.modal import open_modal
from bot.slack.payloads import home_view_of, user_id_of
from bot.slack.rollout_modal import open_rollout_modal

log = logging.getLogger("bot.slack.home")


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(handle_app_home_opened)
    app.action(hb.ACTION_HOME_SCHEDULE)(handle_home_schedule)
    app.action(hb.ACTION_HOME_ROLLOUT)(handle_home_rollout)


async def handle_app_home_opened(event: dict[str, Any], deps: SlackDeps) -> None:
    """The Home tab was opened (the Messages tab sends the same event, ``tab: messages``: nothing to publish)."""
    user_id = str(event.get("user") or "")
    if event.get("tab") != "home" or not USER_ID.match(user_id) or deps.home is None:
        return
    view = event.get("view")
    view_hash = view.get("hash") if isinstance(view, dict) and isinstance(view.get("hash"), str) else None
    deps.tasks.spawn(_opened(deps, user_id, view_hash))


async def _opened(deps: SlackDeps, user_id: str, view_hash: str | None) -> None:
    assert deps.home is not None
    try:
        await deps.home.opened(user_id, view_hash)
    except Exception as exc:  # the database is down: the tab shows what it showed; the next open tries again
        log.warning("App Home opened by %s not handled: %s", user_id, type(exc).__name__)


async def handle_home_schedule(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    """The Home's "Schedule an operation": the scheduling form, as the shortcut opens it."""
    await ack()
    deps.tasks.spawn(open_modal(deps, client, str(body.get("trigger_id")), user_id_of(body), None))


async def handle_home_rollout(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    """The Home's "Start a rollout": the rollout form, as the shortcut opens it."""
    await ack()
    deps.tasks.spawn(open_rollout_modal(deps, client, str(body.get("trigger_id")), user_id_of(body), None))


@dataclass(frozen=True)
class _Delivered:
    status_code: int


@dataclass(frozen=True)
class DirectRespond:
    """``respond(…)`` for a click on the App Home: the answer goes to the person in a direct message.

    ``replace_original`` and ``response_type`` mean nothing there (the Home has no message to replace; a direct
    message is seen by that person only) and are ignored."""

    post: Callable[[str, Message], Awaitable[str | None]]
    user_id: str

    async def __call__(self, text: str = "", blocks: list[dict[str, Any]] | None = None, **_: Any) -> _Delivered:
        message: Message = {"text": text}
        if blocks:
            message["blocks"] = blocks
        ts = await self.post(self.user_id, message)
        return _Delivered(200 if ts else 400)  # a refused post is logged by the messenger; not tried again


async def home_clicks_answer_in_dm(
    body: dict[str, Any],
    context: AsyncBoltContext,
    next: Callable[[], Awaitable[BoltResponse]],  # bolt passes it by this name
) -> BoltResponse:
    """A click on the App Home answers in a direct message (it has no ``response_url``)."""
    deps = context.get("deps")
    if isinstance(deps, SlackDeps) and not context.response_url and home_view_of(body) is not None:
        context["respond"] = DirectRespond(deps.messenger.post, user_id_of(body))
    return await next()


__all__ = ["DirectRespond", "register"]
