"""Reading the Control API's answers: DRF pages, the operations on them, and what could not be read.

The pages are walked by ``bot.control.stream`` (``stream_pages``, and ``read_all`` on it), following DRF's
``next`` links (``follow``). ``next`` links are only followed on the configured origin: DRF behind a proxy often
builds them with an internal host or ``http://``, and the bearer token must never be sent anywhere else, so a
foreign ``next`` keeps only its query string.

One record that cannot be read as an operation is skipped (and counted) rather than hiding all the others;
nothing here does HTTP.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import httpx
import msgspec
from pydantic import ValidationError

from bot.control.errors import UnexpectedAnswer
from bot.control.glance import decoded
from bot.control.models import Operation

logger = logging.getLogger("bot.control")


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


def page_items(payload: Any) -> tuple[list[Any], str | None]:
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


def invalid_fields(exc: ValidationError) -> str:
    """Which fields were wrong, without echoing values (they may be long or sensitive)."""
    names = sorted({".".join(str(part) for part in err.get("loc", ())) or "record" for err in exc.errors()})
    return "bad or missing: " + ", ".join(names[:5])


def parse_page(items: list[Any]) -> tuple[list[Operation], list[str | None]]:
    """The operations of one page, and the ids of the records skipped (``None``: no usable id); a page with
    records and not one operation among them is an ``UnexpectedAnswer``."""
    parsed, skipped = parse_records(items)
    if items and not parsed:
        raise UnexpectedAnswer("its list contains nothing that looks like an operation")
    return parsed, skipped


def parse_records(
    items: Iterable[Any], problems: Counter[str] | None = None
) -> tuple[list[Operation], list[str | None]]:
    """``items`` (decoded JSON values, or ``msgspec.Raw`` records of a streamed page: validated straight from their
    bytes) read as operations, and the ids of the records that could not be (``None``: no usable id). Each of those
    is logged (which fields, never their values), or, given ``problems``, counted there by what was wrong, for the
    caller to log once (the notifier: once per poll, not once per record every minute)."""
    parsed: list[Operation] = []
    skipped: list[str | None] = []
    for item in items:
        try:
            if item.__class__ is msgspec.Raw:
                parsed.append(Operation.model_validate_json(bytes(item)))
            else:
                parsed.append(Operation.model_validate(item))
        except ValidationError as exc:
            why = invalid_fields(exc)
            if problems is None:
                logger.warning("Control API returned an operation the bot cannot read (%s); skipped", why)
            else:
                problems[why] += 1
            skipped.append(_record_id(decoded(item)))
    return parsed, skipped


def follow(next_link: str, current: httpx.URL, endpoint: httpx.URL) -> httpx.URL:
    """Where ``next`` points, kept on the configured origin so the token never leaves it."""
    try:
        target = current.join(next_link)
    except (httpx.InvalidURL, ValueError):
        raise UnexpectedAnswer("its pagination link is not a valid URL") from None
    if (target.scheme, target.host, target.port) != (endpoint.scheme, endpoint.host, endpoint.port):
        logger.debug("Control API next link on another origin; following its query on the configured endpoint")
        target = endpoint.copy_with(query=target.query or None)
    return target


def _record_id(item: Any) -> str | None:
    """The id of a record that is not a readable operation, if it has a usable one (as ``Operation`` reads it)."""
    raw = item.get("id") if isinstance(item, Mapping) else None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        return None
    text = str(raw)
    return text if text.strip() else None


__all__ = ["OperationList", "follow", "invalid_fields", "page_items", "parse_page", "parse_records"]
