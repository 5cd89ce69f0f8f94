"""Streaming the list endpoint: its pages one at a time, in order, fetched ahead concurrently.

The notifier reads the whole list every poll (the API has no status or time filter), so at 100,000 operations and
beyond it must neither hold the list in memory nor wait for one page after the other. ``stream_pages`` yields the
raw records of each page (decoded JSON, no models) in the order of the DRF ``next`` chain, and while the caller
works on one page, up to ``concurrency - 1`` of the following pages are already on their way.

**The ``next`` links stay the source of truth.** Once the first page gives the ``count`` and a ``next`` link, the
URLs of the following pages are *predicted* from that link (``page=N`` or ``offset=N`` in its query, the two DRF
paginators that number pages) and fetched ahead; page *k+1* is still the one page *k*'s ``next`` names: a predicted
page is used only when its URL is exactly that link, otherwise the link is fetched as it is. A cursor paginator, a
list that shifts while it is read, or a server that builds links its own way therefore costs speed, never
correctness. Pages fetched ahead and not used are cancelled.

**Decoding** (``decode_page``): a page is decoded with msgspec into its envelope (``count``, ``next``) and one
``msgspec.Raw`` per record (the record's bytes, not yet decoded): no dict per record, nothing for the garbage
collector to trace. ``bot.control.glance`` reads the compared fields from each; only the records that changed are
decoded in full. An answer of any other shape (a bare list, a single object, odd types) is decoded with ``json``
and read by ``page_items``; a body that is not JSON at all is ``NotJson``, which the transport words with its
status, as for any other call.

Each fetch is one ``Transport.call`` (retried on 5xx and network errors with back-off); a page that still fails
ends the stream with its error, after the pages before it were yielded. Loop protection: a ``next`` already read
is refused, and so is a list longer than ``page_cap`` pages (raised, when the first page announces more
operations than ``page_cap`` pages can hold, to what the ``count`` needs plus 10 %; not for ``read_all``).

``read_all`` (the chat commands' ``list_operations``) is the same walk, one page after the other, collected as
models: one walker for both readers of the list.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from bot.control.errors import NotJson, UnexpectedAnswer
from bot.control.models import Operation
from bot.control.pages import OperationList, follow, page_items, parse_page

#: One page, fetched and decoded: ``(records, next, count)`` (``decode_page`` of its body; the client fetches with
#: ``Transport.call(decode=decode_page)``, so a body that is not JSON is worded and counted as the transport does).
Fetch = Callable[[httpx.URL], Awaitable[tuple[list[Any], str | None, int | None]]]


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the list: its 1-based place in the ``next`` chain, its records (``msgspec.Raw``, or decoded
    JSON values for an undocumented shape), and the ``count`` it announced (``None`` when the answer had none:
    a bare list or a single object)."""

    number: int
    items: list[Any]
    count: int | None
    fetched_ahead: bool = False  # served from a predicted URL (for the benchmark's and the tests' eyes)


class _Envelope(msgspec.Struct, gc=False):
    """A DRF page as the API documents it; its records stay raw bytes."""

    results: list[msgspec.Raw]
    count: int | None = None
    next: str | None = None


_ENVELOPE = msgspec.json.Decoder(_Envelope)


def decode_page(body: bytes) -> tuple[list[Any], str | None, int | None]:
    """``(records, next, count)`` of one answer: ``msgspec.Raw`` records for a documented page, decoded JSON
    values for any other shape (see the module docstring)."""
    try:
        page = _ENVELOPE.decode(body)
    except msgspec.DecodeError:  # also its ValidationError: another shape, or not JSON
        try:
            payload = json.loads(body)
        except ValueError:
            raise NotJson("its answer is not valid JSON") from None
        items, next_link = page_items(payload)
        return items, next_link, _count_of(payload)
    count = page.count if page.count is not None and page.count >= 0 else None
    return list(page.results), page.next or None, count


def _count_of(payload: Any) -> int | None:
    if isinstance(payload, Mapping):
        count = payload.get("count")
        if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
            return count
    return None


def _key(url: httpx.URL) -> tuple[str, str, int | None, str, tuple[tuple[str, str], ...]]:
    """Two URLs name the same page when scheme, host, port, path and query parameters (in any order) agree."""
    return (url.scheme, url.host, url.port, url.path, tuple(sorted(url.params.multi_items())))


@dataclass(frozen=True, slots=True)
class PagePredictor:
    """The URL of page ``n`` of a numbered list (``predictor(n)``), and the page number a URL names
    (``number(url)``, ``None`` if it does not name one the same way)."""

    first_next: httpx.URL
    param: str  # "page" or "offset"
    size: int  # records per page (offset pagination)

    def __call__(self, n: int) -> httpx.URL:
        value = n if self.param == "page" else (n - 1) * self.size
        return self.first_next.copy_set_param(self.param, str(value))

    def number(self, url: httpx.URL) -> int | None:
        raw = url.params.get(self.param)
        if raw is None or not raw.isdigit():
            return None
        if self.param == "page":
            return int(raw)
        offset = int(raw)
        return offset // self.size + 1 if offset % self.size == 0 else None


def page_predictor(first_next: httpx.URL, first_size: int) -> PagePredictor | None:
    """From page 1's ``next`` link, the predictor of page URLs, if the link numbers pages; else ``None``.

    ``page=2`` (DRF's PageNumberPagination) → ``page=n``; ``offset=<page 1's size>`` (LimitOffsetPagination) →
    ``offset=(n-1)*size``. Anything else (a cursor) cannot be predicted.
    """
    params = first_next.params
    if params.get("page") == "2":
        return PagePredictor(first_next, "page", first_size)
    if first_size > 0 and params.get("offset") == str(first_size):
        return PagePredictor(first_next, "offset", first_size)
    return None


async def stream_pages(
    fetch: Fetch,
    endpoint: httpx.URL,
    *,
    page_cap: int,
    concurrency: int = 4,
    cap_follows_count: bool = True,
) -> AsyncIterator[Page]:
    """The list's pages in ``next`` order (see the module docstring). ``concurrency`` counts the page being read:
    1 fetches one page after the other, as ``read_all`` does. ``cap_follows_count=False`` keeps ``page_cap`` as it
    is whatever the count says (``read_all``: a chat command must not hold a million operations)."""
    items, next_link, count = await fetch(endpoint)
    yield Page(1, items, count)
    if not next_link:
        return
    url: httpx.URL | None = follow(next_link, endpoint, endpoint)
    expected = math.ceil(count / len(items)) if count and items else None
    cap = page_cap if expected is None or not cap_follows_count else max(page_cap, expected + expected // 10 + 2)
    predict = None if expected is None or url is None or concurrency < 2 else page_predictor(url, len(items))
    ahead: dict[tuple[Any, ...], tuple[int, asyncio.Task[Any]]] = {}  # URL → (predicted page number, its fetch)
    dropped: list[asyncio.Task[Any]] = []  # cancelled fetches the chain passed, until they have ended
    seen = {_key(endpoint)}
    number = 1
    try:
        while url is not None:
            number += 1
            key = _key(url)
            if key in seen:
                raise UnexpectedAnswer("its pagination loops back to a page already read")
            if number > cap:
                raise UnexpectedAnswer(f"its list has more than {cap} pages; stopped reading")
            seen.add(key)
            if predict is not None and expected is not None:
                dropped = [task for task in dropped if not task.done()]
                dropped += _fetch_ahead(fetch, predict, url, ahead, seen, concurrency=concurrency, last=expected)
            entry = ahead.pop(key, None)
            task = entry[1] if entry is not None else None
            items, next_link, page_count = await (task if task is not None else fetch(url))
            yield Page(number, items, page_count, fetched_ahead=task is not None)
            url = follow(next_link, url, endpoint) if next_link else None
    finally:
        await _cancel([*dropped, *(task for _, task in ahead.values())])


def _fetch_ahead(
    fetch: Fetch,
    predict: PagePredictor,
    url: httpx.URL,
    ahead: dict[tuple[Any, ...], tuple[int, asyncio.Task[Any]]],
    seen: set[Any],
    *,
    concurrency: int,
    last: int,
) -> list[asyncio.Task[Any]]:
    """Keep the fetches of the ``concurrency`` predicted pages from ``url``'s on (up to page ``last``) in flight,
    none of them a page already read, and cancel those the chain has passed (links that skip pages): returned."""
    current = predict.number(url)
    dropped = [ahead.pop(key)[1] for key, (n, _) in list(ahead.items()) if current is None or n < current]
    for task in dropped:
        _drop(task)
    if current is None:
        return dropped
    for n in range(current, min(last, current + concurrency - 1) + 1):
        page_url = predict(n)
        key = _key(page_url)
        if key not in ahead and (key == _key(url) or key not in seen):
            ahead[key] = (n, asyncio.ensure_future(fetch(page_url)))
    return dropped


def _drop(task: asyncio.Task[Any]) -> None:
    """Cancel a fetch nobody will wait for; its outcome, whatever it is, is retrieved when it ends."""
    task.cancel()
    task.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def _cancel(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel these fetches and wait for them (no "exception was never retrieved" later)."""
    pending = list(tasks)
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(BaseException):
            await task


async def read_all(fetch: Fetch, endpoint: httpx.URL, *, page_cap: int) -> OperationList:
    """Every operation from ``endpoint`` on, one page after the other, at most ``page_cap`` pages, as models.

    An operation that shows up on two pages (the list shifted while we paged) is returned once, with the newest
    data; a page with records and no operation among them is an ``UnexpectedAnswer``; what was skipped is on the
    result (``OperationList``).
    """
    found: dict[str, Operation] = {}
    unreadable: set[str] = set()
    unidentified = 0
    pages = stream_pages(fetch, endpoint, page_cap=page_cap, concurrency=1, cap_follows_count=False)
    async with contextlib.aclosing(pages):
        async for page in pages:
            parsed, skipped = parse_page(page.items)
            for operation in parsed:
                found[operation.id] = operation
            for item_id in skipped:
                if item_id is None:
                    unidentified += 1
                else:
                    unreadable.add(item_id)
    return OperationList(found.values(), unreadable_ids=frozenset(unreadable - found.keys()), unidentified=unidentified)


__all__ = ["Page", "PagePredictor", "decode_page", "page_predictor", "read_all", "stream_pages"]
