"""HTTP mode: ``POST /slack/events``, ``GET /healthz``, ``GET /readyz``, ``GET /metrics``; Socket Mode; and the
notifier process (``headless-bot notifier``: ``GET /healthz`` and ``GET /metrics`` only).

``/healthz`` answers 200 while the process serves, whatever its dependencies do (their state is in the body), so an
orchestrator never restarts a healthy bot because the Control API is down. ``/readyz`` is 503 until the bot has
loaded what the first request needs, and again once it is shutting down. A notifier process's ``/healthz`` is 503
when its loop is not going (not started yet, shutting down, or ended): leading or waiting to lead is healthy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.app import BotRuntime, Parts, build_runtime
from bot.domain.access import AccessRulesError
from bot.logs import setup_logging
from bot.services.inventory import InventoryError
from bot.services.operation_types import OperationsFileError
from bot.settings import Settings
from bot.store import StoreError
from bot.tasks import Foreground

log = logging.getLogger("bot.server")


def _request_kind(body: bytes) -> str:
    """What sort of Slack request a body is, for the ack-latency histogram (cheap: no full parse)."""
    if body.startswith(b"payload="):
        return "interaction"
    if b"command=" in body[:2048]:
        return "command"
    if body.lstrip().startswith(b"{"):
        return "event"
    return "other"


class ReplayGuard:
    """Refuses a signed request whose exact signature was already seen within Slack's 5-minute window.

    bolt checks the signature and the timestamp's age; a captured request replayed within those five minutes
    would pass both. Slack's own retries carry a new timestamp and so a new signature, and still get through.
    In memory, per process: with several replicas a replay may reach another one, where the store's
    compare-and-set still keeps every decision and creation to exactly once.
    """

    WINDOW_SECONDS = 60 * 5 + 30

    def __init__(self, signing_secret: str | None) -> None:
        self._verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self._seen: dict[str, float] = {}  # signature -> when first seen; insertion order is time order

    def first_time(self, body: bytes, headers: Mapping[str, str], now: float) -> bool:
        """False for a replay. Only signatures that verify are remembered: forged ones (bolt refuses them) can
        neither fill the memory nor make a real request look like a replay."""
        while self._seen:  # forget what is out of the window, oldest first
            oldest, seen_at = next(iter(self._seen.items()))
            if now - seen_at < self.WINDOW_SECONDS:
                break
            del self._seen[oldest]
        signature = headers.get("x-slack-signature")
        if not signature or self._verifier is None:
            return True  # bolt refuses what is unsigned, or cannot be checked
        if signature in self._seen:
            return False
        try:
            verified = self._verifier.is_valid(body, headers.get("x-slack-request-timestamp") or "", signature)
        except ValueError:  # a body that is not UTF-8 cannot be Slack's: bolt refuses it (slack_sdk decodes first)
            verified = False
        if verified:
            self._seen[signature] = now
        return True


def create_http_app(runtime: BotRuntime, *, slack_events: bool = True, socket_mode: bool = False) -> Starlette:
    """The ASGI app of one bot process. The lifespan starts and stops the runtime (and Socket Mode if asked)."""
    handler = AsyncSlackRequestHandler(runtime.app)
    secret = runtime.settings.slack_signing_secret
    replays = ReplayGuard(secret.get_secret_value() if secret else None)

    async def slack_events_endpoint(request: Request) -> Response:
        started = time.perf_counter()
        body = await request.body()
        if not replays.first_time(body, request.headers, time.monotonic()):
            log.warning("refused a replayed Slack request")
            runtime.metrics.count("replayed", "refused")
            return Response("replayed request", status_code=401, media_type="text/plain")
        try:
            response = await handler.handle(request)
        except Exception as exc:
            # A payload bolt cannot digest (a field missing, a type wrong): refuse it plainly, never with a 500
            # and a stack trace that would make Slack retry the same broken request.
            log.warning("unprocessable Slack request: %s", type(exc).__name__)
            runtime.metrics.count("unparseable", "user_error")
            response = Response("unprocessable request", status_code=400, media_type="text/plain")
        runtime.metrics.ack_latency.labels(_request_kind(body)).observe(time.perf_counter() - started)
        return response

    async def healthz(_request: Request) -> Response:
        return JSONResponse(await runtime.health())

    async def readyz(_request: Request) -> Response:
        return JSONResponse(runtime.readiness(), status_code=200 if runtime.ready else 503)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", _metrics_endpoint(runtime), methods=["GET"]),
    ]
    if slack_events:
        routes.append(Route("/slack/events", slack_events_endpoint, methods=["POST"]))
    return Starlette(
        routes=routes,
        lifespan=_lifespan(runtime, socket_mode=socket_mode),
        middleware=[Middleware(ForegroundRequests, foreground=runtime.foreground)],
    )


class ForegroundRequests:
    """ASGI middleware: each Slack request counts as foreground work (``bot.tasks.Foreground``) from the moment its
    headers are read until its answer is written, so the notifier's work steps aside for all of it."""

    def __init__(self, app: ASGIApp, foreground: Foreground) -> None:
        self.app = app
        self.foreground = foreground

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != "/slack/events":
            await self.app(scope, receive, send)
            return
        self.foreground.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.foreground.leave()


def create_notifier_app(runtime: BotRuntime) -> Starlette:
    """The ASGI app of a notifier process: ``GET /healthz`` (200 while its loop goes, leader or not; 503
    otherwise; the body says whether it leads) and ``GET /metrics``. No Slack endpoint: it only posts."""

    async def healthz(_request: Request) -> Response:
        body = await runtime.health()
        return JSONResponse(body, status_code=200 if runtime.notifier_working else 503)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", _metrics_endpoint(runtime), methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=_lifespan(runtime))


def _metrics_endpoint(runtime: BotRuntime) -> Callable[[Request], Awaitable[Response]]:
    async def metrics(_request: Request) -> Response:
        return Response(runtime.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return metrics


def _lifespan(
    runtime: BotRuntime, *, socket_mode: bool = False
) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    """Starts the runtime (unless already started) and Socket Mode if asked; stops both on the way out."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        socket_handler: Any = None
        if not runtime.ready:  # ``serve`` starts it before uvicorn (see ``run_server``); tests leave it to us
            await runtime.start()
        if socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            token = runtime.settings.slack_app_token
            socket_handler = AsyncSocketModeHandler(runtime.app, token.get_secret_value() if token else "")
            await socket_handler.connect_async()
            log.info("Socket Mode connected")
        try:
            yield
        finally:
            if socket_handler is not None:
                with contextlib.suppress(Exception):
                    await socket_handler.close_async()
            await runtime.stop()

    return lifespan


def missing_settings(settings: Settings, *, slack_events: bool, socket_mode: bool = False) -> list[str]:
    """The settings a process cannot run without that are unset, one line each. Every process posts (a bot
    token) and calls the Control API (its token); one that receives Slack's requests verifies them (HTTP mode:
    the signing secret) or connects for them (Socket Mode: the app token)."""
    problems = []
    if slack_events and socket_mode and settings.slack_app_token is None:
        problems.append("SLACK_APP_TOKEN: required for Socket Mode (an xapp-… app-level token)")
    if slack_events and not socket_mode and settings.slack_signing_secret is None:
        problems.append("SLACK_SIGNING_SECRET: required in HTTP mode (Basic Information → Signing Secret)")
    if settings.slack_bot_token is None:
        problems.append("SLACK_BOT_TOKEN: required (an xoxb-… bot token; OAuth & Permissions)")
    if settings.control_api_token is None:
        problems.append("CONTROL_API_TOKEN: required (the Control API's Bearer token)")
    return problems


def run_server(settings: Settings, *, host: str, port: int, socket_mode: bool = False, notifier: bool = True) -> int:
    """``headless-bot serve``: run until SIGTERM/SIGINT, then shut down gracefully. ``notifier=False``
    (``--no-notifier``): a web replica, which leaves polling to ``headless-bot notifier`` processes."""
    setup_logging(settings)
    problems = missing_settings(settings, slack_events=True, socket_mode=socket_mode)
    if problems:
        log.error("Invalid configuration:\n  %s", "\n  ".join(problems))
        return 2
    try:
        runtime = build_runtime(settings, socket_mode=socket_mode, parts=Parts.serve(settings, notifier=notifier))
    except (InventoryError, OperationsFileError, AccessRulesError) as exc:  # one line, like the other settings' errors
        print(f"headless-bot serve: {exc}", file=sys.stderr)
        return 2
    app = create_http_app(runtime, slack_events=not socket_mode, socket_mode=socket_mode)
    return _run(runtime, app, host=host, port=port)


def run_notifier(settings: Settings, *, host: str, port: int) -> int:
    """``headless-bot notifier``: the notifier alone, with ``/healthz`` and ``/metrics`` on ``port``, until
    SIGTERM/SIGINT; then it stops after the current step and releases the notifier lock (another process takes
    over at its next attempt). Missing settings: one line each on stderr, exit code 2."""
    setup_logging(settings)
    problems = missing_settings(settings, slack_events=False)
    if problems:
        print("\n".join(f"headless-bot notifier: {line}" for line in problems), file=sys.stderr)
        return 2
    runtime = build_runtime(settings, parts=Parts.notifier_only())
    return _run(runtime, create_notifier_app(runtime), host=host, port=port)


def _run(runtime: BotRuntime, app: Starlette, *, host: str, port: int) -> int:
    runtime.freeze_after_start = True
    server = uvicorn.Server(uvicorn_config(app, runtime.settings, host=host, port=port))
    try:
        return asyncio.run(_start_then_serve(runtime, server))
    except KeyboardInterrupt:  # Ctrl-C while starting, before uvicorn handles signals
        return 130


async def _start_then_serve(runtime: BotRuntime, server: uvicorn.Server) -> int:
    """Start the bot, then serve (uvicorn would also bind the port only after its lifespan started it).

    Started here rather than in the lifespan: a failure there reaches the log as uvicorn's traceback; here a
    database that cannot be opened (a missing folder, a server down, a schema newer than this code) is one line,
    and exit code 2.
    """
    try:
        await runtime.start()
    except StoreError as exc:
        log.error("cannot start: %s", exc)
        await runtime.stop()
        return 2
    await server.serve()
    return 0


def uvicorn_config(app: Any, settings: Settings, *, host: str, port: int) -> uvicorn.Config:
    """uvicorn's settings for ``serve``.

    ``log_config=None``: uvicorn would otherwise install handlers of its own on its loggers, which write straight
    to stderr and so bypass the secret-masking handler ``setup_logging`` installed; this way its lines propagate
    to that handler like everyone else's.
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        log_config=None,
        timeout_graceful_shutdown=10,
        access_log=False,
    )
