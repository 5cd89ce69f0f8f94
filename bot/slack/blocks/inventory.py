"""The device inventory → Block Kit: ``/headless devices [SELECTOR]``, its counts and its pages. Pure, no I/O."""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.domain.inventory import Device, Selection, page_of
from bot.i18n import _, ngettext
from bot.slack.blocks.common import (
    MAX_BLOCKS,
    MAX_SECTION_TEXT,
    Block,
    Message,
    button,
    context,
    escape,
    section,
    truncate,
)

DEVICES_PAGE_SIZE = 20
COUNTS_SHOWN = 8  # per kind (site, zone, tag); the rest is "+N more"

ACTION_DEVICES_MORE = "devices_more"


def device_line(device: Device) -> str:
    tags = f" · {escape(', '.join(device.tags))}" if device.tags else ""
    labels = " · " + escape(", ".join(f"{k}={v}" for k, v in device.labels)) if device.labels else ""
    return f"`{escape(device.serial)}` · {escape(device.site)} · {escape(device.zone)}{tags}{labels}"


def counts_line(title: str, counts: Sequence[tuple[str, int]]) -> str:
    """``title`` (already translated) and the counts per name, the first ``COUNTS_SHOWN`` of them."""
    if not counts:
        return f"*{title}*: " + _("none")
    shown = " · ".join(f"{escape(name)} {count:,}" for name, count in counts[:COUNTS_SHOWN])
    rest = len(counts) - COUNTS_SHOWN
    more = " · " + _("+{count} more").format(count=rest) if rest > 0 else ""
    return f"*{title}*: {shown}{more}"


def devices_message(
    selection: Selection,
    *,
    total: int,
    offset: int = 0,
    page_size: int = DEVICES_PAGE_SIZE,
    stale: str | None = None,
) -> Message:
    """Counts per site, zone and tag of ``selection``, then one page of its devices with a More button.

    ``total``: devices in the inventory; ``stale``: why the file on disk is not the inventory in force (a refused
    reload), said under the answer."""
    devices = selection.devices
    matched = len(devices)
    selector = f"`{escape(selection.selector)}`" if selection.selector else ""
    numbers = {"selector": selector, "matched": f"{matched:,}", "total": f"{total:,}"}
    page = list(page_of(devices, offset, page_size))
    shown_from = min(offset, matched) + 1
    shown_to = min(offset, matched) + len(page)
    header = (
        _("*Devices matching {selector}*: {matched} of {total} in the inventory")
        if selector
        else _("*Devices*: {matched} of {total} in the inventory")
    ).format(**numbers)
    counts = "\n".join(
        (
            counts_line(_("Sites"), selection.by_site),
            counts_line(_("Zones"), selection.by_zone),
            counts_line(_("Tags"), selection.by_tag),
        )
    )
    blocks: list[Block] = [section(header), section(truncate(counts, MAX_SECTION_TEXT))]
    if page:
        lines = "\n".join(device_line(d) for d in page)
        where = _("_{first}–{last} of {total}_").format(
            first=f"{shown_from:,}", last=f"{shown_to:,}", total=f"{matched:,}"
        )
        blocks.append(section(truncate(f"{where}\n{lines}", MAX_SECTION_TEXT)))
    else:
        blocks.append(
            section(
                ngettext(
                    "No more devices: all {matched} were on the pages before.",
                    "No more devices: all {matched} were on the pages before.",
                    matched,
                ).format(matched=f"{matched:,}")
            )
        )
    if shown_to < matched:
        value = json.dumps({"selector": selection.selector, "offset": shown_to}, separators=(",", ":"))
        blocks.append(
            {"type": "actions", "block_id": "devices_more", "elements": [button(_("More"), ACTION_DEVICES_MORE, value)]}
        )
    if stale:
        still = _("{problem}; the previous inventory is still in force.").format(problem=escape(stale))
        blocks.append(context(f":warning: {still}"))
    text = (
        _("Devices matching {selector}: {matched} of {total}") if selector else _("Devices: {matched} of {total}")
    ).format(**numbers)
    return {"text": text, "blocks": blocks[:MAX_BLOCKS]}
