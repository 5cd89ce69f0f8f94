"""Block Kit limits, checked the way Slack checks them when a message or view arrives.

``block_kit_problems(payload, surface=...)`` is a pure function: it returns one human-readable line per broken
rule (``"blocks[3].text.text: 3012 chars (max 3000)"``) and an empty list when the payload is fine. The
explicit limits below are enforced here; ``slack_sdk.models`` validation is run as a second opinion on every
block the explicit rules found nothing wrong with, so a rule we forgot to write down is still caught.

Limits follow Slack's Block Kit reference (docs.slack.dev/reference/block-kit): a message carries at most 50
blocks, a modal or Home tab at most 100; a section's text at most 3000 characters; a header at most 150; a
button's text 75 and value 2000; ids at most 255; and so on (see the constants).
"""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

SURFACES = ("message", "modal", "home")

MAX_MESSAGE_TEXT = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_ATTACHMENTS = 100
MAX_ID = 255  # block_id, action_id, callback_id, external_id
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_SECTION_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_MARKDOWN_BLOCK_TEXT = 12_000
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_INPUT_LABEL = 2000
MAX_INPUT_HINT = 2000
MAX_IMAGE_URL = 3000
MAX_ALT_TEXT = 2000
MAX_IMAGE_TITLE = 2000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_ACCESSIBILITY_LABEL = 75
MAX_PLACEHOLDER = 150
MAX_SELECT_OPTIONS = 100
MAX_OPTION_GROUPS = 100
MAX_OPTION_GROUP_LABEL = 75
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTION_DESCRIPTION = 75
MAX_OVERFLOW_OPTIONS = 5
MAX_CHECKBOX_OPTIONS = 10
MAX_RADIO_OPTIONS = 10
MAX_TEXT_INPUT = 3000  # plain_text_input initial_value / min_length / max_length
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30
MAX_VIEW_TITLE = 24
MAX_VIEW_BUTTON = 24  # submit / close
MAX_PRIVATE_METADATA = 3000

KNOWN_BLOCKS = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
        "context_actions",
        "call",
    }
)
SELECTS = frozenset(
    {
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
    }
)
KNOWN_ELEMENTS = SELECTS | frozenset(
    {
        "button",
        "checkboxes",
        "datepicker",
        "datetimepicker",
        "email_text_input",
        "file_input",
        "image",
        "number_input",
        "overflow",
        "plain_text_input",
        "radio_buttons",
        "rich_text_input",
        "timepicker",
        "url_text_input",
        "workflow_button",
        "feedback_buttons",
        "icon_button",
    }
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}$")


def block_kit_problems(payload: dict[str, Any], *, surface: str, use_sdk: bool = True) -> list[str]:
    """Every Block Kit rule ``payload`` breaks, as readable lines; ``[]`` when it is fine.

    ``surface`` is ``"message"`` (a chat.postMessage / chat.update / response_url body: ``text``, ``blocks``,
    ``attachments``), ``"modal"`` or ``"home"`` (a view object).
    """
    if surface not in SURFACES:
        raise ValueError(f"surface must be one of {SURFACES}, not {surface!r}")
    checker = _Checker(use_sdk=use_sdk)
    if not isinstance(payload, dict):
        return [f"payload: expected an object, got {type(payload).__name__}"]
    if surface == "message":
        checker.message(payload)
    else:
        checker.view(payload, surface)
    return checker.problems


class _Checker:
    def __init__(self, *, use_sdk: bool) -> None:
        self.problems: list[str] = []
        self.use_sdk = use_sdk

    def add(self, path: str, problem: str) -> None:
        self.problems.append(f"{path}: {problem}")

    # -- surfaces

    def message(self, msg: dict[str, Any]) -> None:
        text = msg.get("text")
        if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
            self.add("text", f"{len(text)} chars (max {MAX_MESSAGE_TEXT})")
        blocks = msg.get("blocks")
        if blocks is not None:
            self.blocks(blocks, "blocks", MAX_MESSAGE_BLOCKS)
        attachments = msg.get("attachments")
        if attachments is not None:
            if not isinstance(attachments, list):
                self.add("attachments", "must be an array")
            else:
                if len(attachments) > MAX_ATTACHMENTS:
                    self.add("attachments", f"{len(attachments)} attachments (max {MAX_ATTACHMENTS})")
                for i, att in enumerate(attachments):
                    if isinstance(att, dict) and att.get("blocks") is not None:
                        self.blocks(att["blocks"], f"attachments[{i}].blocks", MAX_MESSAGE_BLOCKS)

    def view(self, view: dict[str, Any], surface: str) -> None:
        vtype = view.get("type")
        if vtype != surface:
            self.add("type", f"expected {surface!r}, got {vtype!r}")
        if surface == "modal":
            self.text(view.get("title"), "title", MAX_VIEW_TITLE, plain=True)
            for key in ("submit", "close"):
                if view.get(key) is not None:
                    self.text(view[key], key, MAX_VIEW_BUTTON, plain=True)
            blocks = view.get("blocks")
            if (
                isinstance(blocks, list)
                and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
                and view.get("submit") is None
            ):
                self.add("submit", "a modal with input blocks needs a submit button")
        self.max_len(view.get("private_metadata"), "private_metadata", MAX_PRIVATE_METADATA)
        self.max_len(view.get("callback_id"), "callback_id", MAX_ID)
        self.max_len(view.get("external_id"), "external_id", MAX_ID)
        if "blocks" not in view:
            self.add("blocks", "missing")
        else:
            self.blocks(view["blocks"], "blocks", MAX_VIEW_BLOCKS)

    # -- blocks

    def blocks(self, blocks: Any, path: str, limit: int) -> None:
        if not isinstance(blocks, list):
            self.add(path, "must be an array")
            return
        if len(blocks) > limit:
            self.add(path, f"{len(blocks)} blocks (max {limit})")
        seen: set[str] = set()
        for i, block in enumerate(blocks):
            bpath = f"{path}[{i}]"
            if not isinstance(block, dict):
                self.add(bpath, "must be an object")
                continue
            block_id = block.get("block_id")
            if block_id is not None:
                if block_id in seen:
                    self.add(f"{bpath}.block_id", f"duplicate block_id {block_id!r}")
                seen.add(block_id)
            before = len(self.problems)
            self.block(block, bpath)
            if self.use_sdk and len(self.problems) == before:
                self.sdk_block(block, bpath)

    def block(self, block: dict[str, Any], path: str) -> None:
        btype = block.get("type")
        if btype not in KNOWN_BLOCKS:
            self.add(f"{path}.type", f"unknown block type {btype!r}")
            return
        self.id(block.get("block_id"), f"{path}.block_id")
        handler = getattr(self, f"block_{btype}", None)
        if handler is not None:
            handler(block, path)

    def block_section(self, block: dict[str, Any], path: str) -> None:
        text, fields = block.get("text"), block.get("fields")
        if text is None and not fields:
            self.add(path, "a section needs text or fields")
        if text is not None:
            self.text(text, f"{path}.text", MAX_SECTION_TEXT)
        if fields is not None:
            if not isinstance(fields, list):
                self.add(f"{path}.fields", "must be an array")
            else:
                if len(fields) > MAX_SECTION_FIELDS:
                    self.add(f"{path}.fields", f"{len(fields)} fields (max {MAX_SECTION_FIELDS})")
                for i, field in enumerate(fields):
                    self.text(field, f"{path}.fields[{i}]", MAX_SECTION_FIELD_TEXT)
        if block.get("accessory") is not None:
            self.element(block["accessory"], f"{path}.accessory")

    def block_header(self, block: dict[str, Any], path: str) -> None:
        self.text(block.get("text"), f"{path}.text", MAX_HEADER_TEXT, plain=True)

    def block_markdown(self, block: dict[str, Any], path: str) -> None:
        text = block.get("text")
        if not isinstance(text, str) or not text:
            self.add(f"{path}.text", "a markdown block needs a non-empty string")
        else:
            self.max_len(text, f"{path}.text", MAX_MARKDOWN_BLOCK_TEXT)

    def block_divider(self, block: dict[str, Any], path: str) -> None:
        return

    def block_image(self, block: dict[str, Any], path: str) -> None:
        self.image(block, path)
        if block.get("title") is not None:
            self.text(block["title"], f"{path}.title", MAX_IMAGE_TITLE, plain=True)

    def block_context(self, block: dict[str, Any], path: str) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.add(f"{path}.elements", "a context block needs 1 or more elements")
            return
        if len(elements) > MAX_CONTEXT_ELEMENTS:
            self.add(f"{path}.elements", f"{len(elements)} elements (max {MAX_CONTEXT_ELEMENTS})")
        for i, element in enumerate(elements):
            epath = f"{path}.elements[{i}]"
            if isinstance(element, dict) and element.get("type") == "image":
                self.image(element, epath)
            else:
                self.text(element, epath, MAX_SECTION_TEXT)

    def block_actions(self, block: dict[str, Any], path: str) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.add(f"{path}.elements", "an actions block needs 1 or more elements")
            return
        if len(elements) > MAX_ACTIONS_ELEMENTS:
            self.add(f"{path}.elements", f"{len(elements)} elements (max {MAX_ACTIONS_ELEMENTS})")
        seen: set[str] = set()
        for i, element in enumerate(elements):
            epath = f"{path}.elements[{i}]"
            self.element(element, epath)
            action_id = element.get("action_id") if isinstance(element, dict) else None
            if action_id is not None:
                if action_id in seen:
                    self.add(f"{epath}.action_id", f"duplicate action_id {action_id!r} in the block")
                seen.add(action_id)

    def block_input(self, block: dict[str, Any], path: str) -> None:
        self.text(block.get("label"), f"{path}.label", MAX_INPUT_LABEL, plain=True)
        if block.get("hint") is not None:
            self.text(block["hint"], f"{path}.hint", MAX_INPUT_HINT, plain=True)
        if block.get("element") is None:
            self.add(f"{path}.element", "an input block needs an element")
        else:
            self.element(block["element"], f"{path}.element")

    def block_video(self, block: dict[str, Any], path: str) -> None:
        self.text(block.get("title"), f"{path}.title", 200, plain=True)
        self.max_len(block.get("alt_text"), f"{path}.alt_text", MAX_ALT_TEXT)

    # -- elements

    def element(self, element: Any, path: str) -> None:
        if not isinstance(element, dict):
            self.add(path, "must be an object")
            return
        etype = element.get("type")
        if etype not in KNOWN_ELEMENTS:
            self.add(f"{path}.type", f"unknown element type {etype!r}")
            return
        self.id(element.get("action_id"), f"{path}.action_id")
        if element.get("placeholder") is not None:
            self.text(element["placeholder"], f"{path}.placeholder", MAX_PLACEHOLDER, plain=True)
        if element.get("confirm") is not None:
            self.confirm(element["confirm"], f"{path}.confirm")
        if etype == "button":
            self.text(element.get("text"), f"{path}.text", MAX_BUTTON_TEXT, plain=True)
            self.max_len(element.get("value"), f"{path}.value", MAX_BUTTON_VALUE)
            self.max_len(element.get("url"), f"{path}.url", MAX_URL)
            self.max_len(element.get("accessibility_label"), f"{path}.accessibility_label", 75)
            style = element.get("style")
            if style is not None and style not in ("primary", "danger"):
                self.add(f"{path}.style", f"must be 'primary' or 'danger', got {style!r}")
        elif etype == "image":
            self.image(element, path)
        elif etype in SELECTS:
            self.select(element, path, etype)
        elif etype == "overflow":
            self.options(element.get("options"), f"{path}.options", MAX_OVERFLOW_OPTIONS, required=True)
        elif etype == "checkboxes":
            self.options(element.get("options"), f"{path}.options", MAX_CHECKBOX_OPTIONS, plain=False, required=True)
        elif etype == "radio_buttons":
            self.options(element.get("options"), f"{path}.options", MAX_RADIO_OPTIONS, plain=False, required=True)
        elif etype == "plain_text_input":
            self.text_input(element, path)
        elif etype == "file_input":
            self.file_input(element, path)
        elif etype == "datepicker":
            self.pattern(element.get("initial_date"), f"{path}.initial_date", _DATE, "YYYY-MM-DD")
        elif etype == "timepicker":
            self.pattern(element.get("initial_time"), f"{path}.initial_time", _TIME, "HH:mm")

    def select(self, element: dict[str, Any], path: str, etype: str) -> None:
        if etype not in ("static_select", "multi_static_select"):
            return
        options, groups = element.get("options"), element.get("option_groups")
        if options is None and groups is None:
            self.add(path, f"a {etype} needs options or option_groups")
        if options is not None and groups is not None:
            self.add(path, "options and option_groups are mutually exclusive")
        values: set[Any] = set()
        if options is not None:
            self.options(options, f"{path}.options", MAX_SELECT_OPTIONS, required=True)
            values |= {o.get("value") for o in options if isinstance(o, dict)} if isinstance(options, list) else set()
        if groups is not None:
            if not isinstance(groups, list) or not groups:
                self.add(f"{path}.option_groups", "must be a non-empty array")
            else:
                if len(groups) > MAX_OPTION_GROUPS:
                    self.add(f"{path}.option_groups", f"{len(groups)} groups (max {MAX_OPTION_GROUPS})")
                for i, group in enumerate(groups):
                    gpath = f"{path}.option_groups[{i}]"
                    if not isinstance(group, dict):
                        self.add(gpath, "must be an object")
                        continue
                    self.text(group.get("label"), f"{gpath}.label", MAX_OPTION_GROUP_LABEL, plain=True)
                    self.options(group.get("options"), f"{gpath}.options", MAX_SELECT_OPTIONS, required=True)
                    if isinstance(group.get("options"), list):
                        values |= {o.get("value") for o in group["options"] if isinstance(o, dict)}
        initial = element.get("initial_option")
        initials = [initial] if initial is not None else list(element.get("initial_options") or [])
        for i, opt in enumerate(initials):
            if isinstance(opt, dict) and values and opt.get("value") not in values:
                self.add(f"{path}.initial_option[{i}]", f"value {opt.get('value')!r} is not one of the options")

    def options(self, options: Any, path: str, limit: int, *, plain: bool = True, required: bool = False) -> None:
        if options is None:
            if required:
                self.add(path, "missing")
            return
        if not isinstance(options, list) or (required and not options):
            self.add(path, "must be a non-empty array")
            return
        if len(options) > limit:
            self.add(path, f"{len(options)} options (max {limit})")
        for i, opt in enumerate(options):
            opath = f"{path}[{i}]"
            if not isinstance(opt, dict):
                self.add(opath, "must be an object")
                continue
            self.text(opt.get("text"), f"{opath}.text", MAX_OPTION_TEXT, plain=plain)
            value = opt.get("value")
            if value is None:
                self.add(f"{opath}.value", "missing")
            else:
                self.max_len(value, f"{opath}.value", MAX_OPTION_VALUE)
            if opt.get("description") is not None:
                self.text(opt["description"], f"{opath}.description", MAX_OPTION_DESCRIPTION, plain=plain)
            self.max_len(opt.get("url"), f"{opath}.url", MAX_URL)

    def text_input(self, element: dict[str, Any], path: str) -> None:
        initial = element.get("initial_value")
        min_length, max_length = element.get("min_length"), element.get("max_length")
        for key, value in (("min_length", min_length), ("max_length", max_length)):
            if value is not None and (not isinstance(value, int) or not 0 <= value <= MAX_TEXT_INPUT):
                self.add(f"{path}.{key}", f"must be an integer 0..{MAX_TEXT_INPUT}, got {value!r}")
        if isinstance(min_length, int) and isinstance(max_length, int) and min_length > max_length:
            self.add(path, f"min_length {min_length} > max_length {max_length}")
        if initial is not None:
            if not isinstance(initial, str):
                self.add(f"{path}.initial_value", "must be a string")
            else:
                cap = max_length if isinstance(max_length, int) else MAX_TEXT_INPUT
                if len(initial) > min(cap, MAX_TEXT_INPUT):
                    self.add(f"{path}.initial_value", f"{len(initial)} chars (max {min(cap, MAX_TEXT_INPUT)})")

    def file_input(self, element: dict[str, Any], path: str) -> None:
        if not path.endswith(".element"):
            self.add(path, "a file_input only goes in an input block")
        max_files, kinds = element.get("max_files", 1), element.get("filetypes", ["csv"])
        if not isinstance(max_files, int) or not 1 <= max_files <= 10:
            self.add(f"{path}.max_files", f"must be an integer 1..10, got {max_files!r}")
        if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) and k and k[0] != "." for k in kinds):
            self.add(f"{path}.filetypes", f"must be extensions like 'csv', got {kinds!r}")

    def confirm(self, confirm: Any, path: str) -> None:
        if not isinstance(confirm, dict):
            self.add(path, "must be an object")
            return
        self.text(confirm.get("title"), f"{path}.title", MAX_CONFIRM_TITLE, plain=True)
        self.text(confirm.get("text"), f"{path}.text", MAX_CONFIRM_TEXT)
        self.text(confirm.get("confirm"), f"{path}.confirm", MAX_CONFIRM_BUTTON, plain=True)
        self.text(confirm.get("deny"), f"{path}.deny", MAX_CONFIRM_BUTTON, plain=True)

    def image(self, image: dict[str, Any], path: str) -> None:
        url, slack_file = image.get("image_url"), image.get("slack_file")
        if url is None and slack_file is None:
            self.add(path, "an image needs image_url or slack_file")
        self.max_len(url, f"{path}.image_url", MAX_IMAGE_URL)
        alt = image.get("alt_text")
        if not isinstance(alt, str) or not alt:
            self.add(f"{path}.alt_text", "an image needs alt_text")
        else:
            self.max_len(alt, f"{path}.alt_text", MAX_ALT_TEXT)

    # -- leaves

    def text(self, obj: Any, path: str, limit: int, *, plain: bool = False) -> None:
        if obj is None:
            self.add(path, "missing text object")
            return
        if not isinstance(obj, dict):
            self.add(path, f"must be a text object, got {type(obj).__name__}")
            return
        ttype = obj.get("type")
        if ttype not in ("plain_text", "mrkdwn"):
            self.add(f"{path}.type", f"must be 'plain_text' or 'mrkdwn', got {ttype!r}")
        elif plain and ttype != "plain_text":
            self.add(f"{path}.type", f"must be 'plain_text' here, got {ttype!r}")
        text = obj.get("text")
        if not isinstance(text, str):
            self.add(f"{path}.text", "missing or not a string")
            return
        if not text:
            self.add(f"{path}.text", "empty (min 1 char)")
        elif len(text) > limit:
            self.add(f"{path}.text", f"{len(text)} chars (max {limit})")

    def id(self, value: Any, path: str) -> None:
        if value is None:
            return
        if not isinstance(value, str) or not value:
            self.add(path, "must be a non-empty string")
        else:
            self.max_len(value, path, MAX_ID)

    def max_len(self, value: Any, path: str, limit: int) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            self.add(path, f"must be a string, got {type(value).__name__}")
        elif len(value) > limit:
            self.add(path, f"{len(value)} chars (max {limit})")

    def pattern(self, value: Any, path: str, regex: re.Pattern[str], form: str) -> None:
        if value is not None and (not isinstance(value, str) or not regex.match(value)):
            self.add(path, f"must look like {form}, got {value!r}")

    def sdk_block(self, block: dict[str, Any], path: str) -> None:
        try:
            parsed = Block.parse(block)
            if parsed is not None:
                parsed.validate_json()
        except SlackObjectFormationError as exc:
            self.add(path, f"slack_sdk: {exc}")
        except (TypeError, ValueError, KeyError, AttributeError) as exc:  # malformed beyond what slack_sdk expects
            self.add(path, f"slack_sdk could not parse the block: {exc!r}")
