"""``respond()`` over one pooled HTTP session instead of a new connection per answer.

bolt's ``AsyncRespond`` builds a fresh ``AsyncWebhookClient`` — a new aiohttp session, a new TCP and TLS
connection to hooks.slack.com — for every answer through ``response_url``. The bot answers almost every command
and click that way, so under load that is a handshake per answer. ``PooledRespond`` is the same call over the
runtime's shared session (keep-alive); a bolt middleware puts it in every request's context.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.respond.internals import _build_message
from slack_bolt.response import BoltResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient, WebhookResponse


class PooledRespond(AsyncRespond):
    def __init__(self, *, response_url: str | None, session: aiohttp.ClientSession, **options: Any) -> None:
        super().__init__(response_url=response_url, **options)
        self._session = session

    async def __call__(self, text: str | dict[str, Any] = "", **fields: Any) -> WebhookResponse:  # type: ignore[override]
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        client = AsyncWebhookClient(url=self.response_url, proxy=self.proxy, ssl=self.ssl, session=self._session)
        message = _build_message(**text) if isinstance(text, dict) else _build_message(text=text, **fields)
        return await client.send_dict(message)


def pooled_respond_middleware(
    session: Callable[[], aiohttp.ClientSession | None],
) -> Callable[..., Awaitable[BoltResponse]]:
    """A bolt middleware: ``respond`` in every listener is a ``PooledRespond`` on ``session()`` (when open)."""

    async def pooled_respond(
        context: AsyncBoltContext,
        next: Callable[[], Awaitable[BoltResponse]],  # bolt passes it by this name
    ) -> BoltResponse:
        shared = session()
        if context.response_url and shared is not None and not shared.closed:
            context["respond"] = PooledRespond(
                response_url=context.response_url, session=shared, proxy=context.client.proxy, ssl=context.client.ssl
            )
        return await next()

    return pooled_respond
