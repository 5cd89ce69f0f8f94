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
and read as ``read_all`` reads it.

Each fetch is one ``Transport.call`` (retried on 5xx and network errors with back-off); a page that still fails
ends the stream with its error, after the pages before it were yielded. Loop protection as in ``read_all``: a
``next`` already read is refused, and so is a list longer than ``page_cap`` pages (raised, when the first page
announces more operations than ``page_cap`` pages can hold, to what the ``count`` needs plus 10 %).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from bot.control.errors import UnexpectedAnswer
from bot.control.pages import follow, page_items

Fetch = Callable[[httpx.URL], Awaitable[bytes]]  # one page's body


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
            raise UnexpectedAnswer("its answer is not valid JSON") from None
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


def page_predictor(first_next: httpx.URL, first_size: int) -> Callable[[int], httpx.URL] | None:
    """From page 1's ``next`` link, the URL of page ``n`` (``n >= 2``), if the link numbers pages; else ``None``.

    ``page=2`` (DRF's PageNumberPagination) → ``page=n``; ``offset=<page 1's size>`` (LimitOffsetPagination) →
    ``offset=(n-1)*size``. Anything else (a cursor) cannot be predicted.
    """
    params = first_next.params
    if params.get("page") == "2":
        return lambda n: first_next.copy_set_param("page", str(n))
    if first_size > 0 and params.get("offset") == str(first_size):
        return lambda n: first_next.copy_set_param("offset", str((n - 1) * first_size))
    return None


async def stream_pages(
    fetch: Fetch,
    endpoint: httpx.URL,
    *,
    page_cap: int,
    concurrency: int = 4,
) -> AsyncIterator[Page]:
    """The list's pages in ``next`` order (see the module docstring). ``concurrency`` counts the page being read:
    1 fetches one page after the other, as ``read_all`` does."""
    items, next_link, count = decode_page(await fetch(endpoint))
    yield Page(1, items, count)
    if not next_link:
        return
    url: httpx.URL | None = follow(next_link, endpoint, endpoint)
    expected = math.ceil(count / len(items)) if count and items else None
    cap = page_cap if expected is None else max(page_cap, expected + expected // 10 + 2)
    predict = None if expected is None or url is None or concurrency < 2 else page_predictor(url, len(items))
    ahead: dict[tuple[Any, ...], asyncio.Task[Any]] = {}
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
                _fetch_ahead(fetch, predict, ahead, seen, first=number, last=min(expected, number + concurrency - 1))
            task = ahead.pop(key, None)
            items, next_link, page_count = decode_page(await (task if task is not None else fetch(url)))
            yield Page(number, items, page_count, fetched_ahead=task is not None)
            url = follow(next_link, url, endpoint) if next_link else None
    finally:
        for task in ahead.values():
            task.cancel()
        for task in ahead.values():
            with contextlib.suppress(BaseException):
                await task


def _fetch_ahead(
    fetch: Fetch,
    predict: Callable[[int], httpx.URL],
    ahead: dict[tuple[Any, ...], asyncio.Task[Any]],
    seen: set[Any],
    *,
    first: int,
    last: int,
) -> None:
    """Start fetching the predicted pages ``first..last`` not yet started (nor read)."""
    for n in range(first, last + 1):
        url = predict(n)
        key = _key(url)
        if key not in ahead and (n == first or key not in seen):
            ahead[key] = asyncio.ensure_future(fetch(url))


__all__ = ["Page", "page_predictor", "stream_pages"]
