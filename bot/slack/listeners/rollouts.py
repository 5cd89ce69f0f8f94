"""Rollouts in Slack: ``/headless rollout …`` (quick form → preview with Confirm), ``/headless rollouts``,
``/headless rollout status ID``, and the buttons of the rollout message (Approve, Reject, Promote, Pause, Resume,
Abort). Each handler acks at once; the work runs after, and its answer goes through ``respond``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.rollouts import RolloutState
from bot.i18n import N_, _
from bot.services.inputs import InputError
from bot.services.rollouts import RolloutDecision, RolloutsService, split_rollout_quick
from bot.services.schedule_form import FormErrors, NoApprovalChannel
from bot.slack.access import require_for
from bot.slack.blocks import rollout_modal as rm
from bot.slack.blocks import rollouts as rb
from bot.slack.blocks.common import escape, text_message
from bot.slack.deps import SlackDeps
from bot.slack.payloads import channel_of, user_id_of
from bot.slack.respond import CLICK, Respond, guarded, safe_respond
from bot.slack.rollout_modal import handle_rollout_submit, open_rollout_modal, rollout_live_preview
from bot.slack.wording import form_errors, rollout_refusal_text

log = logging.getLogger("bot.slack.rollouts")

#: The clicks whose access rule names the rollout's operation type (approve:<type>, rollout:<type>).
TYPED_CLICKS = {
    rb.ACTION_ROLLOUT_APPROVE: "approve", rb.ACTION_ROLLOUT_REJECT: "approve", rb.ACTION_ROLLOUT_CLONE: "rollout",
}  # fmt: skip
NOT_CONFIGURED = N_("Rollouts are not available in this process.")


def _not_configured() -> dict[str, Any]:
    return text_message(":information_source: " + _(NOT_CONFIGURED))


def register(app: AsyncApp) -> None:
    app.shortcut(rm.ROLLOUT_SHORTCUT)(handle_rollout_shortcut)
    app.action(rm.ACTION_ROLLOUT_WHEN)(handle_rollout_when)
    app.view(rm.ROLLOUT_MODAL)(handle_rollout_submit)
    app.action(rb.ACTION_ROLLOUT_CONFIRM)(handle_confirm)
    app.action(rb.ACTION_ROLLOUT_CANCEL)(handle_cancel)
    for action_id in (
        rb.ACTION_ROLLOUT_APPROVE, rb.ACTION_ROLLOUT_REJECT, rb.ACTION_ROLLOUT_PROMOTE, rb.ACTION_ROLLOUT_PAUSE,
        rb.ACTION_ROLLOUT_RESUME, rb.ACTION_ROLLOUT_ABORT, rb.ACTION_ROLLOUT_CLONE,
    ):  # fmt: skip
        app.action(action_id)(handle_approver_click)


async def handle_rollout_shortcut(
    ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, deps: SlackDeps
) -> None:
    """The "Start a rollout" shortcut: the rollout form."""
    await ack()
    deps.tasks.spawn(open_rollout_modal(deps, client, str(shortcut.get("trigger_id")), user_id_of(shortcut), None))


async def handle_rollout_when(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    await ack()
    deps.tasks.spawn(rollout_live_preview(deps, client, body))


def _service(deps: SlackDeps) -> RolloutsService | None:
    return deps.rollouts


# ---------------------------------------------------------------------------------------------- commands


async def quick_rollout(deps: SlackDeps, respond: Respond, body: dict[str, Any], args: tuple[str, ...]) -> None:
    """``/headless rollout TYPE TARGETS WHEN [options] [key=value …]``: checked, planned, stored as a draft, shown
    with Confirm."""
    service = _service(deps)
    if service is None:
        await safe_respond(respond, _not_configured())
        return
    user_id = user_id_of(body)
    try:
        form = split_rollout_quick(args)
    except InputError as exc:
        await safe_respond(respond, {"text": f":warning: {escape(exc)}"})
        return
    except FormErrors as exc:
        await safe_respond(respond, {"text": form_errors(exc.errors)})
        return
    person = await deps.directory.person(user_id)
    try:
        checked = await service.check(form, tz=person.tz, locale=person.locale)
    except NoApprovalChannel as exc:
        await safe_respond(respond, {"text": f":warning: {exc.TEXT}"})
        return
    except FormErrors as exc:
        await safe_respond(respond, {"text": form_errors(exc.errors)})
        deps.metrics.count("rollout", "user_error")
        return
    await service.open(
        checked, requester_id=user_id, team_id=str(body.get("team_id") or ""),
        origin_channel_id=body.get("channel_id"), at=deps.clock(),
    )  # fmt: skip
    await safe_respond(respond, rb.rollout_preview_message(checked))
    deps.metrics.count("rollout", "ok")


async def run_rollout_status(deps: SlackDeps, respond: Respond, rollout_id: str) -> None:
    service = _service(deps)
    record = await service.get(rollout_id) if service is not None else None
    if service is None or record is None:
        shown = _("No rollout {id}.").format(id=f"`{escape(rollout_id)}`")
        await safe_respond(respond, text_message(f":information_source: {shown}"))
        return
    await safe_respond(respond, rb.rollout_status_message(await service.view(record)))


async def run_rollouts(deps: SlackDeps, respond: Respond) -> None:
    service = _service(deps)
    if service is None:
        await safe_respond(respond, _not_configured())
        return
    views = [await service.view(record) for record in await service.list_recent()]
    await safe_respond(respond, rb.rollouts_list_message(views))


# ---------------------------------------------------------------------------------------------- buttons


def _rollout_id(action: dict[str, Any]) -> str:
    return str(action.get("value") or "")[:64]


async def handle_confirm(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: Respond, deps: SlackDeps
) -> None:
    await ack()
    deps.tasks.spawn(guarded(deps, respond, _requester_click(deps, body, action, respond, confirm=True), CLICK))


async def handle_cancel(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: Respond, deps: SlackDeps
) -> None:
    await ack()
    deps.tasks.spawn(guarded(deps, respond, _requester_click(deps, body, action, respond, confirm=False), CLICK))


async def _requester_click(
    deps: SlackDeps, body: dict[str, Any], action: dict[str, Any], respond: Respond, *, confirm: bool
) -> None:
    service = _service(deps)
    if service is None:
        return
    if confirm and (draft := await service.get(_rollout_id(action))) is not None:
        await require_for(deps, user_id_of(body), "rollout", draft.operation_type, channel_of(body))
    decide = service.confirm if confirm else service.cancel
    decision = await decide(_rollout_id(action), user_id_of(body))
    if not decision.won or decision.record is None:
        await safe_respond(respond, text_message(f":information_source: {rollout_refusal_text(decision)}"))
        return
    state = decision.record.state
    if state is RolloutState.CANCELLED:
        shown = ":no_entry_sign: " + _("Cancelled. No rollout was started.")
    elif state is RolloutState.PENDING_APPROVAL:
        channel = f"<#{deps.settings.approval_channel}>"
        shown = ":outbox_tray: " + _("Sent for approval in {channel}.").format(channel=channel)
    else:
        shown = ":rocket: " + _("Confirmed. The first wave is being created; the rollout message shows how it goes.")
    await safe_respond(respond, text_message(shown), replace_original=True, response_type=None)


async def handle_approver_click(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: Respond, deps: SlackDeps
) -> None:
    await ack()
    deps.tasks.spawn(guarded(deps, respond, _approver_click(deps, body, action, respond), CLICK))


async def _approver_click(deps: SlackDeps, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
    service = _service(deps)
    if service is None:
        return
    user_id = user_id_of(body)
    rollout_id = _rollout_id(action)
    action_id = str(action.get("action_id"))
    family = TYPED_CLICKS.get(action_id)  # the rest are checked by the access gate from the action id alone
    if family is not None and (record := await service.get(rollout_id)) is not None:
        await require_for(deps, user_id, family, record.operation_type, channel_of(body))
    is_approver = await deps.directory.is_approver(user_id, deps.settings.approvers)
    act: dict[str, Callable[[], Awaitable[RolloutDecision]]] = {
        rb.ACTION_ROLLOUT_APPROVE: lambda: service.decide(rollout_id, user_id, approve=True, is_approver=is_approver),
        rb.ACTION_ROLLOUT_REJECT: lambda: service.decide(rollout_id, user_id, approve=False, is_approver=is_approver),
        rb.ACTION_ROLLOUT_PROMOTE: lambda: service.promote(rollout_id, user_id, is_approver=is_approver),
        rb.ACTION_ROLLOUT_PAUSE: lambda: service.pause(rollout_id, user_id, is_approver=is_approver),
        rb.ACTION_ROLLOUT_RESUME: lambda: service.resume(rollout_id, user_id, is_approver=is_approver),
        rb.ACTION_ROLLOUT_ABORT: lambda: service.abort(rollout_id, user_id, is_approver=is_approver),
        rb.ACTION_ROLLOUT_CLONE: lambda: service.clone_remaining(rollout_id, user_id, is_approver=is_approver),
    }
    work = act.get(action_id)
    if work is None:
        return
    decision = await work()
    deps.metrics.count(f"rollout_{decision.action}", "ok" if decision.won else "refused")
    if not decision.won:
        await safe_respond(
            respond, text_message(f":information_source: {rollout_refusal_text(decision)}"), replace_original=False
        )
    elif decision.action == "clone" and decision.record is not None:
        text = _("The devices never reached are a new rollout request ({id}), waiting for approval in {channel}.")
        channel = f"<#{deps.settings.approval_channel}>"
        await deps.messenger.tell(user_id, ":recycle: " + text.format(id=f"`{decision.record.id}`", channel=channel))


__all__ = ["quick_rollout", "register", "run_rollout_status", "run_rollouts"]
