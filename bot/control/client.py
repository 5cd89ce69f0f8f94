"""The typed async client of the Zequenze Control API: ``ControlApiClient``, its public surface.

One ``ControlApiClient`` per process wraps one pooled ``httpx.AsyncClient``: connections are reused across
Slack commands and the notifier, and everything the API can do wrong is turned into the typed errors of
``bot.control.errors``, so no caller ever sees an httpx exception or a status code.

The API's manners, as implemented (the how lives in ``bot.control.transport`` and ``bot.control.pages``):

* **Reads are retried, writes are not.** GETs are retried on 5xx, connection errors and timeouts with
  exponential backoff and full jitter, at most ``max_retries`` times; 4xx answers never are. A create (POST)
  is never retried because it is not idempotent: a retry after a timeout could schedule the same operation
  twice. When a POST fails *before anything was sent*, the error says so (``outcome_unknown=False``); when it
  fails after the request may have reached the API the error has ``outcome_unknown=True`` and the caller must
  look before trying again.
* **update_status=true is slow by design** (the API queries the device live), so that call alone gets the
  longer ``refresh_timeout`` read timeout, and a timeout of it is not retried (retrying a slow call only
  makes it slower).
* **Pagination** is followed DRF style with loop protection (``page_cap`` pages at most, a ``next`` that
  repeats is refused), and only on the configured origin, so the bearer token is never sent anywhere else.
* **The token** is a ``SecretStr``, sent only in the ``Authorization`` header, never logged, never in an error
  message (anything the server echoes is scrubbed), never in ``repr``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, Literal, Self

import httpx
from pydantic import SecretStr, ValidationError

from bot.control.errors import (
    ControlApiError,
    DeviceNotFound,
    OperationNotFound,
    Unauthorized,
    UnexpectedAnswer,
)
from bot.control.models import CreateOperationRequest, Operation
from bot.control.pages import OperationList, invalid_fields, page_items
from bot.control.stream import Page, decode_page, read_all, stream_pages
from bot.control.transport import MAX_CONNECTIONS, Observer, Transport, safe_url

logger = logging.getLogger("bot.control")

#: The one collection the API exposes, relative to the base URL (``https://control.zequenze.com/api/v1``).
ENDPOINT_PATH = "inventory_device_serial_headless_operation/"

HealthState = Literal["ok", "unauthorized", "unavailable"]


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
            raise ValueError(f"Control API base URL must be an http(s):// URL, got {safe_url(base)!r}")
        if max_retries < 0 or page_cap < 1 or timeout <= 0 or refresh_timeout <= 0 or backoff_base < 0:
            raise ValueError("timeouts must be > 0, max_retries >= 0, page_cap >= 1, backoff_base >= 0")
        self.base_url = base
        self.endpoint = httpx.URL(base + "/" + ENDPOINT_PATH)
        token = token if isinstance(token, SecretStr) else SecretStr(str(token))
        self._timeout = httpx.Timeout(timeout)
        self._refresh_timeout = httpx.Timeout(timeout, read=refresh_timeout)
        self._health_timeout = httpx.Timeout(min(timeout, 5.0))
        self._page_cap = page_cap
        self._transport = Transport(
            token,
            timeout=self._timeout,
            max_retries=max_retries,
            backoff_base=backoff_base,
            transport=transport,
            observer=observer,
            max_connections=max_connections,
        )
        self._creates = 0

    @property
    def creates(self) -> int:
        """Creates finished so far, however they ended: a list read before this last changed may lack one (every
        create passes here, so whoever keeps a list answer, ``OperationsService``, compares it)."""
        return self._creates

    # --- lifecycle ------------------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"ControlApiClient(base_url={safe_url(self.base_url)!r})"

    async def aclose(self) -> None:
        """Close the pooled connections; safe to call twice."""
        await self._transport.aclose()

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
        return await read_all(self._fetch_page, self.endpoint, page_cap=self._page_cap)

    def operation_pages(self, *, concurrency: int = 4) -> AsyncIterator[Page]:
        """The list's pages, raw, one at a time in ``next`` order, up to ``concurrency`` fetched at once (see
        ``bot.control.stream``): what the notifier reads at fleet scale, without holding the list or a model per
        record. Each page is retried like any read; a page that still fails raises, after the pages before it."""
        return stream_pages(
            self._fetch_page,
            self.endpoint,
            page_cap=self._page_cap,
            concurrency=concurrency,
        )

    async def _fetch_page(self, url: httpx.URL) -> tuple[list[Any], str | None, int | None]:
        """One page of the list, decoded (``bot.control.stream.decode_page``), retried like any read."""
        page: tuple[list[Any], str | None, int | None] = await self._transport.call(
            "list", "GET", url, decode=decode_page
        )
        return page

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
        payload = await self._transport.call(
            kind,
            "GET",
            self.endpoint,
            params=params,
            http_timeout=self._refresh_timeout if update_status else self._timeout,
            retry_timeouts=not update_status,
            on_404=lambda: OperationNotFound(op_id),
        )
        items, _ = page_items(payload)
        records = [item for item in items if isinstance(item, Mapping)]
        match = [item for item in records if str(item.get("id", "")) == op_id]
        if not match and len(items) == 1 and len(records) == 1:
            match = records  # the API answered exactly one record for this id, e.g. with a normalised id
        if not match:
            raise OperationNotFound(op_id, status_code=200)
        try:
            return Operation.model_validate(match[0])
        except ValidationError as exc:
            raise UnexpectedAnswer(f"its answer for {op_id} is not an operation ({invalid_fields(exc)})") from None

    async def create_operation(self, request: CreateOperationRequest) -> Operation:
        """Schedule an operation; never retried (see the module docstring for what an error then means).

        A 404 is ``DeviceNotFound`` (the API's "Device serial number not found."), a 400 ``InvalidRequest``.
        Fields the API leaves out of its 201 answer are filled in from the request, so the caller always gets
        a complete ``Operation`` as long as the answer has an ``id``.
        """
        body = request.model_dump(mode="json")
        try:
            payload = await self._transport.call(
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
                f"its answer to the create is not an operation ({invalid_fields(exc)})", outcome_unknown=True
            ) from None

    async def health(self) -> HealthState:
        """``"ok"``, ``"unauthorized"`` or ``"unavailable"`` from one quick GET; never raises (for /healthz).

        One attempt, short timeout, ``page_size=1`` so a paginating API answers with little; an API that
        ignores the parameter simply answers the whole list.
        """
        try:
            await self._transport.call(
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


__all__ = ["ENDPOINT_PATH", "MAX_CONNECTIONS", "ControlApiClient", "HealthState", "Observer", "OperationList"]
