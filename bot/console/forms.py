"""Modals as forms on a terminal: each input asked for in turn, the live preview shown as you type the time, the
submission sent as Slack sends it, and its inline errors sending you back to those fields."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Protocol

from bot.i18n import _
from bot.slackkit import SlackRequest

from .render import Renderer
from .slack import ConsoleSlack


class ConsoleSession(Protocol):
    """What a form needs of the session that shows it (``session.ConsoleSession`` is one; a protocol, so the two
    modules do not import each other)."""

    slack: ConsoleSlack
    renderer: Renderer
    user: str

    async def read(self, prompt: str) -> str | None: ...

    async def dispatch(self, request: SlackRequest) -> dict[str, Any] | None: ...

    async def settle(self, quiet: float = 0.4, limit: float = 15.0) -> None: ...


async def fill_form(session: ConsoleSession, view_id: str) -> None:
    """Ask for each input of the modal, show the live preview, submit; errors send you back to the field."""
    views, renderer = session.slack.workspace.views, session.renderer
    view = views[view_id]
    title = (view.get("title") or {}).get("text")
    if title is None:
        title = _("Form")
    renderer.note(f"── {title} ── " + _("(answer each field; empty keeps what it shows; '-' cancels)"), style="bold")
    for block in view.get("blocks", []):  # a note above the fields (a message shortcut's: what it found)
        if block.get("type") == "input":
            break
        if block.get("type") == "context":
            for element in block.get("elements") or []:
                renderer.note("  " + renderer.mrkdwn(str(element.get("text", ""))), style="")
    values: dict[str, dict[str, Any]] = {}
    pending = [b["block_id"] for b in _inputs(views[view_id])]
    while True:
        asked: set[str] = set()
        while (block := next((b for b in _inputs(views[view_id]) if b["block_id"] in pending
                              and b["block_id"] not in asked), None)) is not None:  # fmt: skip
            asked.add(block["block_id"])
            answer = await _ask(session, block)
            if answer is None:
                renderer.note(_("Form cancelled."), style="yellow")
                return
            values[block["block_id"]] = answer
            if block.get("dispatch_action") and (block.get("element") or {}).get("type") == "static_select":
                await _chosen(session, view_id, block, values)  # the form may change: new fields to ask
                shown = {b["block_id"] for b in _inputs(views[view_id])}
                values = {k: v for k, v in values.items() if k in shown}
                pending = [k for k in pending if k in shown] + [k for k in shown if k not in pending]
            elif block.get("dispatch_action"):
                await _preview(session, view_id, values)
        answer = await session.dispatch(session.slack.submit_form(view_id, values, session.user))
        await session.settle()
        errors = (answer or {}).get("errors") if (answer or {}).get("response_action") == "errors" else None
        if not errors:
            renderer.note("── " + _("{title}: submitted").format(title=title) + " ──", style="bold")
            return
        for block_id, message in errors.items():
            renderer.note(f"  ✗ {block_id}: {message}", style="red")
        pending = list(errors)


def _inputs(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in view.get("blocks", []) if b.get("type") == "input"]


async def _chosen(session: ConsoleSession, view_id: str, block: dict[str, Any], values: dict[str, Any]) -> None:
    """Send what Slack sends when a select with ``dispatch_action`` changes; the bot may update the form."""
    action_id = block["element"]["action_id"]
    selected = values[block["block_id"]][action_id]["selected_option"]
    request = session.slack.payloads.block_action(
        action_id, selected.get("value"), block_id=block["block_id"], action_type="static_select", view=view_id,
        state_values=values, selected_option=selected, user_id=session.user,
        user_name=session.slack.workspace.users[session.user].name,
    )  # fmt: skip
    await session.dispatch(request)
    await session.settle()


async def _ask(session: ConsoleSession, block: dict[str, Any]) -> dict[str, Any] | None:
    """One input's value, as ``state.values[block_id]`` holds it; ``None`` when the person cancels."""
    renderer = session.renderer
    element = block.get("element") or {}
    label = (block.get("label") or {}).get("text", block["block_id"])
    hint = (block.get("hint") or {}).get("text")
    optional = " " + _("(optional)") if block.get("optional") else ""
    if hint:
        renderer.note(f"  {hint}")
    if element.get("type") == "static_select":
        options = element.get("options") or []
        for index, option in enumerate(options, 1):
            renderer.note(f"    {index}. {option['text']['text']}", style="")
        while True:
            raw = await session.read(f"  {label}{optional} [1-{len(options)}]: ")
            if raw is None or raw.strip() == "-":
                return None
            choice = raw.strip()
            if not choice and element.get("initial_option"):  # as Slack submits a preselected option
                return {element["action_id"]: {"type": "static_select", "selected_option": element["initial_option"]}}
            if not choice and block.get("optional"):
                return {element["action_id"]: {"type": "static_select", "selected_option": None}}
            picked = next((o for i, o in enumerate(options, 1) if choice in (str(i), o["value"])), None)
            if picked is not None:
                return {element["action_id"]: {"type": "static_select", "selected_option": picked}}
            renderer.note("  " + _("Pick a number from the list."), style="yellow")
    if element.get("type") == "conversations_select":
        raw = await session.read(f"  {label}{optional} " + _("(#channel or empty)") + ": ")
        if raw is None or raw.strip() == "-":
            return None
        name = raw.strip().lstrip("#")
        channels = session.slack.workspace.channels
        channel = next((cid for cid, c in channels.items() if not c.is_im and name in (c.name, cid)), None)
        return {element["action_id"]: {"type": "conversations_select", "selected_conversation": channel}}
    if element.get("type") == "file_input":
        return await _ask_file(session, element, f"  {label}{optional} " + _("(path to a file, or empty)") + ": ")
    if element.get("type") == "checkboxes":
        raw = await session.read(f"  {label} [y/n]: ")
        if raw is None or raw.strip() == "-":
            return None
        chosen = (element.get("options") or [])[:1] if raw.strip().lower() in ("y", "yes", "true", "1") else []
        return {element["action_id"]: {"type": "checkboxes", "selected_options": chosen}}
    prefilled = str(element.get("initial_value") or "")
    shows = f" [{prefilled.replace(chr(10), ', ')}]" if prefilled else ""
    raw = await session.read(f"  {label}{optional}{shows}: ")
    if raw is None or raw.strip() == "-":
        return None
    value = raw.replace("\\n", "\n") or str(element.get("initial_value") or "")  # a prefilled field keeps its value
    kind = "number_input" if element.get("type") == "number_input" else "plain_text_input"
    return {element["action_id"]: {"type": kind, "value": value}}


async def _preview(session: ConsoleSession, view_id: str, values: dict[str, dict[str, Any]]) -> None:
    """Send what Slack sends as the time is typed, then show the preview the bot put into the modal."""
    views = session.slack.workspace.views
    when_block = next(b for b in views[view_id]["blocks"] if b.get("dispatch_action")
                      and (b.get("element") or {}).get("type") == "plain_text_input")  # fmt: skip
    block_id, action_id = when_block["block_id"], when_block["element"]["action_id"]
    await session.dispatch(session.slack.typed_in_form(view_id, block_id, action_id, values, session.user))
    await session.settle()
    for block in views[view_id].get("blocks", []):
        if str(block.get("block_id") or "").endswith("when_preview"):  # the schedule and the rollout forms
            for element in block.get("elements", []):
                session.renderer.note("  → " + session.renderer.mrkdwn(str(element.get("text", ""))), style="cyan")


async def _ask_file(session: ConsoleSession, element: dict[str, Any], prompt: str) -> dict[str, Any] | None:
    """A file from this machine, uploaded into the pretend workspace as through Slack's file picker."""
    while True:
        raw = await session.read(prompt)
        if raw is None or raw.strip() == "-":
            return None
        files: list[dict[str, Any]] = []
        if raw.strip():
            try:
                name, content = await asyncio.to_thread(_read_file, raw.strip())
            except OSError as exc:
                session.renderer.note(
                    "  "
                    + _("Cannot read {path}: {error}. Give another path.").format(
                        path=raw.strip(), error=exc.strerror or exc
                    )
                )
                continue
            files.append(session.slack.workspace.put_file(content, name=name, user=session.user))
        return {element["action_id"]: session.slack.workspace.file_input_value(*files)}


def _read_file(path: str) -> tuple[str, bytes]:
    file = Path(path).expanduser()
    return file.name, file.read_bytes()
