"""The one Slack sender: every Web API call and every answer through a ``response_url`` goes through here.

One retry loop, parameterised by a ``RetryPolicy``; one ``Retry-After`` parser; one classification of what Slack
answered (``Outcome``). The policies differ on purpose:

* ``POST`` (``chat.postMessage`` of a message people act on): tried again only after a 429 — nothing was posted
  then; after a 5xx or a dropped connection the message may have been posted, so it is not sent again.
* ``UPDATE`` (``chat.update``, ``views.*``: idempotent): one more try after a 429, a 5xx or a dropped connection.
* ``NOTIFY`` (the notifier, a background loop): up to five rate-limit waits, each capped at 60 s; a 5xx or the
  network leaves the row for the next cycle.
* ``RESPOND`` (``response_url``): three tries on a 429 or a 5xx with growing waits; a wait longer than 5 s is not
  worth it for an answer someone is looking at.

A longer ``Retry-After`` than a policy's ``longest_wait`` gives up at once (or, ``cap_wait``, waits that long):
the maintenance loop or the next cycle tries again. Nothing here logs a channel or a token; callers log what
they need in their own words.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.ports import DeliveryOutcome as Outcome

log = logging.getLogger("bot.slack.web")

Message = dict[str, Any]

#: Slack errors meaning "this channel (or this token, for this channel) cannot be posted to": retrying is useless.
CHANNEL_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "channel_is_archived",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "team_access_not_granted",
        "ekm_access_denied",
        "access_denied",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "org_login_required",
    }
)
#: Slack errors worth another try later (the server's problem, not the message's).
TRANSIENT_ERRORS = frozenset({"fatal_error", "internal_error", "service_unavailable", "request_timeout"})


@dataclass(frozen=True)
class RetryPolicy:
    """How one kind of call is tried again (see the module docstring)."""

    attempts: int  # tries in all
    server_errors: bool = False  # try again after a 5xx
    network: bool = False  # try again after a dropped connection (or any failure without an answer)
    longest_wait: float = 5.0  # the longest Retry-After honoured inline
    cap_wait: bool = False  # a longer one: wait ``longest_wait`` (True) or give up (False)
    backoff: float = 1.0  # the wait when Slack names none
    exponential: bool = False  # ``backoff * 2**attempt`` instead
    raise_unexpected: bool = False  # an exception that is neither Slack's answer nor the network propagates

    def default_wait(self, attempt: int) -> float:
        return self.backoff * (2**attempt if self.exponential else 1)


POST = RetryPolicy(attempts=2)
UPDATE = RetryPolicy(attempts=2, server_errors=True, network=True)
NOTIFY = RetryPolicy(attempts=6, longest_wait=60.0, cap_wait=True, raise_unexpected=True)
RESPOND = RetryPolicy(attempts=3, server_errors=True, backoff=0.5, exponential=True)


def retry_after_seconds(headers: Any, default: float = 1.0) -> float:
    """Slack's ``Retry-After`` (seconds) from response headers of any mapping shape; ``default`` if absent or
    unreadable."""
    try:
        keys = list((headers or {}).keys())
    except AttributeError:
        return default
    for key in keys:
        if str(key).lower() == "retry-after":
            value = headers[key]
            value = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return default
    return default


@dataclass(frozen=True)
class Answer:
    """What one attempt got, whatever the transport: an HTTP status and Slack's error code, or no answer."""

    status: int = 200
    error: str = ""  # Slack's error code (``ok: false``), else ""
    headers: Any = None
    data: Mapping[str, Any] = field(default_factory=dict)
    failure: str | None = None  # no answer: the exception's type name

    @property
    def rate_limited(self) -> bool:
        return self.status == 429 or self.error == "ratelimited"

    @property
    def ok(self) -> bool:
        return self.failure is None and self.status < 400 and not self.error


@dataclass(frozen=True)
class Result:
    """The last attempt's answer, classified; ``rate_limited``: how many 429s were waited out on the way."""

    outcome: Outcome
    answer: Answer
    rate_limited: int = 0
    waited_too_long: float | None = None  # gave up because Slack asked to wait this long

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SENT

    @property
    def error(self) -> str:
        """Slack's error code, ``ratelimited``, ``http_<status>`` or the exception's name; "" when sent."""
        answer = self.answer
        if answer.failure is not None:
            return answer.failure
        if self.outcome is Outcome.SENT:
            return ""
        if answer.rate_limited:
            return "ratelimited"
        return answer.error or f"http_{answer.status}"

    @property
    def data(self) -> Mapping[str, Any]:
        return self.answer.data


def classify(answer: Answer) -> Outcome:
    if answer.ok:
        return Outcome.SENT
    if answer.failure is not None or answer.rate_limited:
        return Outcome.TRANSIENT
    if answer.status >= 500 or answer.error in TRANSIENT_ERRORS:
        return Outcome.TRANSIENT
    if answer.error in CHANNEL_ERRORS:
        return Outcome.CHANNEL_GONE
    return Outcome.REFUSED


async def with_retries(
    attempt: Callable[[], Awaitable[Answer]],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    what: str = "a Slack call",
) -> Result:
    """Call ``attempt`` until it is answered, or ``policy`` says to stop."""
    rate_limited = 0
    answer = Answer()
    for number in range(policy.attempts):
        answer = await attempt()
        if answer.ok:
            return Result(Outcome.SENT, answer, rate_limited)
        last = number + 1 >= policy.attempts
        if answer.failure is not None:
            if not policy.network or last:
                break
            wait = policy.default_wait(number)
        elif answer.rate_limited or (policy.server_errors and answer.status >= 500):
            if last:
                break
            wait = retry_after_seconds(answer.headers, default=policy.default_wait(number))
            if wait > policy.longest_wait:
                if not policy.cap_wait:
                    return Result(classify(answer), answer, rate_limited, waited_too_long=wait)
                wait = policy.longest_wait
            if answer.rate_limited:
                rate_limited += 1
        else:
            break  # a refusal would only be refused again
        log.info("%s answered %s; trying again in %.1f s", what, answer.failure or f"HTTP {answer.status}", wait)
        await sleep(wait)
    return Result(classify(answer), answer, rate_limited)


class SlackWeb:
    """Slack's Web API and ``response_url``s, over one pooled HTTP session (``open`` / ``close``)."""

    def __init__(self, client: AsyncWebClient, *, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.client = client
        self.session: aiohttp.ClientSession | None = None
        self._sleep = sleep

    async def open(self) -> None:
        """One pooled session for every Slack call (slack_sdk and bolt's respond() otherwise open a new connection,
        with its TLS handshake, per call)."""
        self.session = aiohttp.ClientSession(trust_env=False)
        if getattr(self.client, "session", None) is None:
            self.client.session = self.session

    async def close(self) -> None:
        if self.session is not None:
            if self.client.session is self.session:
                self.client.session = None
            await self.session.close()
            self.session = None

    async def call(self, method: str, policy: RetryPolicy, **arguments: Any) -> Result:
        """``client.<method>(**arguments)`` (``chat_postMessage``…) under ``policy``."""

        async def attempt() -> Answer:
            try:
                response = await getattr(self.client, method)(**arguments)
            except SlackApiError as exc:
                reply = exc.response
                status = int(getattr(reply, "status_code", 200) or 200)
                error = str(reply.get("error") or "") if reply is not None else "unknown"
                return Answer(status=status, error=error, headers=getattr(reply, "headers", None))
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                return Answer(status=0, failure=type(exc).__name__)
            except Exception as exc:
                if policy.raise_unexpected:
                    raise
                return Answer(status=0, failure=type(exc).__name__)
            return Answer(data=dict(response.data) if isinstance(response.data, dict) else {})

        return await with_retries(attempt, policy, sleep=self._sleep, what=method.replace("_", ".", 1))

    async def post(self, channel: str, message: Message, *, policy: RetryPolicy = POST, **extra: Any) -> Result:
        return await self.call("chat_postMessage", policy, channel=channel, **message, **extra)

    async def update(self, channel: str, ts: str, message: Message, *, policy: RetryPolicy = UPDATE) -> Result:
        return await self.call("chat_update", policy, channel=channel, ts=ts, **message)

    async def respond(
        self, respond: Callable[..., Awaitable[Any]], message: Message, *, policy: RetryPolicy = RESPOND, **fields: Any
    ) -> Result:
        return await send_response(respond, message, policy=policy, sleep=self._sleep, **fields)


async def send_response(
    respond: Callable[..., Awaitable[Any]],
    message: Message,
    *,
    policy: RetryPolicy = RESPOND,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    **fields: Any,
) -> Result:
    """An answer through ``response_url`` (``respond`` is bolt's, or ``PooledRespond``), under ``policy``.

    slack_sdk's webhook client does not raise on an HTTP error: its status decides."""

    async def attempt() -> Answer:
        try:
            response = await respond(**message, **fields)
        except Exception as exc:
            return Answer(status=0, failure=type(exc).__name__)
        status = int(getattr(response, "status_code", 200) or 200)
        return Answer(status=status, headers=getattr(response, "headers", None))

    return await with_retries(attempt, policy, sleep=sleep, what="response_url")
