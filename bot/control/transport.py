"""How one logical call to the Control API becomes HTTP attempts, and every failure a typed error.

``Transport`` owns the pooled ``httpx.AsyncClient`` of one ``ControlApiClient``. It is the only place that
sees httpx exceptions and status codes; what leaves it is decoded JSON or an error of ``bot.control.errors``.

* **Retries:** a call that may be retried (reads) is, on 5xx, connection errors and timeouts, with exponential
  backoff and full jitter (``sleep = uniform(0, backoff_base * 2**attempt)``, honouring a short
  ``Retry-After``), at most ``max_retries`` times; 4xx answers never are (asking again cannot change them).
* **Did a write reach the API?** A failure *before anything was sent* (connect error, connect or pool timeout)
  gives ``outcome_unknown=False``; one after the request may have reached the API (read timeout, dropped
  connection, 5xx, an unreadable 2xx) gives ``outcome_unknown=True`` on a write, and its caller must look
  before trying again.
* **The token** is sent only in the ``Authorization`` header, never logged, and scrubbed out of anything the
  server echoes into an error message. Redirects are not followed: one could carry the token elsewhere.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from pydantic import SecretStr

from bot import __version__
from bot.control.errors import (
    ControlApiError,
    ControlApiUnavailable,
    InvalidRequest,
    NotJson,
    Unauthorized,
    UnexpectedAnswer,
)

logger = logging.getLogger("bot.control")

#: ``observer(endpoint_kind, outcome, seconds)``: called after every HTTP attempt, e.g. for Prometheus.
#: kinds: ``list``, ``get``, ``refresh``, ``create``, ``health``.
#: outcomes: ``ok``, ``malformed`` (2xx that is not JSON), ``unauthorized`` (401), ``forbidden`` (403),
#: ``not_found`` (404), ``http_<code>`` (any other status), ``timeout`` (read/write), ``connect_timeout``,
#: ``pool_timeout``, ``connect_error``, ``network_error`` (connection dropped mid-exchange).
Observer = Callable[[str, str, float], None]

MAX_CONNECTIONS = 50  # to the Control API, per process (CONTROL_API_MAX_CONNECTIONS); more calls wait their turn
_MAX_BACKOFF = 10.0  # seconds; neither jitter nor Retry-After makes a read wait longer than this per attempt
_BODY_LIMIT = 20_000  # a refusal's JSON kept for its fields; more is not a refusal
_DETAIL_LIMIT = 300  # characters of the API's error text kept in messages


class _Attempt(Exception):
    """One failed attempt: the error to raise, and whether another attempt may help."""

    def __init__(
        self,
        error: ControlApiError,
        *,
        retryable: bool,
        retry_after: float | None = None,
        timed_out: bool = False,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.retryable = retryable
        self.retry_after = retry_after
        self.timed_out = timed_out


class Transport:
    """The HTTP side of a ``ControlApiClient``: one pool, one retry policy, one mapping of failures to errors.

    ``transport`` lets tests and the console plug in any httpx transport; ``observer`` receives one call per
    HTTP attempt and can never break a request.
    """

    def __init__(
        self,
        token: SecretStr,
        *,
        timeout: httpx.Timeout,
        max_retries: int,
        backoff_base: float,
        transport: httpx.AsyncBaseTransport | None,
        observer: Observer | None,
        max_connections: int,
    ) -> None:
        self._token = token
        self._timeout = timeout
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._observer = observer
        self._random = random.Random()  # noqa: S311 - jitter, not cryptography
        headers = {
            "User-Agent": f"headless-bot/{__version__} (+httpx)",
            "Accept": "application/json",
        }
        secret = self._token.get_secret_value()
        if secret:
            # Without a token we send no Authorization at all; the API's 401 then says so plainly.
            headers["Authorization"] = f"Bearer {secret}"
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=self._timeout,
            transport=transport,
            follow_redirects=False,  # a redirect could carry the token elsewhere; it is a misconfiguration
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=30.0,
            ),
        )
        # Calls beyond the pool's connections wait here, in a cheap FIFO, rather than in httpcore's pool: its
        # queue costs O(waiting × connections) per state change, which under a burst of slow calls (200 people,
        # the API at 1 s) was 70 % of the bot's CPU and stalled the event loop for over a second.
        self._slots = asyncio.Semaphore(max_connections)

    async def aclose(self) -> None:
        """Close the pooled connections; safe to call twice."""
        await self._http.aclose()

    async def call(
        self,
        kind: str,
        method: str,
        url: httpx.URL,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        http_timeout: httpx.Timeout | None = None,
        retry: bool = True,
        retry_timeouts: bool = True,
        on_404: Callable[[], ControlApiError] | None = None,
        decode: Callable[[bytes], Any] = json.loads,
    ) -> Any:
        """One logical call: attempts with backoff (when ``retry``), then a typed error or the decoded body
        (``decode``: JSON by default; ``bot.control.stream`` passes its page decoder, which decodes only what it needs).

        ``retry_timeouts=False`` makes a read timeout final even when ``retry``: retrying a call that is slow
        by design only makes it slower. ``on_404`` names what a 404 means for this call (an unknown operation,
        an unknown device); without it a 404 means the endpoint itself is wrong.
        """
        attempts = 1 + (self._max_retries if retry else 0)
        for attempt in range(attempts):
            try:
                return await self._attempt(
                    kind,
                    method,
                    url,
                    params=params,
                    json_body=json_body,
                    http_timeout=http_timeout,
                    on_404=on_404,
                    decode=decode,
                )
            except _Attempt as failed:
                last = attempt + 1 >= attempts or not failed.retryable or (failed.timed_out and not retry_timeouts)
                if last:
                    if isinstance(failed.error, ControlApiUnavailable):
                        logger.warning(
                            "Control API %s failed after %d attempt(s): %s",
                            kind,
                            attempt + 1,
                            failed.error.reason,
                        )
                    raise failed.error from None
                delay = self._random.uniform(0, min(_MAX_BACKOFF, self._backoff_base * (2**attempt)))
                if failed.retry_after is not None:
                    delay = max(delay, min(failed.retry_after, _MAX_BACKOFF))
                logger.warning(
                    "Control API %s attempt %d/%d failed (%s); retrying in %.2f s",
                    kind,
                    attempt + 1,
                    attempts,
                    getattr(failed.error, "reason", failed.error),
                    delay,
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self,
        kind: str,
        method: str,
        url: httpx.URL,
        *,
        params: Mapping[str, str] | None,
        json_body: Any,
        http_timeout: httpx.Timeout | None,
        on_404: Callable[[], ControlApiError] | None,
        decode: Callable[[bytes], Any] = json.loads,
    ) -> Any:
        is_write = method != "GET"
        async with self._slots:
            started = time.perf_counter()
            try:
                response = await self._http.request(
                    method, url, params=params, json=json_body, timeout=http_timeout or self._timeout
                )
            except httpx.TransportError as exc:
                outcome, reason, sent = _transport_failure(exc, http_timeout or self._timeout)
                self._observe(kind, outcome, time.perf_counter() - started)
                logger.debug("Control API %s %s: %s (%s)", method, url.path, outcome, type(exc).__name__)
                raise _Attempt(
                    ControlApiUnavailable(reason, outcome_unknown=is_write and sent),
                    retryable=True,
                    timed_out=isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout),
                ) from None

        elapsed = time.perf_counter() - started
        code = response.status_code
        logger.debug("Control API %s %s -> %d in %.3f s", method, url.path, code, elapsed)

        if 200 <= code < 300:
            try:
                payload = decode(response.content)
            except (ValueError, NotJson):
                self._observe(kind, "malformed", elapsed)
                raise _Attempt(
                    UnexpectedAnswer(
                        f"its answer (HTTP {code}) is not valid JSON",
                        status_code=code,
                        outcome_unknown=is_write,
                    ),
                    retryable=False,
                ) from None
            self._observe(kind, "ok", elapsed)
            return payload

        outcome = {401: "unauthorized", 403: "forbidden", 404: "not_found"}.get(code, f"http_{code}")
        self._observe(kind, outcome, elapsed)
        raise self._refusal(response, is_write=is_write, on_404=on_404)

    def _refusal(
        self,
        response: httpx.Response,
        *,
        is_write: bool,
        on_404: Callable[[], ControlApiError] | None,
    ) -> _Attempt:
        """What a non-2xx answer means, and whether asking again may help (only a 5xx may)."""
        code = response.status_code
        detail = self._detail(response)
        if code in (401, 403):
            return _Attempt(Unauthorized(status_code=code), retryable=False)
        if code == 404 and on_404 is not None:
            return _Attempt(on_404(), retryable=False)
        if code == 404:
            return _Attempt(
                UnexpectedAnswer("its endpoint was not found (HTTP 404); check CONTROL_API_URL", status_code=404),
                retryable=False,
            )
        if code in (400, 409, 422):
            refused = InvalidRequest(detail or f"HTTP {code}", status_code=code, body=self._body(response))
            return _Attempt(refused, retryable=False)
        if code == 429:
            return _Attempt(
                ControlApiUnavailable("it is rate limiting us (HTTP 429)", status_code=code), retryable=False
            )
        if 300 <= code < 400:
            where = safe_url(response.headers.get("location", "")) or "somewhere"
            return _Attempt(
                UnexpectedAnswer(f"it redirects (HTTP {code}) to {where}; check CONTROL_API_URL", status_code=code),
                retryable=False,
            )
        if code >= 500:
            return _Attempt(
                ControlApiUnavailable(f"HTTP {code}", status_code=code, outcome_unknown=is_write),
                retryable=True,
                retry_after=_retry_after(response),
            )
        suffix = f": {detail}" if detail else "."
        return _Attempt(
            ControlApiError(f"The Control API answered HTTP {code}{suffix}", status_code=code),
            retryable=False,
        )

    def _observe(self, kind: str, outcome: str, seconds: float) -> None:
        if self._observer is None:
            return
        try:
            self._observer(kind, outcome, seconds)
        except Exception:  # metrics must never break a request
            logger.debug("Control API observer raised; ignored", exc_info=True)

    def _detail(self, response: httpx.Response) -> str:
        """The API's error message as one line of text, without the token."""
        try:
            text = _flatten_detail(json.loads(response.content))
        except ValueError:
            text = response.text.strip()
            if text.startswith("<"):  # an HTML error page from a proxy says nothing useful
                text = ""
        text = " ".join(text.split())
        if len(text) > _DETAIL_LIMIT:
            text = text[: _DETAIL_LIMIT - 1] + "…"
        return self._scrub(text)

    def _body(self, response: httpx.Response) -> Any:
        """The refusal's JSON (without the token), for the fields it names; ``None`` when it is not JSON."""
        try:
            return json.loads(self._scrub(response.content.decode("utf-8", "replace")[:_BODY_LIMIT]))
        except ValueError:
            return None

    def _scrub(self, text: str) -> str:
        secret = self._token.get_secret_value()
        return text.replace(secret, "[redacted]") if secret else text


def safe_url(url: str) -> str:
    """The URL without user:password, if someone put credentials in it."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        return "<invalid URL>"
    if parsed.userinfo:
        parsed = parsed.copy_with(username=None, password=None)
    return str(parsed)


def _transport_failure(exc: httpx.TransportError, timeout: httpx.Timeout) -> tuple[str, str, bool]:
    """``(outcome, reason, may_have_been_sent)`` for an exception raised before a full answer arrived."""
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect_timeout", f"connecting timed out after {timeout.connect:g} s", False
    if isinstance(exc, httpx.PoolTimeout):
        return "pool_timeout", "no free connection in the pool (timed out waiting)", False
    if isinstance(exc, httpx.TimeoutException):
        seconds = timeout.read if isinstance(exc, httpx.ReadTimeout) else timeout.write
        return "timeout", f"it timed out after {seconds:g} s", True
    if isinstance(exc, httpx.ConnectError):
        return "connect_error", _connect_reason(exc), False
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "connect_error", "the base URL's protocol is not supported", False
    return "network_error", "the connection dropped before a complete answer", True


def _connect_reason(exc: BaseException) -> str:
    """Why connecting failed, found in the exception chain (anyio hides it behind "All connection attempts
    failed")."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ConnectionRefusedError) or "refused" in str(cause).lower():
            return "connection refused"
        if isinstance(cause, socket.gaierror) or "name or service not known" in str(cause).lower():
            return "its host name does not resolve"
        cause = cause.__cause__ or cause.__context__
    return "could not connect"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _flatten_detail(body: Any) -> str:
    """DRF error bodies as one sentence.

    ``{"detail": "Invalid token."}`` → ``Invalid token.``;
    ``{"scheduled_time": ["Scheduled time must be in the future."]}`` →
    ``scheduled_time: Scheduled time must be in the future.``; ``non_field_errors`` lose their key.
    """
    if body is None:
        return ""
    if isinstance(body, str):
        return body
    if isinstance(body, list):
        return " ".join(part for part in (_flatten_detail(item) for item in body) if part)
    if isinstance(body, Mapping):
        if "detail" in body and len(body) == 1:
            return _flatten_detail(body["detail"])
        parts = []
        for key, value in body.items():
            text = _flatten_detail(value)
            if not text:
                continue
            parts.append(text if key in ("detail", "non_field_errors", "message", "error") else f"{key}: {text}")
        return "; ".join(parts)
    return str(body)


__all__ = ["MAX_CONNECTIONS", "Observer", "Transport", "safe_url"]
