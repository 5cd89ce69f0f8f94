"""The schedule modal's parameter fields (``OPERATIONS_FILE``): shown for the chosen type, read back on Submit,
and the errors put on the field they name.

Choosing a type dispatches an action (``dispatch_action`` on the type select); ``type_chosen`` then replaces the
parameter fields with the new type's by ``views.update``. Every other block keeps its ``block_id`` and
``action_id``, so Slack keeps what was typed in them (and the live preview's block and metadata are copied as
they are).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from bot.domain.ids import CONTROL_CHARACTERS
from bot.domain.operation_types import OperationType
from bot.services.operation_types import OperationRules
from bot.slack.blocks import operation_types as ob
from bot.slack.blocks import scheduling as sb

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.deps import SlackDeps

log = logging.getLogger("bot.slack.schedule")

_KEEP = ("type", "callback_id", "title", "submit", "close", "private_metadata", "blocks")
TYPE_BLOCK = sb.FIELD_BLOCKS["operation_type"]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return CONTROL_CHARACTERS.sub(" ", value) if isinstance(value, str) else None


def _field_value(state: dict[str, Any]) -> Any:
    """One parameter field's value as Slack sends it back: text as typed (``None`` when empty), the JSON of the
    chosen enum value, ``True``/``False`` for a checkbox."""
    kind = state.get("type")
    if kind == "checkboxes":
        selected = state.get("selected_options")
        return isinstance(selected, list) and any(_dict(o).get("value") == ob.CHECKED for o in selected)
    if kind == "static_select":
        raw = _dict(state.get("selected_option")).get("value")
        if not isinstance(raw, str):
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return _text(state.get("value"))


def read_parameter_fields(values: dict[str, Any], operation_type: str) -> dict[str, Any] | None:
    """The chosen type's parameter fields in ``state.values`` (name → value); ``None`` when the form has none."""
    prefix = ob.parameter_block_id(operation_type, "")
    found: dict[str, Any] = {}
    for block_id, actions in values.items():
        if isinstance(block_id, str) and operation_type and block_id.startswith(prefix):
            found[block_id[len(prefix) :]] = _field_value(_dict(_dict(actions).get(ob.ACTION_VALUE)))
    return found or None


def error_blocks(errors: dict[str, str], view: dict[str, Any], operation_type: str) -> dict[str, str]:
    """``FormErrors`` keys → the block_id of the field each names (``parameters.NAME`` → that parameter's field).

    A field the view does not show (a Submit before the new type's fields arrived) gets its error on the type
    select, so nothing is lost; a view without blocks (as tests send it) keeps every key as mapped.
    """
    present = {b.get("block_id") for b in view.get("blocks") or [] if isinstance(b, dict)}
    mapped: dict[str, str] = {}
    for key, message in errors.items():
        if key.startswith("parameters."):
            block = ob.parameter_block_id(operation_type, key.split(".", 1)[1])
        else:
            block = sb.FIELD_BLOCKS.get(key, key)
        if present and block not in present:
            block = TYPE_BLOCK
        mapped[block] = f"{mapped[block]} {message}" if block in mapped else message
    return mapped


def _is_parameter_block(block: dict[str, Any]) -> bool:
    block_id = str(block.get("block_id") or "")
    return block_id.startswith(ob.PARAM_BLOCK_PREFIX) or block_id == ob.ABOUT_BLOCK


def with_type(view: dict[str, Any], operation: OperationType | None) -> dict[str, Any]:
    """The same modal with ``operation``'s parameter fields in place of the ones it shows."""
    updated = {k: view[k] for k in _KEEP if k in view}
    blocks: list[dict[str, Any]] = []
    inserted = False
    for block in view.get("blocks") or []:
        if _is_parameter_block(block):
            if not inserted:
                blocks.extend(ob.parameter_blocks(operation))
                inserted = True
            continue
        blocks.append(block)
    if not inserted:  # a modal that showed none: after the type select
        at = next((i + 1 for i, b in enumerate(blocks) if b.get("block_id") == TYPE_BLOCK), len(blocks))
        blocks[at:at] = ob.parameter_blocks(operation)
    updated["blocks"] = blocks
    return updated


def shows_type(view: dict[str, Any], operation_type: str) -> bool:
    """Does ``view`` already show ``operation_type``'s fields (or its note)?"""
    prefix = ob.parameter_block_id(operation_type, "")
    return any(str(b.get("block_id") or "").startswith(prefix) for b in view.get("blocks") or [])


def modal_blocks(rules: OperationRules) -> list[dict[str, Any]] | None:
    """The parameter blocks of a new modal: ``None`` without a catalogue (the free ``parameters`` field)."""
    return None if rules.catalogue is None else ob.parameter_blocks(None)


def types_message(rules: OperationRules) -> dict[str, Any]:
    """``/headless types``: the catalogue's types and parameters, or ``OPERATION_TYPES`` with free parameters."""
    approval = {name: rules.approval_required(name) for name in rules.names}
    if rules.catalogue is None:
        return ob.free_types_message(rules.names, approval=approval)
    policy = {name: rules.window_policy(name).value for name in rules.names}
    return ob.types_message(rules.catalogue.types, approval=approval, policy=policy)


async def type_chosen(deps: SlackDeps, client: AsyncWebClient, body: dict[str, Any]) -> None:
    """The type select changed: show that type's parameter fields (``views.update``)."""
    view = _dict(body.get("view"))
    values = _dict(_dict(view.get("state")).get("values"))
    chosen = _dict(_dict(_dict(values.get(TYPE_BLOCK)).get("value")).get("selected_option")).get("value")
    actions = body.get("actions")
    if isinstance(actions, list) and actions:
        chosen = _dict(_dict(actions[0]).get("selected_option")).get("value", chosen)
    rules = deps.scheduling.rules
    operation = rules.get(chosen) if isinstance(chosen, str) else None
    if operation is None or not view.get("id") or shows_type(view, operation.name):
        return
    try:
        # No hash: a preview that landed meanwhile must not keep the fields of the type no longer chosen.
        await client.views_update(view_id=view.get("id"), view=with_type(view, operation))
    except Exception as exc:  # the modal was closed meanwhile
        log.info("views.update for the chosen type skipped: %s", type(exc).__name__)
        deps.metrics.count("schedule_modal", "slack_error")


__all__ = [
    "error_blocks",
    "modal_blocks",
    "read_parameter_fields",
    "shows_type",
    "type_chosen",
    "types_message",
    "with_type",
]
