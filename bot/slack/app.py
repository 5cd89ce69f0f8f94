"""Build the bolt ``AsyncApp`` from ``SlackDeps`` and register every listener (public bolt API only).

Listeners ack and return at once; everything slow (Control API calls, Web API calls) runs as background work
(``deps.tasks``), after Slack has its answer. A middleware puts ``deps`` (and a pooled ``respond``) into each
request's context, where bolt finds them for the listeners that name them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.ids import USER_ID
from bot.i18n import set_language
from bot.slack.access import access_middleware
from bot.slack.deps import SlackDeps
from bot.slack.listeners import actions, commands, events, rollouts, shortcuts, views
from bot.slack.payloads import user_id_of
from bot.slack.respond import PooledRespond

log = logging.getLogger("bot.slack")

WARM_UP_SECONDS = 5.0  # the longest start waits for Slack's auth.test
#: Every module of listeners; each has ``register(app)``. The access gate (``bot.slack.access``) must know every
#: entry point they register (``tests/unit/test_access_gate.py``).
LISTENER_MODULES = (commands, actions, views, shortcuts, rollouts, events)


class _NotAProblem(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN from the environment itself and then warns, at every start, that the token "will
    be unused" (or "ignored") because we hand it a configured client and our own ``authorize`` (which use that same
    token): noise, not a problem."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not (message.startswith("As you gave `client` as well") or message.startswith("As `installation_store`"))


_BOLT_LOG = logging.getLogger("bot.slack.bolt")
_BOLT_LOG.addFilter(_NotAProblem())


class Authorization:
    """bolt's ``authorize``: the answer of ONE ``auth.test``, made at start, not by the first people.

    Left to the first request, a burst of people arriving together after a restart each wait for their own
    ``auth.test`` (measured: 100 requests at ~65 ms each), and if Slack's Web API is slow or down at that moment
    their acks miss Slack's 3 s deadline. ``warm_up`` is called at start (at most ``WARM_UP_SECONDS``) and, until
    it succeeds, by every maintenance pass; one call at a time (a request arriving meanwhile waits for it).
    """

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._lock = asyncio.Lock()
        self._answer: dict[str, Any] | None = None

    @property
    def ready(self) -> bool:
        return self._answer is not None

    async def warm_up(self) -> bool:
        """Make the ``auth.test`` call unless it was made; True when done, False (logged) when Slack failed."""
        try:
            await asyncio.wait_for(self._auth_test(), timeout=WARM_UP_SECONDS)
        except TimeoutError:
            log.warning("Slack auth.test took over %.0f s; will try again", WARM_UP_SECONDS)
            return False
        except Exception as exc:
            log.warning("Slack auth.test failed (%s); will try again", type(exc).__name__)
            return False
        return True

    async def _auth_test(self) -> dict[str, Any]:
        async with self._lock:
            if self._answer is None:
                response = await self._client.auth_test()
                self._answer = dict(response.data) if isinstance(response.data, dict) else {}
            return self._answer

    def authorize_function(self) -> Callable[..., Awaitable[AuthorizeResult]]:
        """The function bolt calls (it passes arguments by name: a plain function, not a method)."""

        async def authorize(user_id: str | None) -> AuthorizeResult:
            answer = await self._auth_test()  # at once when warm; a SlackApiError becomes bolt's "cannot authorize"
            return AuthorizeResult(
                enterprise_id=answer.get("enterprise_id"),
                team_id=answer.get("team_id"),
                bot_id=answer.get("bot_id"),
                bot_user_id=answer.get("user_id"),
                bot_token=self._client.token,
                user_id=user_id,
            )

        return authorize


def build_app(deps: SlackDeps, authorization: Authorization, *, socket_mode: bool = False) -> AsyncApp:
    settings = deps.settings
    signing_secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = AsyncApp(
        client=deps.web.client,
        signing_secret=signing_secret or "",
        authorize=authorization.authorize_function(),
        # HTTP mode verifies every request's signature; Socket Mode's connection is authenticated instead.
        request_verification_enabled=not socket_mode,
        # Listeners ack and return at once, spawning slow work themselves (``deps.tasks``); with this on, bolt
        # answers Slack the moment the listener returns instead of polling for the ack every 10 ms.
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

    app.middleware(deps_middleware(deps))
    app.middleware(language_middleware(deps))  # the reader's language, before anything is worded
    app.middleware(access_middleware(deps))  # ACCESS_RULES: before any listener, for every kind of request
    app.middleware(events.home_clicks_answer_in_dm)  # a click on the App Home (no response_url) answers in a DM
    for listeners in LISTENER_MODULES:
        listeners.register(app)
    return app


LANGUAGE_WAIT_SECONDS = 1.0  # the longest a request waits for the reader's language (Slack's users.info)


def language_middleware(deps: SlackDeps) -> Callable[..., Awaitable[BoltResponse]]:
    """A bolt middleware: everything this request renders (and the work it spawns) is in the reader's language:
    their own choice, else their Slack locale, else ``DEFAULT_LANGUAGE``."""

    async def with_language(body: dict[str, Any], next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        user_id = reader_of(body)
        language = deps.languages.default
        if user_id is not None:
            try:
                language = await asyncio.wait_for(deps.languages.for_person(user_id), LANGUAGE_WAIT_SECONDS)
            except TimeoutError:
                language = deps.languages.cached_for_person(user_id)
        set_language(language)
        return await next()

    return with_language


def reader_of(body: dict[str, Any]) -> str | None:
    """The person a request comes from: a command's ``user_id``, an interaction's ``user.id``, an event's
    ``event.user``; ``None`` when there is none."""
    event = body.get("event")
    user = event.get("user") if isinstance(event, dict) else user_id_of(body)
    return user if isinstance(user, str) and USER_ID.match(user) else None


def deps_middleware(deps: SlackDeps) -> Callable[..., Awaitable[BoltResponse]]:
    """A bolt middleware: ``deps`` in every request's context, and ``respond`` pooled on the web session (when
    open)."""

    async def with_deps(
        context: AsyncBoltContext,
        next: Callable[[], Awaitable[BoltResponse]],  # bolt passes it by this name
    ) -> BoltResponse:
        context["deps"] = deps
        shared = deps.web.session
        if context.response_url and shared is not None and not shared.closed:
            context["respond"] = PooledRespond(
                response_url=context.response_url, session=shared, proxy=context.client.proxy, ssl=context.client.ssl
            )
        return await next()

    return with_deps
