"""The typed async client of the Zequenze Control API.

One ``ControlApiClient`` per process wraps one pooled ``httpx.AsyncClient``: connections are reused across
Slack commands and the notifier, and everything the API can do wrong is turned into the typed errors of
``bot.control.errors`` here, so no caller ever sees an httpx exception or a status code.

The API's manners, as implemented:

* **Reads are retried, writes are not.** GETs are retried on 5xx, connection errors and timeouts with
  exponential backoff and full jitter (``sleep = uniform(0, backoff_base * 2**attempt)``, honouring a short
  ``Retry-After``), at most ``max_retries`` times. 4xx answers are never retried: asking again cannot change
  them. A create (POST) is never retried because it is not idempotent: a retry after a timeout could schedule
  the same operation twice. When a POST fails *before anything was sent* (connect error, connect or pool
  timeout), the error says so (``outcome_unknown=False``); when it fails after the request may have reached
  the API (read timeout, dropped connection, 5xx, an unreadable 2xx) the error has ``outcome_unknown=True``
  and the caller must look before trying again.
* **update_status=true is slow by design** (the API queries the device live), so that call alone gets the
  longer ``refresh_timeout`` read timeout, and a timeout of it is not retried (retrying a slow call only
  makes it slower).
* **Pagination** is followed DRF style (``count``/``next``/``previous``/``results``) with loop protection
  (``page_cap`` pages at most, and a ``next`` that repeats is refused). ``next`` links are only followed on
  the configured origin: DRF behind a proxy often builds them with an internal host or ``http://``, and the
  bearer token must never be sent anywhere else, so a foreign ``next`` keeps only its query string.
* **The token** is a ``SecretStr``, sent only in the ``Authorization`` header, never logged, never in an error
  message (anything the server echoes is scrubbed), never in ``repr``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Literal, Self

import httpx
from pydantic import SecretStr, ValidationError

from bot import __version__
from bot.control.errors import (
    ControlApiError,
    ControlApiUnavailable,
    DeviceNotFound,
    InvalidRequest,
    OperationNotFound,
    Unauthorized,
    UnexpectedAnswer,
)
from bot.control.models import CreateOperationRequest, Operation

logger = logging.getLogger("bot.control")

#: The one collection the API exposes, relative to the base URL (``https://control.zequenze.com/api/v1``).
ENDPOINT_PATH = "inventory_device_serial_headless_operation/"

#: ``observer(endpoint_kind, outcome, seconds)``: called after every HTTP attempt, e.g. for Prometheus.
#: kinds: ``list``, ``get``, ``refresh``, ``create``, ``health``.
#: outcomes: ``ok``, ``malformed`` (2xx that is not JSON), ``unauthorized`` (401), ``forbidden`` (403),
#: ``not_found`` (404), ``http_<code>`` (any other status), ``timeout`` (read/write), ``connect_timeout``,
#: ``pool_timeout``, ``connect_error``, ``network_error`` (connection dropped mid-exchange).
Observer = Callable[[str, str, float], None]

HealthState = Literal["ok", "unauthorized", "unavailable"]

MAX_CONNECTIONS = 50  # to the Control API, per process (CONTROL_API_MAX_CONNECTIONS); more calls wait their turn
_MAX_BACKOFF = 10.0  # seconds; neither jitter nor Retry-After makes a read wait longer than this per attempt
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


class OperationList(list[Operation]):
    """What ``list_operations`` returns: the operations it could read (a plain ``list``), plus what it skipped.

    ``unreadable_ids``: ids of records that could not be read as operations (and were not read elsewhere in the
    list); they *are* listed, only unreadable. ``unidentified``: records skipped without a usable id. ``complete``
    is ``False`` when some listed operation cannot be named, so "not in this list" proves nothing.
    """

    def __init__(
        self,
        operations: Iterable[Operation] = (),
        *,
        unreadable_ids: frozenset[str] = frozenset(),
        unidentified: int = 0,
    ) -> None:
        super().__init__(operations)
        self.unreadable_ids = unreadable_ids
        self.unidentified = unidentified

    @property
    def complete(self) -> bool:
        """Is every listed operation named (read, or at least identified by its id)?"""
        return self.unidentified == 0

    def listed_ids(self) -> set[str]:
        """The ids of every listed operation, readable or not."""
        return {operation.id for operation in self} | self.unreadable_ids


class ControlApiClient:
    """Async client of ``/inventory_device_serial_headless_operation/``; create one per process and share it.

    ``transport`` lets tests and the console plug in any httpx transport (the real tests use real HTTP to the
    simulator); ``observer`` receives one call per HTTP attempt and can never break a request.
    """

    def __init__(
        self,
        base_url: str,
        token: str | SecretStr,
        *,
        timeout: float = 10.0,
        refresh_timeout: float = 30.0,
        max_retries: int = 3,
        backoff_base: float = 0.2,
        page_cap: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: Observer | None = None,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        base = str(base_url).strip().rstrip("/")
        try:
            parsed = httpx.URL(base)
        except httpx.InvalidURL:
            parsed = httpx.URL("invalid:")
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f"Control API base URL must be an http(s):// URL, got {_safe_url(base)!r}")
        if max_retries < 0 or page_cap < 1 or timeout <= 0 or refresh_timeout <= 0 or backoff_base < 0:
            raise ValueError("timeouts must be > 0, max_retries >= 0, page_cap >= 1, backoff_base >= 0")
        self.base_url = base
        self.endpoint = httpx.URL(base + "/" + ENDPOINT_PATH)
        self._token = token if isinstance(token, SecretStr) else SecretStr(str(token))
        self._timeout = httpx.Timeout(timeout)
        self._refresh_timeout = httpx.Timeout(timeout, read=refresh_timeout)
        self._health_timeout = httpx.Timeout(min(timeout, 5.0))
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._page_cap = page_cap
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
        self._creates = 0

    @property
    def creates(self) -> int:
        """Creates finished so far, however they ended: a list read before this last changed may lack one (every
        create passes here, so whoever keeps a list answer, ``OperationsService``, compares it)."""
        return self._creates

    # --- lifecycle ------------------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"ControlApiClient(base_url={_safe_url(self.base_url)!r})"

    async def aclose(self) -> None:
        """Close the pooled connections; safe to call twice."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- the API --------------------------------------------------------------------------------------------

    async def list_operations(self) -> OperationList:
        """Every operation, following pagination to the end.

        Raises ``ControlApiUnavailable`` when there are more than ``page_cap`` pages or ``next`` loops. An
        operation that shows up on two pages (the list shifted while we paged) is returned once, with the
        newest data. A single record that cannot be understood is skipped with a warning rather than hiding
        all the others; a page on which *nothing* can be understood is an error. What was skipped is on the
        result (``OperationList.unreadable_ids`` / ``unidentified``): a caller that acts on what is *not* listed
        (the notifier forgetting operations) must not take a skipped record for an absent operation.
        """
        url: httpx.URL | None = self.endpoint
        seen: set[str] = set()
        found: dict[str, Operation] = {}
        unreadable: set[str] = set()
        unidentified = 0
        pages = 0
        while url is not None:
            key = str(url)
            if key in seen:
                raise UnexpectedAnswer("its pagination loops back to a page already read")
            if pages >= self._page_cap:
                raise UnexpectedAnswer(f"its list has more than {self._page_cap} pages; stopped reading")
            seen.add(key)
            pages += 1
            payload = await self._call("list", "GET", url)
            items, next_link = self._page(payload)
            parsed, skipped = self._parse_items(items)
            for operation in parsed:
                found[operation.id] = operation
            for item_id in skipped:
                if item_id is None:
                    unidentified += 1
                else:
                    unreadable.add(item_id)
            url = self._follow(next_link, url) if next_link else None
        return OperationList(
            found.values(), unreadable_ids=frozenset(unreadable - found.keys()), unidentified=unidentified
        )

    async def get_operation(self, operation_id: str, update_status: bool = False) -> Operation:
        """One operation by id; ``update_status=True`` asks the API to query the device first (slow).

        An empty ``results`` or a 404 is ``OperationNotFound``.
        """
        op_id = str(operation_id).strip()
        if not op_id:
            raise OperationNotFound(str(operation_id), status_code=None)
        params = {"id": op_id}
        if update_status:
            params["update_status"] = "true"
        kind = "refresh" if update_status else "get"
        payload = await self._call(
            kind,
            "GET",
            self.endpoint,
            params=params,
            http_timeout=self._refresh_timeout if update_status else self._timeout,
            retry_timeouts=not update_status,
            on_404=lambda: OperationNotFound(op_id),
        )
        items, _ = self._page(payload)
        records = [item for item in items if isinstance(item, Mapping)]
        match = [item for item in records if str(item.get("id", "")) == op_id]
        if not match and len(items) == 1 and len(records) == 1:
            match = records  # the API answered exactly one record for this id, e.g. with a normalised id
        if not match:
            raise OperationNotFound(op_id, status_code=200)
        try:
            return Operation.model_validate(match[0])
        except ValidationError as exc:
            raise UnexpectedAnswer(f"its answer for {op_id} is not an operation ({_fields(exc)})") from None

    async def create_operation(self, request: CreateOperationRequest) -> Operation:
        """Schedule an operation; never retried (see the module docstring for what an error then means).

        A 404 is ``DeviceNotFound`` (the API's "Device serial number not found."), a 400 ``InvalidRequest``.
        Fields the API leaves out of its 201 answer are filled in from the request, so the caller always gets
        a complete ``Operation`` as long as the answer has an ``id``.
        """
        body = request.model_dump(mode="json")
        try:
            payload = await self._call(
                "create",
                "POST",
                self.endpoint,
                json_body=body,
                retry=False,
                on_404=lambda: DeviceNotFound(request.device_serial),
            )
        finally:
            self._creates += 1  # whatever happened, a list read before now may be missing it
        if isinstance(payload, Mapping) and isinstance(payload.get("results"), list) and payload["results"]:
            payload = payload["results"][0]  # defensive: some APIs wrap a created record like a list answer
        if not isinstance(payload, Mapping) or payload.get("id") in (None, ""):
            raise UnexpectedAnswer(
                "its answer to the create has no operation id", status_code=None, outcome_unknown=True
            )
        record = {**body, "status": "scheduled", **payload}
        try:
            return Operation.model_validate(record)
        except ValidationError as exc:
            raise UnexpectedAnswer(
                f"its answer to the create is not an operation ({_fields(exc)})", outcome_unknown=True
            ) from None

    async def health(self) -> HealthState:
        """``"ok"``, ``"unauthorized"`` or ``"unavailable"`` from one quick GET; never raises (for /healthz).

        One attempt, short timeout, ``page_size=1`` so a paginating API answers with little; an API that
        ignores the parameter simply answers the whole list.
        """
        try:
            await self._call(
                "health",
                "GET",
                self.endpoint,
                params={"page_size": "1"},
                http_timeout=self._health_timeout,
                retry=False,
            )
        except Unauthorized:
            return "unauthorized"
        except ControlApiError:
            return "unavailable"
        except Exception:  # /healthz must answer whatever happens
            logger.warning("Control API health check failed unexpectedly", exc_info=True)
            return "unavailable"
        return "ok"

    async def ping(self) -> bool:
        """``True`` when :meth:`health` is ``"ok"``."""
        return await self.health() == "ok"

    # --- HTTP -----------------------------------------------------------------------------------------------

    async def _call(
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
    ) -> Any:
        """One logical call: attempts with backoff (reads only), then a typed error or the decoded JSON."""
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
                payload = json.loads(response.content)
            except ValueError:
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
        detail = self._detail(response)
        if code in (401, 403):
            raise _Attempt(Unauthorized(status_code=code), retryable=False)
        if code == 404 and on_404 is not None:
            raise _Attempt(on_404(), retryable=False)
        if code == 404:
            raise _Attempt(
                UnexpectedAnswer("its endpoint was not found (HTTP 404); check CONTROL_API_URL", status_code=404),
                retryable=False,
            )
        if code in (400, 409, 422):
            raise _Attempt(InvalidRequest(detail or f"HTTP {code}", status_code=code), retryable=False)
        if code == 429:
            raise _Attempt(
                ControlApiUnavailable("it is rate limiting us (HTTP 429)", status_code=code), retryable=False
            )
        if 300 <= code < 400:
            where = _safe_url(response.headers.get("location", "")) or "somewhere"
            raise _Attempt(
                UnexpectedAnswer(f"it redirects (HTTP {code}) to {where}; check CONTROL_API_URL", status_code=code),
                retryable=False,
            )
        if code >= 500:
            raise _Attempt(
                ControlApiUnavailable(f"HTTP {code}", status_code=code, outcome_unknown=is_write),
                retryable=True,
                retry_after=_retry_after(response),
            )
        suffix = f": {detail}" if detail else "."
        raise _Attempt(
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

    def _scrub(self, text: str) -> str:
        secret = self._token.get_secret_value()
        return text.replace(secret, "[redacted]") if secret else text

    # --- pagination -----------------------------------------------------------------------------------------

    @staticmethod
    def _page(payload: Any) -> tuple[list[Any], str | None]:
        """``(items, next)`` from a DRF page, a bare list, or a single object."""
        if isinstance(payload, list):
            return payload, None
        if isinstance(payload, Mapping):
            if "results" in payload:
                results, next_link = payload.get("results"), payload.get("next")
                if not isinstance(results, list) or not (next_link is None or isinstance(next_link, str)):
                    raise UnexpectedAnswer("its answer does not have the documented count/results shape")
                return results, next_link or None
            if "id" in payload:
                return [payload], None
        raise UnexpectedAnswer("its answer does not have the documented count/results shape")

    def _parse_items(self, items: list[Any]) -> tuple[list[Operation], list[str | None]]:
        """The operations of one page, and the ids of the records skipped (``None``: no usable id)."""
        parsed: list[Operation] = []
        skipped: list[str | None] = []
        for item in items:
            try:
                parsed.append(Operation.model_validate(item))
            except ValidationError as exc:
                logger.warning("Control API returned an operation the bot cannot read (%s); skipped", _fields(exc))
                skipped.append(_record_id(item))
        if items and not parsed:
            raise UnexpectedAnswer("its list contains nothing that looks like an operation")
        return parsed, skipped

    def _follow(self, next_link: str, current: httpx.URL) -> httpx.URL:
        """Where ``next`` points, kept on the configured origin so the token never leaves it."""
        try:
            target = current.join(next_link)
        except (httpx.InvalidURL, ValueError):
            raise UnexpectedAnswer("its pagination link is not a valid URL") from None
        if (target.scheme, target.host, target.port) != (
            self.endpoint.scheme,
            self.endpoint.host,
            self.endpoint.port,
        ):
            logger.debug("Control API next link on another origin; following its query on the configured endpoint")
            target = self.endpoint.copy_with(query=target.query or None)
        return target


# --- helpers ------------------------------------------------------------------------------------------------


def _record_id(item: Any) -> str | None:
    """The id of a record that is not a readable operation, if it has a usable one (as ``Operation`` reads it)."""
    raw = item.get("id") if isinstance(item, Mapping) else None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        return None
    text = str(raw)
    return text if text.strip() else None


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


def _fields(exc: ValidationError) -> str:
    """Which fields were wrong, without echoing values (they may be long or sensitive)."""
    names = sorted({".".join(str(part) for part in err.get("loc", ())) or "record" for err in exc.errors()})
    return "bad or missing: " + ", ".join(names[:5])


def _safe_url(url: str) -> str:
    """The URL without user:password, if someone put credentials in it."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        return "<invalid URL>"
    if parsed.userinfo:
        parsed = parsed.copy_with(username=None, password=None)
    return str(parsed)


__all__ = ["ENDPOINT_PATH", "ControlApiClient", "HealthState", "Observer", "OperationList"]
