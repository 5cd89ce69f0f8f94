"""A local stand-in of the Slack Web API, as an ASGI app the real ``slack_sdk`` clients talk to.

Give ``AsyncWebClient(token=..., base_url=f"{server.url}/api/")`` and every call lands here: it is parsed
(JSON or form body, query string, ``Authorization: Bearer``), recorded, checked against Block Kit limits, and
answered with the shapes Slack answers with (modelled on
``/work/shared/reference/slack/payloads/web_api_responses/``), including Slack's errors (``invalid_auth``,
``channel_not_found``, ``not_in_channel``, ``message_not_found``, ``expired_trigger_id`` ...). Faults (429 +
``Retry-After``, 5xx, ``{"ok": false, "error": X}``, latency) can be injected per method or globally.
``/response/<key>`` is a sink for ``response_url`` POSTs; ``/files-pri/...`` serves uploaded files (``files``).

The parts: ``records`` (what is recorded), ``workspace`` (users, channels, messages, views), ``files`` (uploads,
``files.info``), ``methods`` (the Web API methods), ``faults`` (injection); this module puts them together behind
HTTP. The app is often served by uvicorn in another thread (``SlackBench``, ``servers.ThreadedServer``), so all
state sits behind one lock and the ``wait_for*`` helpers poll.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .blockkit import block_kit_problems
from .faults import Fault, FaultInjection
from .files import Files, StoredFile
from .methods import WebApiMethods
from .records import (
    APP_TOKEN_METHODS,
    MESSAGE_METHODS,
    RESPONSE_URL,
    VIEW_METHODS,
    BlockKitViolation,
    RecordedCall,
    RecordedResponse,
    SlackApiFailure,
    decode_json_fields,
)
from .workspace import Channel, Trigger, User

T = TypeVar("T")


def _response_timeout(key: str, count: int, timeout: float) -> Callable[[int], str]:
    return lambda got: f"{got}/{count} POSTs to response_url {key!r} after {timeout}s"


def _wait(find: Callable[[], list[T]], count: int, timeout: float, failure: Callable[[int], str]) -> list[T]:
    """Poll ``find()`` until it returns ``count`` items; ``AssertionError(failure(got))`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while len(found := find()) < count:
        if time.monotonic() >= deadline:
            raise AssertionError(failure(len(found)))
        time.sleep(0.01)
    return found


async def _wait_async(
    find: Callable[[], list[T]],
    count: int,
    timeout: float,  # noqa: ASYNC109 - a deadline for polling, not for one call
    failure: Callable[[int], str],
) -> list[T]:
    """``_wait`` without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while len(found := find()) < count:
        if time.monotonic() >= deadline:
            raise AssertionError(failure(len(found)))
        await asyncio.sleep(0.01)
    return found


class SlackWebApiStub(FaultInjection, Files, WebApiMethods):
    """The Slack Web API stand-in. ``.app`` is the ASGI app; everything else is test-side inspection and
    setup."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-111-222-bench",  # noqa: S107 - a test token
        app_token: str = "xapp-1-A111-111-bench",  # noqa: S107 - a test token
        valid_tokens: set[str] | None = None,
        team_id: str = "T111",
        team_name: str = "Headless Bench",
        team_domain: str = "headless-bench",
        enterprise_id: str | None = None,
        app_id: str = "A111",
        bot_id: str = "B111",
        bot_user_id: str = "U0BOT111",
        bot_name: str = "headless",
        trigger_lifetime: float = 3.0,
        reject_invalid_blocks: bool = False,
        socket_mode_url: str | None = None,
        public_url: str | None = None,
        default_workspace: bool = True,
        wall_clock_ts: bool = False,
        threads_before_start: bool = False,
    ) -> None:
        """``wall_clock_ts``: message ts from the real time (increasing, as Slack's), so a stub started later never
        hands out the ts of a message an earlier one posted (the console keeps its store between runs); otherwise
        they count up from 1700000000.000100. ``threads_before_start`` (with ``wall_clock_ts``): a reply to a
        thread_ts older than this stub names a message an earlier run posted, which Slack would still have: it is
        accepted instead of answering ``thread_not_found``."""
        self.bot_token = bot_token
        self.app_token = app_token
        self.valid_tokens: set[str] = set(valid_tokens) if valid_tokens is not None else {bot_token}
        self.app_tokens: set[str] = {app_token}
        self.team_id, self.team_name, self.team_domain = team_id, team_name, team_domain
        self.enterprise_id = enterprise_id
        self.app_id, self.bot_id, self.bot_user_id, self.bot_name = app_id, bot_id, bot_user_id, bot_name
        self.trigger_lifetime = trigger_lifetime
        self.reject_invalid_blocks = reject_invalid_blocks
        self.socket_mode_url = socket_mode_url or (
            f"wss://wss-primary.slack.com/link/?ticket={secrets.token_hex(8)}&app_id={app_id}"
        )
        self.public_url = public_url  # where the stub is served (no trailing slash); needed for response_url()

        self._lock = threading.RLock()
        self._calls: list[RecordedCall] = []
        self._responses: list[RecordedResponse] = []
        self._violations: list[BlockKitViolation] = []
        self._faults: list[Fault] = []
        self._handlers: dict[str, Callable[[RecordedCall], dict[str, Any]] | dict[str, Any]] = {}
        self.users: dict[str, User] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.channels: dict[str, Channel] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> message
        self.ephemeral: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}  # view id -> view as last answered
        self.home_views: dict[str, dict[str, Any]] = {}  # user id -> published home view
        self.files: dict[str, StoredFile] = {}  # file id -> an uploaded file (``put_file``)
        self.file_tokens: set[str] | None = None  # tokens the file server accepts; None: ``valid_tokens``
        self._view_stacks: dict[str, list[str]] = {}  # root view id -> stack of view ids
        self._triggers: dict[str, Trigger] = {}
        self._ts_counter = itertools.count(1)
        self._id_counter = itertools.count(1)
        self.wall_clock_ts = wall_clock_ts
        self.threads_before_start = threads_before_start
        self._last_micros = self._started_micros = time.time_ns() // 1000
        self._call_observers: list[Callable[[RecordedCall], None]] = []
        self._response_observers: list[Callable[[RecordedResponse], None]] = []

        if default_workspace:
            self.add_user(bot_user_id, name=bot_name, real_name="Headless Bot", is_bot=True)
            self.add_user("W111", name="primary-owner", real_name="Primary Owner", tz="America/Los_Angeles")
            self.add_channel("C111", "general")

        self.app = Starlette(
            routes=[
                Route("/api/{method:str}", self._api_endpoint, methods=["GET", "POST"]),
                Route("/response/{key:str}", self._response_endpoint, methods=["POST"]),
                Route("/files-pri/{key:str}/download/{name:path}", self._file_endpoint, methods=["GET"]),
                Route("/files-pri/{key:str}/{name:path}", self._file_endpoint, methods=["GET"]),
            ]
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    def response_url(self, key: str | None = None) -> str:
        """A URL on this server whose POSTs are recorded under ``key`` (a fresh key when None)."""
        if self.public_url is None:
            raise RuntimeError("the stub is not served yet (public_url unknown); use SlackBench or set public_url")
        key = key or f"r{next(self._id_counter)}{secrets.token_hex(4)}"
        return f"{self.public_url}/response/{key}"

    def respond_with(
        self, method: str, answer: dict[str, Any] | Callable[[RecordedCall], dict[str, Any]] | None
    ) -> None:
        """Answer ``method`` with a fixed dict or ``answer(call) -> dict``: for methods the stub does not
        model, or to override one (``None``: the stub's own answer again). The call is still recorded."""
        with self._lock:
            if answer is None:
                self._handlers.pop(method, None)
            else:
                self._handlers[method] = answer

    def put_message(self, channel: str, ts: str, message: dict[str, Any]) -> dict[str, Any]:
        """Hold ``message`` as the bot's, posted at ``ts`` in ``channel`` without the stub seeing it (by an earlier
        run, say), so ``chat.update`` and thread replies find it. Returns the message as held."""
        with self._lock:
            held = self._message_from(message, ts)
            self.messages[(channel, ts)] = held
            return copy.deepcopy(held)

    # -- observers

    def on_call(self, observer: Callable[[RecordedCall], None]) -> Callable[[RecordedCall], None]:
        """Call ``observer(call)`` for each Web API call, once recorded and answered (``call.response``), before the
        answer goes back: what the bot sent, in order. It runs where the app is served (the server's thread, or
        the loop for ``servers.LoopServer``), outside the stub's lock; what it raises fails that HTTP request."""
        with self._lock:
            self._call_observers.append(observer)
        return observer

    def on_response(self, observer: Callable[[RecordedResponse], None]) -> Callable[[RecordedResponse], None]:
        """``on_call`` for the POSTs to ``response_url``s."""
        with self._lock:
            self._response_observers.append(observer)
        return observer

    def _notify(self, observers: list[Callable[[Any], None]], record: RecordedCall | RecordedResponse) -> None:
        with self._lock:
            observers = list(observers)
        for observer in observers:
            observer(record)

    # -- inspection

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    @property
    def violations(self) -> list[BlockKitViolation]:
        with self._lock:
            return list(self._violations)

    @property
    def responses(self) -> list[RecordedResponse]:
        with self._lock:
            return list(self._responses)

    def calls_to(self, method: str) -> list[RecordedCall]:
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def last(self, method: str) -> RecordedCall:
        """The latest call to ``method``; AssertionError (listing what was called) if none."""
        found = self.calls_to(method)
        if not found:
            raise AssertionError(f"no call to {method}; calls so far: {[c.method for c in self.calls]}")
        return found[-1]

    def responses_for(self, key: str) -> list[RecordedResponse]:
        key = self._key(key)
        with self._lock:
            return [r for r in self._responses if r.key == key]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The message as it stands now (after chat.update), or None if never posted / deleted."""
        with self._lock:
            msg = self.messages.get((channel, ts))
            return copy.deepcopy(msg) if msg is not None else None

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        """Messages currently in ``channel``, oldest first."""
        with self._lock:
            return [copy.deepcopy(m) for (ch, _), m in sorted(self.messages.items()) if ch == channel]

    def clear(self) -> None:
        """Forget recorded calls, response_url posts and violations (the workspace state stays)."""
        with self._lock:
            self._calls.clear()
            self._responses.clear()
            self._violations.clear()

    def reset(self) -> None:
        """``clear()`` plus faults, custom answers, messages, views and trigger ids."""
        with self._lock:
            self.clear()
            self._faults.clear()
            self._handlers.clear()
            self.messages.clear()
            self.files.clear()
            self.ephemeral.clear()
            self.views.clear()
            self.home_views.clear()
            self._view_stacks.clear()
            self._triggers.clear()

    def assert_no_violations(self) -> None:
        found = self.violations
        if found:
            lines = "\n  ".join(str(v) for v in found)
            raise AssertionError(f"{len(found)} Block Kit violation(s) reached the Slack stub:\n  {lines}")

    def wait_for(self, method: str | None, count: int = 1, timeout: float = 5.0) -> list[RecordedCall]:
        """Block until ``count`` calls to ``method`` (any method when None) arrived; return them all."""
        return _wait(lambda: self._matching(method), count, timeout, self._timeout_message(method, count, timeout))

    async def wait_for_async(
        self,
        method: str | None,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - same API as wait_for
    ) -> list[RecordedCall]:
        """``wait_for`` for async tests (does not block the event loop)."""
        found = functools.partial(self._matching, method)
        return await _wait_async(found, count, timeout, self._timeout_message(method, count, timeout))

    def wait_for_response(self, key: str, count: int = 1, timeout: float = 5.0) -> list[RecordedResponse]:
        return _wait(lambda: self.responses_for(key), count, timeout, _response_timeout(key, count, timeout))

    async def wait_for_response_async(
        self,
        key: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - same API as wait_for
    ) -> list[RecordedResponse]:
        found = functools.partial(self.responses_for, key)
        return await _wait_async(found, count, timeout, _response_timeout(key, count, timeout))

    def _matching(self, method: str | None) -> list[RecordedCall]:
        return self.calls if method is None else self.calls_to(method)

    def _timeout_message(self, method: str | None, count: int, timeout: float) -> Callable[[int], str]:
        return lambda got: (
            f"waited {timeout}s for {count} call(s) to {method or 'any method'}, got {got}; "
            f"calls so far: {[c.method for c in self.calls]}"
        )

    @staticmethod
    def _key(key_or_url: str) -> str:
        return key_or_url.rstrip("/").rsplit("/response/", 1)[-1]

    # -- HTTP

    async def _api_endpoint(self, request: Request) -> Response:
        method = request.path_params["method"]
        raw = await request.body()
        ctype_header = request.headers.get("content-type", "")
        query = dict(request.query_params)
        invalid_json = False
        if not raw:
            ctype, raw_fields = "none", {}
        elif "application/json" in ctype_header:
            ctype = "json"
            try:
                raw_fields = json.loads(raw)
                if not isinstance(raw_fields, dict):
                    raw_fields, invalid_json = {}, True
            except ValueError:
                raw_fields, invalid_json = {}, True
        elif "application/x-www-form-urlencoded" in ctype_header or not ctype_header:
            ctype, raw_fields = (
                "form",
                dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)),
            )
        else:
            ctype, raw_fields = ctype_header, {}
        merged = {**query, **raw_fields}
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else merged.get("token")
        call = RecordedCall(
            method=method,
            body=decode_json_fields(merged),
            raw_body=merged,
            raw_bytes=raw,
            content_type=ctype,
            http_method=request.method,
            headers=dict(request.headers.items()),
            token=token,
            at=time.time(),
        )
        delay, fault = self._take_faults(method)
        headers: dict[str, str] = {}
        with self._lock:
            self._check_block_kit(call)
            if fault is not None:
                call.status, call.response, call.fault = fault.status, dict(fault.body or {}), fault.label
                headers = dict(fault.headers)
            elif invalid_json:
                call.response = {"ok": False, "error": "invalid_json"}
            else:
                try:
                    call.response = self._dispatch(call)
                except SlackApiFailure as failure:
                    call.response = failure.payload
            self._calls.append(call)
        self._notify(self._call_observers, call)
        if delay:
            await asyncio.sleep(delay)
        return JSONResponse(call.response, status_code=call.status, headers=headers)

    async def _response_endpoint(self, request: Request) -> Response:
        key = request.path_params["key"]
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = decode_json_fields(dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)))
        if not isinstance(body, dict):
            body = {"_": body}
        peer = (request.client.host, request.client.port) if request.client else None
        record = RecordedResponse(key, body, raw, dict(request.headers.items()), time.time(), peer=peer)
        delay, fault = self._take_faults(RESPONSE_URL)
        answer: dict[str, Any] = {"ok": True}
        headers: dict[str, str] = {}
        with self._lock:
            if not body.get("delete_original"):
                for problem in block_kit_problems(body, surface="message"):
                    self._violations.append(BlockKitViolation(f"response_url:{key}", "message", problem))
            if fault is not None:
                record.status, answer, headers = fault.status, dict(fault.body or {}), dict(fault.headers)
            self._responses.append(record)
        self._notify(self._response_observers, record)
        if delay:
            await asyncio.sleep(delay)
        return JSONResponse(answer, status_code=record.status, headers=headers)

    # -- checks

    def _check_block_kit(self, call: RecordedCall) -> None:
        surface, payload = None, None
        if call.method in MESSAGE_METHODS:
            surface, payload = "message", call.body
        elif call.method in VIEW_METHODS and isinstance(call.body.get("view"), dict):
            payload = call.body["view"]
            surface = "home" if call.method == "views.publish" or payload.get("type") == "home" else "modal"
        if surface is None or payload is None:
            return
        for problem in block_kit_problems(payload, surface=surface):
            self._violations.append(BlockKitViolation(call.method, surface, problem))

    # -- methods

    def _dispatch(self, call: RecordedCall) -> dict[str, Any]:
        token = call.token
        if not token:
            raise SlackApiFailure("not_authed")
        if call.method in APP_TOKEN_METHODS:
            if token in self.app_tokens:
                return self._handle(call)
            raise SlackApiFailure("not_allowed_token_type" if token in self.valid_tokens else "invalid_auth")
        if token in self.app_tokens:
            raise SlackApiFailure("not_allowed_token_type")
        if token not in self.valid_tokens:
            raise SlackApiFailure("invalid_auth")
        return self._handle(call)

    def _handle(self, call: RecordedCall) -> dict[str, Any]:
        custom = self._handlers.get(call.method)
        if custom is not None:
            return copy.deepcopy(custom) if isinstance(custom, dict) else custom(call)
        handler = getattr(self, "_m_" + call.method.replace(".", "_"), None)
        if handler is None:
            raise SlackApiFailure("unknown_method")
        return handler(call)


__all__ = [
    "RESPONSE_URL",
    "BlockKitViolation",
    "Channel",
    "Fault",
    "RecordedCall",
    "RecordedResponse",
    "SlackWebApiStub",
    "User",
]
