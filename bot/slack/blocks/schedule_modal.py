"""Block Kit of the scheduling forms: the schedule modal (its fields, its live preview) and the reason of a Reject.

Pure functions; the ids they use (``SCHEDULE_MODAL``, ``FIELD_BLOCKS``…) are ``bot.slack.blocks.scheduling``'s.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.i18n import _
from bot.slack.blocks.common import Block, escape
from bot.slack.blocks.scheduling import (
    ACTION_WHEN,
    FIELD_BLOCKS,
    FILE_ACTION,
    FILE_BLOCK,
    REJECT_MODAL,
    SCHEDULE_MODAL,
    UPLOAD_LIMIT_MB,
)


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _devices_fields(max_serials: int, selectors: bool, initial: str = "") -> list[Block]:
    """The Devices field (serials, or selectors with an inventory) and the CSV upload beside it."""
    hint = (
        _(
            "Serials (one per line or comma-separated), globs like SN1234*, or site:NAME, tag:NAME, zone:IANA; "
            "+ means and, a comma or ; means or: site:san-jose+tag:gateway. Up to {max} devices. "
            "Or upload a CSV below."
        )
        if selectors
        else _("One per line or comma-separated, up to {max}. Example: SN123456789. Or upload a CSV below.")
    ).format(max=f"{max_serials:,}")
    return [
        {
            "type": "input",
            "block_id": FIELD_BLOCKS["serials"],
            "optional": True,  # or a CSV below: the bot says so when both are empty
            "label": _plain(_("Devices") if selectors else _("Device serial(s)")),
            "hint": _plain(hint),
            "element": {
                "type": "plain_text_input",
                "action_id": "value",
                "multiline": True,
                "placeholder": _plain("SN123456789"),
                **({"initial_value": initial[:3000]} if initial else {}),
            },
        },
        {
            "type": "input",
            "block_id": FILE_BLOCK,
            "optional": True,
            "label": _plain(_("…or upload a CSV of devices")),
            "hint": _plain(
                _(
                    "Only the serial column is required (a header line naming it); other columns are ignored. "
                    "Up to {limit} MB. Typed serials and the file's are both used."
                ).format(limit=UPLOAD_LIMIT_MB)
            ),
            "element": {"type": "file_input", "action_id": FILE_ACTION, "filetypes": ["csv", "txt"], "max_files": 1},
        },
    ]


def schedule_modal(
    operation_types: Sequence[str],
    *,
    preview: str,
    private_metadata: str,
    max_serials: int,
    zone_note: str,
    selectors: bool = False,
    parameter_blocks: Sequence[Block] | None = None,
    initial_serials: str = "",
    note: str | None = None,
) -> dict[str, Any]:
    """The scheduling form. ``when`` dispatches an action as the person types, for the live preview.

    ``selectors``: there is an inventory, so the devices field takes selectors too. ``parameter_blocks``
    (``OPERATIONS_FILE``): shown instead of the free ``parameters`` field, and the type select dispatches an action
    when it changes (the chosen type's fields replace them). ``initial_serials``: the devices field prefilled (a
    message shortcut's serials); ``note``: a line above the form (already safe mrkdwn)."""
    options = [{"text": _plain(t.replace("_", " ")), "value": t} for t in operation_types[:100]]
    blocks: list[Block] = [
        *(
            [{"type": "context", "block_id": "form_note", "elements": [{"type": "mrkdwn", "text": note[:2900]}]}]
            if note
            else []
        ),
        *_devices_fields(max_serials, selectors, initial_serials),
        {
            "type": "input",
            "block_id": FIELD_BLOCKS["operation_type"],
            "label": _plain(_("Operation")),
            "element": {
                "type": "static_select",
                "action_id": "value",
                "placeholder": _plain(_("Choose an operation")),
                "options": options,
            },
        },
        {
            "type": "input",
            "block_id": FIELD_BLOCKS["when"],
            "label": _plain(_("When")),
            "hint": _plain(
                _("{zone_note} Also: “in 3 hours”, “next window”, “2026-03-07 02:00 UTC”.").format(zone_note=zone_note)
            ),
            "dispatch_action": True,
            "element": {
                "type": "plain_text_input",
                "action_id": ACTION_WHEN,
                "placeholder": _plain(_("tomorrow at 2am")),
                "dispatch_action_config": {"trigger_actions_on": ["on_character_entered", "on_enter_pressed"]},
            },
        },
        {"type": "context", "block_id": "when_preview", "elements": [{"type": "mrkdwn", "text": escape(preview)}]},
        {
            "type": "input",
            "block_id": FIELD_BLOCKS["parameters"],
            "optional": True,
            "label": _plain(_("Parameters")),
            "hint": _plain(
                _(
                    "key=value sends text as typed (true/false are booleans), key:=JSON a JSON value (retries:=3, "
                    'tag:=null); quote a value with spaces: note="two words". Or a JSON object like '
                    '{{"config_profile": "production_v2"}}'
                ).format()
            ),
            "element": {"type": "plain_text_input", "action_id": "value", "multiline": True},
        },
        {
            "type": "input",
            "block_id": FIELD_BLOCKS["notify_channel_id"],
            "optional": True,
            "label": _plain(_("Post status updates in")),
            "element": {
                "type": "conversations_select",
                "action_id": "value",
                "placeholder": _plain(_("A channel (optional)")),
                "filter": {"include": ["public", "private"], "exclude_bot_users": True},
            },
        },
    ]
    if parameter_blocks is not None:
        at = next(i for i, b in enumerate(blocks) if b["block_id"] == FIELD_BLOCKS["parameters"])
        blocks[at : at + 1] = list(parameter_blocks)
        kind = next(i for i, b in enumerate(blocks) if b["block_id"] == FIELD_BLOCKS["operation_type"])
        blocks[kind] = {**blocks[kind], "dispatch_action": True}  # the type select
    return {
        "type": "modal",
        "callback_id": SCHEDULE_MODAL,
        "title": _plain(_("Schedule an operation")),
        "submit": _plain(_("Submit")),
        "close": _plain(_("Cancel")),
        "private_metadata": private_metadata[:3000],
        "blocks": blocks,
    }


def with_preview(view: dict[str, Any], preview: str) -> dict[str, Any]:
    """The same modal with a new preview line (Slack keeps what was typed when block ids do not change)."""
    keep = ("type", "callback_id", "title", "submit", "close", "private_metadata", "blocks")
    updated = {k: view[k] for k in keep if k in view}
    blocks = []
    for block in view.get("blocks", []):
        if block.get("block_id") == "when_preview":
            block = {**block, "elements": [{"type": "mrkdwn", "text": escape(preview)}]}
        blocks.append(block)
    updated["blocks"] = blocks
    return updated


def reject_modal(request_id: str, channel_id: str | None, message_ts: str | None) -> dict[str, Any]:
    metadata = json.dumps({"request_id": request_id, "channel_id": channel_id, "ts": message_ts})
    return {
        "type": "modal",
        "callback_id": REJECT_MODAL,
        "title": _plain(_("Reject request")),
        "submit": _plain(_("Reject")),
        "close": _plain(_("Back")),
        "private_metadata": metadata,
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "optional": True,
                "label": _plain(_("Reason (optional, shown to the requester)")),
                "element": {"type": "plain_text_input", "action_id": "value", "multiline": True, "max_length": 500},
            }
        ],
    }
