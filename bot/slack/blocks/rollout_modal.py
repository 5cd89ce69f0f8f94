"""The rollout form (``/headless rollout`` alone, or the "Start a rollout" shortcut). Pure, no I/O.

Each option is a field prefilled with its default, read back into the quick form's words (``option=value``) so the
form and the quick form share one reader (``split_rollout_options``) and one set of rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain.rollouts import RolloutOptions, option_words
from bot.i18n import N_, _
from bot.slack.blocks.common import Block, escape

ROLLOUT_MODAL = "rollout_modal"
ROLLOUT_SHORTCUT = "start_rollout"
ACTION_ROLLOUT_WHEN = "rollout_when_input"
WHEN_PREVIEW = "rollout_when_preview"

#: block_id of each field; the form's problems (``FormErrors`` keys, option names) map onto them.
FIELDS = {"operation_type": "rollout_type", "serials": "rollout_targets", "when": "rollout_when",
          "parameters": "rollout_parameters"}  # fmt: skip
#: The options, in the form's order: (option name, label, hint); label and hint said with ``_`` when rendered.
OPTION_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("waves", N_("Waves (cumulative %)"), N_("Strictly increasing, the last 100, at most 10: 1,10,50,100")),
    ("soak", N_("Soak after each wave"), N_("How long to wait after a wave passed: 30m, 2h, 1h30m, 0")),
    ("failure_threshold", N_("Failure threshold"),
     N_("Abort at this failure rate among executed operations: 10%, 0%")),
    ("min_executed", N_("Minimum executed before judging"), N_("A whole number; clamped to the number of devices")),
    ("max_failures", N_("Maximum failures"), N_("Also abort when failures reach this number")),
    ("rate", N_("Creation rate"), N_("Operations created per minute, second or hour: 60/min, 2/s")),
    ("op_timeout", N_("Operation timeout"), N_("Not final this long after its time counts as a failure: 60m, 2h")),
)  # fmt: skip
GATE_FIELD = "rollout_gate"


def option_block(name: str) -> str:
    return f"rollout_option_{name}"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _text_input(block_id: str, label: str, *, hint: str = "", initial: str = "", optional: bool = False,
                multiline: bool = False, action_id: str = "value") -> Block:  # fmt: skip
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": action_id, "multiline": multiline}
    if initial:
        element["initial_value"] = initial
    block: Block = {"type": "input", "block_id": block_id, "label": _plain(label), "optional": optional,
                    "element": element}  # fmt: skip
    if hint:
        block["hint"] = _plain(hint[:150])
    return block


def rollout_modal(
    operation_types: Sequence[str], *, preview: str, private_metadata: str, zone_note: str
) -> dict[str, Any]:
    """The form: type, targets, when (a live preview as the person types), the options, the parameters."""
    defaults = dict(word.split("=", 1) for word in option_words(RolloutOptions(), every=True))
    defaults.pop("max_failures", None)  # optional: empty means none
    hint = _("{zone_note} Also: “02:00 device-local”, “next window”.").format(zone_note=zone_note)
    when = _text_input(FIELDS["when"], _("When (the first wave)"), hint=hint, action_id=ACTION_ROLLOUT_WHEN)
    when["dispatch_action"] = True
    when["element"]["dispatch_action_config"] = {"trigger_actions_on": ["on_character_entered", "on_enter_pressed"]}
    blocks: list[Block] = [
        {
            "type": "input",
            "block_id": FIELDS["operation_type"],
            "label": _plain(_("Operation")),
            "element": {
                "type": "static_select",
                "action_id": "value",
                "placeholder": _plain(_("Choose an operation")),
                "options": [{"text": _plain(t.replace("_", " ")), "value": t} for t in operation_types[:100]],
            },
        },
        _text_input(
            FIELDS["serials"],
            _("Devices"),
            multiline=True,
            hint=_("Serials, globs like SN1234*, or site:NAME, tag:NAME, zone:IANA; + means and, a comma or."),
        ),
        when,
        {"type": "context", "block_id": WHEN_PREVIEW, "elements": [{"type": "mrkdwn", "text": escape(preview)}]},
        {
            "type": "input",
            "block_id": GATE_FIELD,
            "label": _plain(_("Gate between waves")),
            "element": {
                "type": "static_select",
                "action_id": "value",
                "initial_option": {"text": _plain(_("auto: after the soak")), "value": "auto"},
                "options": [
                    {"text": _plain(_("auto: after the soak")), "value": "auto"},
                    {"text": _plain(_("manual: an approver promotes")), "value": "manual"},
                ],
            },
        },
    ]
    for name, label, hint in OPTION_FIELDS:
        blocks.append(
            _text_input(option_block(name), _(label), hint=_(hint), initial=defaults.get(name, ""), optional=True)
        )
    blocks.append(
        _text_input(FIELDS["parameters"], _("Parameters"), optional=True, multiline=True,
                    hint=_('key=value, key:=JSON, or a JSON object: target_version=1.10 note="two words"'))
    )  # fmt: skip
    return {
        "type": "modal", "callback_id": ROLLOUT_MODAL, "title": _plain(_("Start a rollout")),
        "submit": _plain(_("Submit")), "close": _plain(_("Cancel")), "private_metadata": private_metadata[:3000],
        "blocks": blocks,
    }  # fmt: skip


def with_rollout_preview(view: dict[str, Any], preview: str) -> dict[str, Any]:
    """The same form with a new preview line (Slack keeps what was typed when block ids do not change)."""
    keep = ("type", "callback_id", "title", "submit", "close", "private_metadata", "blocks")
    updated = {k: view[k] for k in keep if k in view}
    updated["blocks"] = [
        {**b, "elements": [{"type": "mrkdwn", "text": escape(preview)}]} if b.get("block_id") == WHEN_PREVIEW else b
        for b in view.get("blocks", [])
    ]
    return updated


__all__ = [
    "ACTION_ROLLOUT_WHEN", "FIELDS", "GATE_FIELD", "OPTION_FIELDS", "ROLLOUT_MODAL", "ROLLOUT_SHORTCUT",
    "WHEN_PREVIEW", "option_block", "rollout_modal", "with_rollout_preview",
]  # fmt: skip
