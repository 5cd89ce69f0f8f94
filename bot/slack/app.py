"""Build the bolt ``AsyncApp`` from a runtime and register every listener.

Listeners ack and return at once; everything slow (Control API calls, Web API calls) runs as a background task
of the runtime, after Slack has its answer.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.middleware.authorization.async_single_team_authorization import AsyncSingleTeamAuthorization
from slack_bolt.response import BoltResponse

from bot.slack import listeners, schedule_listeners
from bot.slack.respond import pooled_respond_middleware

if TYPE_CHECKING:
    from bot.runtime import BotRuntime

log = logging.getLogger("bot.slack")


class _NotAProblem(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN from the environment itself and then warns, at every start, that the token "will
    be unused" because we hand it a configured client (which holds that same token): noise, not a problem."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("As you gave `client` as well")


_BOLT_LOG = logging.getLogger("bot.slack.bolt")
_BOLT_LOG.addFilter(_NotAProblem())


def build_app(runtime: BotRuntime, *, socket_mode: bool = False) -> AsyncApp:
    settings = runtime.settings
    signing_secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = AsyncApp(
        client=runtime.web_client,
        signing_secret=signing_secret or "",
        # HTTP mode verifies every request's signature; Socket Mode's connection is authenticated instead.
        request_verification_enabled=not socket_mode,
        # Listeners ack and return at once, spawning slow work themselves (``BotRuntime.spawn``); with this on,
        # bolt answers Slack the moment the listener returns instead of polling for the ack every 10 ms.
        process_before_response=True,
        raise_error_for_unhandled_request=True,
        logger=_BOLT_LOG,
    )

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        """Anything that escapes a listener: log it (no payload secrets), answer Slack with an empty 200."""
        if isinstance(error, BoltUnhandledRequestError):
            log.info("no listener for a %s request", body.get("type") or body.get("command") or "Slack")
            return BoltResponse(status=200, body="")
        log.error("listener failed: %s", type(error).__name__, exc_info=error)
        return BoltResponse(status=200, body="")

    app.middleware(pooled_respond_middleware(lambda: runtime.http_session))
    listeners.register(app, runtime)
    schedule_listeners.register(app, runtime)
    return app


async def warm_up_authorization(app: AsyncApp) -> bool:
    """Make the one ``auth.test`` call bolt needs before the first request, not during it; True when done.

    bolt's single-workspace authorization calls ``auth.test`` on the first request it sees and keeps the answer.
    Left to the first request, a burst of people arriving together after a restart each wait for their own
    ``auth.test`` (measured: 100 requests at ~65 ms each), and if Slack's Web API is slow or down at that moment
    their acks miss Slack's 3 s deadline. Called at start and, until it succeeds, by every maintenance pass.
    """
    middleware = [m for m in getattr(app, "_async_middleware_list", []) if isinstance(m, AsyncSingleTeamAuthorization)]
    if not middleware or middleware[0].auth_test_result is not None:
        return True
    try:
        result = await app.client.auth_test()
    except Exception as exc:
        log.warning("Slack auth.test failed (%s); will try again", type(exc).__name__)
        return False
    for each in middleware:
        each.auth_test_result = result
    return True
