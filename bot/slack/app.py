"""Build the bolt ``AsyncApp`` from a runtime and register every listener.

bolt runs each listener as a task and returns Slack's HTTP response as soon as ``ack()`` is called, so everything a
listener does after ``ack()`` (Control API calls, Web API calls) happens after Slack has its answer.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse

from bot.slack import listeners

if TYPE_CHECKING:
    from bot.runtime import BotRuntime

log = logging.getLogger("bot.slack")


def build_app(runtime: BotRuntime, *, socket_mode: bool = False) -> AsyncApp:
    settings = runtime.settings
    signing_secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = AsyncApp(
        client=runtime.web_client,
        signing_secret=signing_secret or "",
        # HTTP mode verifies every request's signature; Socket Mode's connection is authenticated instead.
        request_verification_enabled=not socket_mode,
        process_before_response=False,
        raise_error_for_unhandled_request=True,
        logger=logging.getLogger("bot.slack.bolt"),
    )

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        """Anything that escapes a listener: log it (no payload secrets), answer Slack with an empty 200."""
        if isinstance(error, BoltUnhandledRequestError):
            log.info("no listener for a %s request", body.get("type") or body.get("command") or "Slack")
            return BoltResponse(status=200, body="")
        log.error("listener failed: %s", type(error).__name__, exc_info=error)
        return BoltResponse(status=200, body="")

    listeners.register(app, runtime)
    return app
