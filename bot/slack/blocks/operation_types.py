"""Block Kit for operation types: one modal field per parameter of the chosen type, and ``/headless types``.

Pure functions. A parameter's field: ``plain_text_input`` for text, ``number_input`` for numbers, ``static_select``
for an ``enum`` (each option's value is the JSON of the enum value, so ``3`` and ``"3"`` stay apart), ``checkboxes``
for a boolean (always optional: unchecked is false). Required fields are not optional (Slack itself asks for them)
and say "Required." in their hint; the description is the hint, the default the initial value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.domain.operation_types import OperationType, Parameter, describe_parameter, shown
from bot.i18n import N_, _
from bot.slack.blocks.common import Block, Message, context, escape, section, truncate

#: Every parameter field's block_id starts so: ``param:TYPE:NAME`` (a new type's fields are new blocks, so Slack
#: shows their defaults, not what another type's field of the same name held).
PARAM_BLOCK_PREFIX = "param:"
ABOUT_BLOCK = "operation_about"
ACTION_VALUE = "value"
CHECKED = "true"
CHOOSE_FIRST = N_("Choose an operation to see its parameters.")
MAX_SECTION = 2900


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:2000] or " ", "emoji": True}


def parameter_block_id(operation_type: str, name: str) -> str:
    return f"{PARAM_BLOCK_PREFIX}{operation_type}:{name}"


def option_value(value: Any) -> str:
    """An enum value as a select option carries it (its JSON)."""
    return json.dumps(value, ensure_ascii=False)[:150]


def _option(value: Any) -> dict[str, Any]:
    return {"text": _plain(shown(value)), "value": option_value(value)}


def _hint(parameter: Parameter) -> str:
    parts = [_("Required.") if parameter.required else ""]
    if parameter.description:
        parts.append(parameter.description)
    if parameter.example is not None:
        parts.append(_("Like {example}.").format(example=shown(parameter.example)))
    if "pattern" in parameter.schema and parameter.example is None:
        parts.append(_("Must match {pattern}.").format(pattern=parameter.schema["pattern"]))
    return " ".join(p for p in parts if p)


def _element(parameter: Parameter) -> dict[str, Any]:
    kind, default = parameter.kind, parameter.default
    element: dict[str, Any]
    if kind == "enum":
        element = {"type": "static_select", "options": [_option(v) for v in parameter.enum[:100]]}
        if parameter.has_default and default in parameter.enum:
            element["initial_option"] = _option(default)
        element["placeholder"] = _plain(_("Choose"))
    elif kind == "boolean":
        element = {"type": "checkboxes", "options": [{"text": _plain(parameter.name), "value": CHECKED}]}
        if default is True:
            element["initial_options"] = [{"text": _plain(parameter.name), "value": CHECKED}]
    elif kind in ("integer", "number"):
        element = {"type": "number_input", "is_decimal_allowed": kind == "number"}
        for key, slack_key in (("minimum", "min_value"), ("maximum", "max_value")):
            if isinstance(parameter.schema.get(key), int | float):
                element[slack_key] = str(parameter.schema[key])
        if isinstance(default, int | float) and not isinstance(default, bool):
            element["initial_value"] = str(default)
    else:
        element = {"type": "plain_text_input"}
        if isinstance(default, str) and default:
            element["initial_value"] = default
        if parameter.example is not None:
            element["placeholder"] = _plain(shown(parameter.example))
    return {**element, "action_id": ACTION_VALUE}


def parameter_field(operation_type: str, parameter: Parameter) -> Block:
    block: Block = {
        "type": "input",
        "block_id": parameter_block_id(operation_type, parameter.name),
        "optional": not parameter.required or parameter.kind == "boolean",
        "label": _plain(parameter.name.replace("_", " ")),
        "element": _element(parameter),
    }
    hint = _hint(parameter)
    if hint:
        block["hint"] = _plain(hint)
    return block


def parameter_blocks(operation: OperationType | None) -> list[Block]:
    """The modal's blocks for ``operation``'s parameters (a note when no type is chosen yet, or it has none)."""
    if operation is None:
        return [{"type": "context", "block_id": ABOUT_BLOCK, "elements": [{"type": "mrkdwn", "text": _(CHOOSE_FIRST)}]}]
    about = escape(operation.description) if operation.description else f"*{escape(operation.name)}*"
    if not operation.parameters:
        about += " " + _("No parameters.")
    note: Block = {"type": "context", "block_id": ABOUT_BLOCK, "elements": [{"type": "mrkdwn", "text": about[:2900]}]}
    return [note, *(parameter_field(operation.name, p) for p in operation.parameters[:40])]


def types_message(types: Sequence[OperationType], *, approval: dict[str, bool], policy: dict[str, str]) -> Message:
    """``/headless types``: each type, its approval and window policy, and its parameters."""
    lines = [":gear: " + _("*Operation types*")]
    for operation in types:
        facts = [_("needs approval") if approval.get(operation.name) else _("no approval")]
        facts.append(_("window policy {policy}").format(policy=policy.get(operation.name, "warn")))
        description = f" — {escape(operation.description)}" if operation.description else ""
        lines.append(f"*{escape(operation.name)}*{description} ({', '.join(facts)})")
        if not operation.parameters:
            lines.append("    " + _("no parameters"))
        for parameter in operation.parameters:
            details = describe_parameter(parameter).removeprefix(parameter.name)
            lines.append(f"    • `{escape(parameter.name)}`{escape(details)}")
    text = truncate("\n".join(lines), MAX_SECTION)
    return {
        "text": _("Operation types"),
        "blocks": [
            section(text),
            context(_("Schedule one with `/headless schedule` (the form shows each parameter).")),
        ],
    }


def free_types_message(names: Sequence[str], *, approval: dict[str, bool]) -> Message:
    """``/headless types`` without ``OPERATIONS_FILE``: the names, and that parameters are free."""
    listed = ", ".join(
        _("{name} (needs approval)").format(name=f"`{escape(name)}`") if approval.get(name) else f"`{escape(name)}`"
        for name in names
    )
    text = ":gear: " + _(
        "*Operation types*: {listed}.\nParameters are free: `key=value` (text) or `key:=JSON`, e.g. "
        "`/headless schedule SN123456789 firmware_update tomorrow 2am target_version=1.10.2`. "
        "Set `OPERATIONS_FILE` to describe each type's parameters."
    ).format(listed=listed)
    return {"text": _("Operation types"), "blocks": [section(truncate(text, MAX_SECTION))]}


__all__ = [
    "ABOUT_BLOCK",
    "CHECKED",
    "PARAM_BLOCK_PREFIX",
    "free_types_message",
    "option_value",
    "parameter_block_id",
    "parameter_blocks",
    "parameter_field",
    "types_message",
]
