"""A glance at a listed record: the few fields that say whether an operation changed, read without pydantic.

The notifier reads every listed operation every poll; building a full ``Operation`` model for each of 100,000 (most
of them unchanged) was most of a poll's CPU. ``glance`` reads only ``id``, ``status``, ``device_status.online`` and
``scheduled_time`` from the decoded JSON, and only when they have exactly the plain shapes the API documents (the
id a string or an integer, the status a string, ``online`` a boolean or absent, the time in the API's own
``YYYY-MM-DDTHH:MM:SS[.f]Z`` format). Anything else gives ``None``: the record is then read as a full model,
with all of pydantic's leniency and its errors. So a glance never reads a record differently from the model:
the same id text (``coerce_numbers_to_str``), the same aware UTC time (``parse_utc_text`` is the model's own fast
path), the same status and ``online``.

A record whose glance is unchanged is not validated any further: a field the bot does not compare (``created_at``,
``parameters``) could be malformed in it without a warning. That is the price of not reading 100,000 records in
full every minute; such a record is read in full, and warned about, as soon as anything it is compared on changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import msgspec

from bot.control.models import parse_utc_text


class Glance(NamedTuple):
    """What a record's glance found: exactly what ``Operation`` would read for these fields."""

    id: str
    status: str
    online: bool | None
    scheduled_time: datetime


class _Device(msgspec.Struct, gc=False):
    online: bool | None = None


class _Glimpse(msgspec.Struct, gc=False):
    """The compared fields of a record, as msgspec reads them from its bytes (other fields skipped, not decoded)."""

    id: str | int
    status: str
    scheduled_time: str
    device_serial: str
    operation_type: str
    device_status: _Device | None = None


_GLIMPSE = msgspec.json.Decoder(_Glimpse)


def glance(item: Any) -> Glance | None:
    """The compared fields of one listed record (a ``msgspec.Raw`` or a decoded JSON value), or ``None`` when it
    must be read as a full model."""
    if item.__class__ is msgspec.Raw:
        try:
            seen = _GLIMPSE.decode(item)
        except msgspec.DecodeError:
            return None
        raw_id = seen.id
        if raw_id.__class__ is bool:  # msgspec's int does not take booleans; kept as a guard
            return None
        scheduled = parse_utc_text(seen.scheduled_time)
        if scheduled.__class__ is not datetime:
            return None
        device = seen.device_status
        op_id = raw_id if raw_id.__class__ is str else str(raw_id)
        return Glance(op_id, seen.status, None if device is None else device.online, scheduled)  # type: ignore[arg-type]
    if item.__class__ is not dict:
        return None
    raw_id = item.get("id")
    if raw_id.__class__ is str:
        op_id: str = raw_id
    elif raw_id.__class__ is int:
        op_id = str(raw_id)
    else:
        return None
    status = item.get("status")
    if status.__class__ is not str or item.get("device_serial").__class__ is not str:
        return None
    if item.get("operation_type").__class__ is not str:
        return None
    device = item.get("device_status")
    if device is None:
        online = None
    elif device.__class__ is dict:
        online = device.get("online")
        if online is not None and online.__class__ is not bool:
            return None
    else:
        return None
    scheduled = parse_utc_text(item.get("scheduled_time"))
    if scheduled.__class__ is not datetime:
        return None
    return Glance(op_id, status, online, scheduled)


def decoded(item: Any) -> Any:
    """A listed record as a JSON value (a ``msgspec.Raw`` is decoded; anything else is already one)."""
    return msgspec.json.decode(item) if item.__class__ is msgspec.Raw else item


__all__ = ["Glance", "decoded", "glance"]
