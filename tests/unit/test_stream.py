"""``bot.control.stream``: the list streamed page by page, the following pages fetched ahead, the ``next`` links
deciding; and ``decode_page``, one answer's records, ``next`` and ``count``.

The pages come from ``PageServer``: DRF pages generated in process and served by a ``fetch`` that sleeps (so the
fetches overlap and the concurrency can be counted) and counts what it was asked for, what was in flight at once
and what was cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
from collections.abc import Callable, Sequence
from types import EllipsisType
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.control.errors import ControlApiUnavailable, UnexpectedAnswer
from bot.control.stream import Page, decode_page, page_predictor, stream_pages

ORIGIN = "http://control.test"
ENDPOINT = httpx.URL(f"{ORIGIN}/api/operations/")
HANG = float("inf")  # a page's delay: it never answers (until cancelled)


def record(index: int) -> dict[str, Any]:
    return {
        "id": f"op-{index}",
        "device_serial": f"SN{index:06d}",
        "operation_type": "reboot",
        "status": "scheduled",
        "scheduled_time": "2030-01-15T10:30:00Z",
        "device_status": {"online": True},
    }


class PageServer:
    """``pages`` DRF pages of ``size`` records, numbered 1.., served by ``fetch``.

    ``style``: how pages are named, ``page`` (``?page=n``), ``offset`` (``?limit=&offset=``) or ``cursor`` (an
    opaque token). ``chain``: the pages the ``next`` links lead through, in order (default all of them); the
    last page of the chain has no ``next`` unless ``endless``, where every page links to the one after it.
    ``total``: how many records (default ``pages * size``). ``link``: builds the ``next`` link to page ``n``
    (default: the style's URL). ``count``: what every page announces (default ``total``; ``None``: none).
    ``delay``: seconds each page takes (``HANG``: forever). ``errors``: the exception a page answers with.
    """

    def __init__(
        self,
        pages: int,
        size: int = 3,
        *,
        style: str = "page",
        chain: Sequence[int] | None = None,
        endless: bool = False,
        total: int | None = None,
        link: Callable[[int], str] | None = None,
        count: int | EllipsisType | None = ...,
        delay: Callable[[int], float] = lambda n: 0.002,
        errors: dict[int, Exception] | None = None,
    ) -> None:
        self.pages, self.size, self.style, self.endless = pages, size, style, endless
        self.chain = list(chain) if chain is not None else list(range(1, pages + 1))
        self.link = link or (lambda n: str(self.url(n)))
        self.total = pages * size if total is None else total
        self.count = self.total if count is ... else count
        self.delay, self.errors = delay, errors or {}
        self.fetched: list[str] = []
        self.in_flight = self.max_in_flight = self.cancelled = 0

    def url(self, n: int) -> httpx.URL:
        if n == 1:
            return ENDPOINT
        if self.style == "page":
            return ENDPOINT.copy_merge_params({"page": n})
        if self.style == "offset":
            return ENDPOINT.copy_merge_params({"limit": self.size, "offset": (n - 1) * self.size})
        return ENDPOINT.copy_merge_params({"cursor": f"c{n * 7919:x}"})

    def number(self, url: httpx.URL) -> int:
        params = url.params
        if "page" in params:
            return int(params["page"])
        if "offset" in params:
            return int(params["offset"]) // self.size + 1
        if "cursor" in params:
            return int(params["cursor"][1:], 16) // 7919
        return 1

    def records(self, n: int) -> list[dict[str, Any]]:
        first = (n - 1) * self.size
        last = first + self.size if self.endless else min(first + self.size, self.total)
        return [record(i) for i in range(first, last)]

    def next_of(self, n: int) -> str | None:
        if self.endless:
            return self.link(n + 1)
        place = self.chain.index(n) if n in self.chain else None
        if place is None or place + 1 == len(self.chain):
            return None
        return self.link(self.chain[place + 1])

    def ids_of(self, numbers: Sequence[int]) -> list[str]:
        return [item["id"] for n in numbers for item in self.records(n)]

    async def fetch(self, url: httpx.URL) -> tuple[list[Any], str | None, int | None]:
        self.fetched.append(str(url))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            n = self.number(url)
            delay = self.delay(n)
            await (asyncio.Event().wait() if delay == HANG else asyncio.sleep(delay))
            if n in self.errors:
                raise self.errors[n]
            if not self.endless and not 1 <= n <= self.pages:
                raise UnexpectedAnswer("HTTP 404", status_code=404)
            page: dict[str, Any] = {"next": self.next_of(n), "previous": None, "results": self.records(n)}
            if self.count is not None:
                page["count"] = self.count
            return decode_page(json.dumps(page).encode())  # as the client's fetch decodes each page
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1


def ids(pages: Sequence[Page]) -> list[str]:
    return [msgspec.json.decode(item)["id"] for page in pages for item in page.items]


async def read(server: PageServer, *, concurrency: int = 4, page_cap: int = 100) -> list[Page]:
    return [page async for page in stream_pages(server.fetch, ENDPOINT, page_cap=page_cap, concurrency=concurrency)]


async def read_until_error(server: PageServer, **options: Any) -> tuple[list[Page], BaseException]:
    pages: list[Page] = []
    stream = stream_pages(server.fetch, ENDPOINT, **{"page_cap": 100, "concurrency": 4, **options})
    with pytest.raises(Exception) as caught:
        async for page in stream:
            pages.append(page)
    return pages, caught.value


@pytest.fixture
async def loop_errors() -> list[dict[str, Any]]:
    """What the event loop would have logged: "Task exception was never retrieved", "Task was destroyed but it is
    pending!"."""
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: errors.append(context))
    return errors


async def assert_settled(server: PageServer, loop_errors: list[dict[str, Any]]) -> None:
    """Nothing left behind by a finished stream: no fetch running, no task, no error nobody retrieved."""
    await asyncio.sleep(0)
    gc.collect()
    await asyncio.sleep(0)
    assert server.in_flight == 0
    assert [task for task in asyncio.all_tasks() if task is not asyncio.current_task()] == []
    assert [context.get("message") for context in loop_errors] == []


# ---------------------------------------------------------------------------------------------------------------
# Order, concurrency, prediction


@pytest.mark.parametrize("style", ["page", "offset", "cursor"])
@pytest.mark.parametrize("concurrency", [1, 4])
async def test_pages_come_in_next_order_each_fetched_once(
    style: str, concurrency: int, loop_errors: list[dict[str, Any]]
) -> None:
    server = PageServer(7, 4, total=26, style=style, delay=lambda n: 0.001 * (8 - n))  # later pages answer sooner
    pages = await read(server, concurrency=concurrency)
    assert [page.number for page in pages] == [1, 2, 3, 4, 5, 6, 7]
    assert ids(pages) == [f"op-{i}" for i in range(26)]
    assert {page.count for page in pages} == {26}
    assert sorted(server.fetched) == sorted(str(server.url(n)) for n in range(1, 8))  # nothing fetched in vain
    if style == "cursor":  # cannot be predicted: one page after the other
        assert server.max_in_flight == 1
        assert not any(page.fetched_ahead for page in pages)
    await assert_settled(server, loop_errors)


@pytest.mark.parametrize("style", ["page", "offset"])
async def test_four_pages_in_flight_at_most_the_next_ones_fetched_ahead(
    style: str, loop_errors: list[dict[str, Any]]
) -> None:
    server = PageServer(12, style=style, delay=lambda n: 0.01)
    pages = []
    async for page in stream_pages(server.fetch, ENDPOINT, page_cap=100, concurrency=4):
        pages.append(page)
        await asyncio.sleep(0.02)  # a slow reader: the pages ahead of it have all arrived
    assert server.max_in_flight == 4
    assert [page.number for page in pages] == list(range(1, 13))
    assert not pages[0].fetched_ahead
    assert all(page.fetched_ahead for page in pages[2:])
    assert ids(pages) == server.ids_of(range(1, 13))
    await assert_settled(server, loop_errors)


@pytest.mark.parametrize("style", ["page", "offset", "cursor"])
async def test_concurrency_one_fetches_one_page_after_the_other(style: str) -> None:
    server = PageServer(6, style=style, delay=lambda n: 0.005)
    pages = await read(server, concurrency=1)
    assert server.max_in_flight == 1
    assert ids(pages) == server.ids_of(range(1, 7))


@pytest.mark.parametrize(
    ("first_next", "size", "page_5"),
    [
        ("http://h/x/?page=2", 10, "http://h/x/?page=5"),
        ("http://h/x/?page=2&page_size=50", 50, "http://h/x/?page=5&page_size=50"),
        ("http://h/x/?limit=10&offset=10", 10, "http://h/x/?limit=10&offset=40"),
        ("http://h/x/?cursor=cD0y", 10, None),
        ("http://h/x/?page=3", 10, None),  # not the page after the first
        ("http://h/x/?offset=20&limit=10", 10, None),  # the offset is not page 1's size
        ("http://h/x/?offset=0", 0, None),  # an empty first page says nothing of the size
    ],
)
def test_page_predictor(first_next: str, size: int, page_5: str | None) -> None:
    predict = page_predictor(httpx.URL(first_next), size)
    if page_5 is None:
        assert predict is None
    else:
        assert predict is not None
        assert dict(predict(5).params) == dict(httpx.URL(page_5).params)
        assert predict(5).path == "/x/"


# ---------------------------------------------------------------------------------------------------------------
# Links that disagree with the prediction: the next chain is what is read


@pytest.mark.parametrize("concurrency", [2, 4])
async def test_links_that_skip_predicted_pages_are_followed_and_the_unused_cancelled(
    concurrency: int, loop_errors: list[dict[str, Any]]
) -> None:
    chain = [1, 2, 4, 5, 7, 10]
    skipped = {3, 6, 8, 9}
    server = PageServer(10, chain=chain, delay=lambda n: HANG if n in skipped else 0.002)
    pages = await read(server, concurrency=concurrency)
    assert [page.number for page in pages] == [1, 2, 3, 4, 5, 6]
    assert ids(pages) == server.ids_of(chain)
    started = [url for url in server.fetched if server.number(httpx.URL(url)) in skipped]
    assert started  # the prediction did fetch them ahead
    assert server.cancelled == len(started)  # and each was cancelled: none answers, yet the stream ended
    await assert_settled(server, loop_errors)


async def test_prefetched_pages_that_fail_unused_leave_no_unretrieved_error(loop_errors: list[dict[str, Any]]) -> None:
    chain = [1, 2, 4, 6, 8]
    boom = {n: ControlApiUnavailable(f"HTTP 503 on page {n}") for n in (3, 5, 7)}
    server = PageServer(8, chain=chain, errors=boom, delay=lambda n: 0.001 if n in boom else 0.004)
    pages = await read(server, concurrency=4)
    assert ids(pages) == server.ids_of(chain)
    await assert_settled(server, loop_errors)


async def test_links_with_a_parameter_of_their_own_are_read_as_linked(loop_errors: list[dict[str, Any]]) -> None:
    """A server that signs each link: page 3's link is never exactly the predicted URL, so it is fetched as linked."""
    server = PageServer(6)
    server.link = lambda n: str(server.url(n).copy_merge_params({"sig": f"s{n * 31}"}))
    pages = await read(server, concurrency=4)
    assert [page.number for page in pages] == list(range(1, 7))
    assert ids(pages) == server.ids_of(range(1, 7))
    assert not any(page.fetched_ahead for page in pages[2:])
    assert {server.link(n) for n in range(2, 7)} <= set(server.fetched)
    await assert_settled(server, loop_errors)


async def test_a_list_that_shrank_while_read_ends_at_its_last_next(loop_errors: list[dict[str, Any]]) -> None:
    """Page 1 announces 6 pages, page 3 has no ``next``: the pages fetched ahead past it (404) are not errors."""
    server = PageServer(3, count=18, delay=lambda n: 0.001 if n > 3 else 0.004)
    pages = await read(server, concurrency=4)
    assert [page.number for page in pages] == [1, 2, 3]
    assert ids(pages) == server.ids_of([1, 2, 3])
    await assert_settled(server, loop_errors)


async def test_links_that_skip_never_fetch_a_page_already_read() -> None:
    """``_fetch_ahead`` promises the pages "not yet started (nor read)"; the predicted URL of the page being read
    is started even when it is a page read before (``n == first`` bypasses ``seen``)."""
    server = PageServer(10, chain=[1, 2, 4, 6, 8, 10])
    await read(server, concurrency=4)
    assert len(server.fetched) == len(set(server.fetched)), sorted(server.fetched)


async def test_links_that_skip_never_put_more_than_concurrency_fetches_in_flight() -> None:
    """``concurrency`` counts the page being read; the pages fetched ahead in vain are only cancelled when the
    stream ends, so against a server that skips pages (and is slow on the skipped ones) they pile up."""
    skipped = {3, 5, 7, 9, 11}
    server = PageServer(12, chain=[1, 2, 4, 6, 8, 10, 12], delay=lambda n: HANG if n in skipped else 0.002)
    await read(server, concurrency=4)
    assert server.max_in_flight <= 4


# ---------------------------------------------------------------------------------------------------------------
# Caps, loops, failures, origin, an early stop


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_the_page_cap_rises_to_what_the_count_needs(concurrency: int) -> None:
    server = PageServer(3)
    pages = await read(server, concurrency=concurrency, page_cap=1)
    assert ids(pages) == server.ids_of([1, 2, 3])


@pytest.mark.parametrize(
    ("count", "page_cap", "cap"),
    [(9, 1, 5), (120, 1, 46), (120, 50, 50), (None, 3, 3)],  # 3 pages + 0 + 2; 40 + 4 + 2; the cap; no count
)
async def test_a_list_endlessly_longer_than_its_count_is_stopped(count: int | None, page_cap: int, cap: int) -> None:
    server = PageServer(1, endless=True, count=count)
    pages, error = await read_until_error(server, page_cap=page_cap)
    assert isinstance(error, UnexpectedAnswer)
    assert f"more than {cap} pages" in str(error)
    assert [page.number for page in pages] == list(range(1, cap + 1))


@pytest.mark.parametrize("back_to", [1, 2])
@pytest.mark.parametrize("concurrency", [1, 4])
async def test_a_next_loop_is_refused(back_to: int, concurrency: int, loop_errors: list[dict[str, Any]]) -> None:
    server = PageServer(5)
    server.next_of = lambda n: str(server.url(back_to if n == 3 else n + 1))  # type: ignore[method-assign]
    pages, error = await read_until_error(server, concurrency=concurrency)
    assert isinstance(error, UnexpectedAnswer)
    assert "loops back" in str(error)
    assert [page.number for page in pages] == [1, 2, 3]
    await assert_settled(server, loop_errors)


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_a_failing_page_ends_the_stream_after_the_pages_before_it(
    concurrency: int, loop_errors: list[dict[str, Any]]
) -> None:
    failure = ControlApiUnavailable("HTTP 503")
    server = PageServer(8, errors={3: failure})
    pages, error = await read_until_error(server, concurrency=concurrency)
    assert [page.number for page in pages] == [1, 2]
    assert ids(pages) == server.ids_of([1, 2])
    assert error is failure
    await assert_settled(server, loop_errors)


@pytest.mark.parametrize("origin", ["http://internal:8000/internal/path/", "https://elsewhere.example/x/", ""])
async def test_a_foreign_next_link_keeps_to_the_configured_origin(
    origin: str, loop_errors: list[dict[str, Any]]
) -> None:
    """DRF behind a proxy links to its internal host: only the link's query is followed, on the endpoint's origin
    (where the token may go), and the pages are still predicted (a relative link, ``""``, is read there too)."""
    server = PageServer(6)
    server.link = lambda n: f"{origin}?page={n}"
    pages = await read(server, concurrency=4)
    assert ids(pages) == server.ids_of(range(1, 7))
    assert {httpx.URL(url).copy_with(query=None) for url in server.fetched} == {ENDPOINT}
    assert all(page.fetched_ahead for page in pages[2:])
    await assert_settled(server, loop_errors)


@pytest.mark.parametrize("how", ["aclose", "break"])
async def test_stopping_early_cancels_the_pages_fetched_ahead(how: str, loop_errors: list[dict[str, Any]]) -> None:
    server = PageServer(10, delay=lambda n: HANG if n > 2 else 0.002)
    stream = stream_pages(server.fetch, ENDPOINT, page_cap=100, concurrency=4)
    if how == "aclose":
        assert (await anext(stream)).number == 1
        assert (await anext(stream)).number == 2
        await stream.aclose()
    else:
        async with contextlib.aclosing(stream):
            async for page in stream:
                if page.number == 2:
                    break
    assert server.cancelled == 3  # pages 3, 4 and 5, on their way while page 2 was read
    await assert_settled(server, loop_errors)


# ---------------------------------------------------------------------------------------------------------------
# Any list, any timing


@settings(max_examples=60, deadline=None)
@given(
    pages=st.integers(1, 12),
    size=st.integers(1, 5),
    style=st.sampled_from(["page", "offset", "cursor"]),
    concurrency=st.integers(1, 6),
    delays=st.lists(st.sampled_from([0.0, 0.0005, 0.001, 0.003]), min_size=12, max_size=12),
    reader=st.sampled_from([0.0, 0.001]),
)
def test_any_list_any_timing_is_read_whole_in_order(
    pages: int, size: int, style: str, concurrency: int, delays: list[float], reader: float
) -> None:
    async def scenario() -> None:
        server = PageServer(pages, size, style=style, delay=lambda n: delays[(n - 1) % 12])
        seen: list[Page] = []
        async for page in stream_pages(server.fetch, ENDPOINT, page_cap=1, concurrency=concurrency):
            seen.append(page)
            await asyncio.sleep(reader)
        assert [page.number for page in seen] == list(range(1, pages + 1))
        assert ids(seen) == server.ids_of(range(1, pages + 1))
        assert server.max_in_flight <= concurrency
        assert server.in_flight == 0
        assert len(server.fetched) == len(set(server.fetched)) == pages
        assert [task for task in asyncio.all_tasks() if task is not asyncio.current_task()] == []

    asyncio.run(scenario())


# ---------------------------------------------------------------------------------------------------------------
# decode_page

RECORDS = [record(0), record(1)]


def test_a_documented_page_decodes_to_raw_records_count_and_next() -> None:
    body = json.dumps({"count": 7, "next": f"{ORIGIN}/x/?page=2", "previous": None, "results": RECORDS}).encode()
    items, next_link, count = decode_page(body)
    assert all(item.__class__ is msgspec.Raw for item in items)
    assert [msgspec.json.decode(item) for item in items] == RECORDS
    assert (next_link, count) == (f"{ORIGIN}/x/?page=2", 7)


@pytest.mark.parametrize(
    ("envelope", "next_link", "count"),
    [
        ({"count": 2, "next": None}, None, 2),
        ({"count": 2, "next": ""}, None, 2),  # an empty link ends the list
        ({"count": 0}, None, 0),
        ({}, None, None),  # no count
        ({"count": None}, None, None),
        ({"count": -1}, None, None),
        ({"count": -1, "extra": [1, 2]}, None, None),
        ({"count": True}, None, None),  # a boolean is not a count (the json fallback agrees)
        ({"count": "2"}, None, None),
        ({"count": 2.0}, None, None),
        ({"count": 2**70}, None, 2**70),
    ],
)
def test_the_envelope_of_a_page(envelope: dict[str, Any], next_link: str | None, count: int | None) -> None:
    items, found_next, found_count = decode_page(json.dumps({**envelope, "results": RECORDS}).encode())
    assert [msgspec.json.decode(item) if item.__class__ is msgspec.Raw else item for item in items] == RECORDS
    assert (found_next, found_count) == (next_link, count)
    assert found_count is None or found_count.__class__ is int


def test_a_bare_list_is_its_records() -> None:
    assert decode_page(json.dumps(RECORDS).encode()) == (RECORDS, None, None)


def test_a_single_object_is_one_record() -> None:
    assert decode_page(json.dumps(RECORDS[0]).encode()) == ([RECORDS[0]], None, None)


@pytest.mark.parametrize("body", [b"", b"<html>502 Bad Gateway</html>", b'{"results": [', b"\xff\xfe{}", b"NaN-ish"])
def test_an_answer_that_is_not_json(body: bytes) -> None:
    with pytest.raises(UnexpectedAnswer, match="not valid JSON"):
        decode_page(body)


@pytest.mark.parametrize(
    "payload",
    [
        {"count": 1, "next": None, "results": {"id": "op-1"}},
        {"count": 1, "next": None, "results": "op-1"},
        {"count": 1, "next": None, "results": None},
        {"count": 1, "next": 5, "results": RECORDS},
        {"count": 1, "next": ["?page=2"], "results": RECORDS},
        {"count": 1, "next": {"href": "?page=2"}, "results": RECORDS},
        {"detail": "Not found."},  # neither a page nor a record
        "just a string",
        42,
    ],
)
def test_an_answer_of_another_shape(payload: Any) -> None:
    with pytest.raises(UnexpectedAnswer, match="documented count/results shape"):
        decode_page(json.dumps(payload).encode())
