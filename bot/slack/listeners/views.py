"""Form submissions: the scheduling modal and the reason of a Reject.

A modal's submission is validated before its ack (``response_action: errors`` must travel in the ack); that is
pure CPU work with the person's zone already known, so it stays well inside Slack's 3 seconds. An uploaded CSV
of devices is the one exception: ``files.info`` and its download, one try, bounded by ``uploads.UPLOAD_TIMEOUT``.
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.ids import CHANNEL_ID
from bot.i18n import _
from bot.services.scheduling import FormErrors, NoApprovalChannel, ScheduleDraft, TimeMoved
from bot.slack.blocks import scheduling as sb
from bot.slack.blocks.common import neutralize
from bot.slack.deps import SlackDeps
from bot.slack.listeners.followup import follow_up, reject
from bot.slack.modal import as_dict, context_of, form_from_view, show_preview, typed_text
from bot.slack.operation_fields import error_blocks
from bot.slack.payloads import request_id_of, user_id_of
from bot.slack.respond import CLICK, guarded_dm
from bot.slack.uploads import UploadError, with_uploaded_serials


def register(app: AsyncApp) -> None:
    app.view(sb.SCHEDULE_MODAL)(handle_schedule_submit)
    app.view(sb.REJECT_MODAL)(handle_reject_submit)


async def handle_schedule_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, deps: SlackDeps
) -> None:
    user_id = user_id_of(body)
    meta = context_of(view)
    person = deps.directory.cached_person(user_id)
    tz = meta.tz or (person.tz if person else deps.settings.default_timezone)
    try:  # a CSV of devices uploaded in the form joins the typed serials
        form = await with_uploaded_serials(deps.web, form_from_view(view), view)
    except UploadError as exc:
        await ack(response_action="errors", errors={sb.FILE_BLOCK: neutralize(str(exc))[:1900]})
        deps.metrics.count("schedule_modal", "user_error")
        return
    try:
        draft = deps.scheduling.validate(form, tz=tz, locale=meta.locale, shown_at=meta.shown_for(form.when))
    except FormErrors as exc:
        errors = {k: neutralize(v)[:1900] for k, v in error_blocks(exc.errors, view, form.operation_type).items()}
        await ack(response_action="errors", errors=errors)
        if isinstance(exc, NoApprovalChannel):  # not the person's mistake: not counted as one
            return
        deps.metrics.count("schedule_modal", "user_error")
        if isinstance(exc, TimeMoved):  # the preview (and what the next Submit creates) become the new time
            moved = _("The time moved on since the last preview: Submit again to keep this one.")
            line = f"{exc.preview}\n:warning: {moved}"
            meta = meta.model_copy(update={"tz": tz})
            deps.tasks.spawn(show_preview(client, view, line, meta, form.when, exc.when))
        return
    await ack()
    deps.metrics.count("schedule_modal", "ok")
    team_id = str((body.get("team") or {}).get("id") or "")
    deps.tasks.spawn(guarded_dm(deps, user_id, submit_modal(deps, draft, user_id, team_id, meta.channel_id)))


async def submit_modal(deps: SlackDeps, draft: ScheduleDraft, user_id: str, team_id: str, channel: str | None) -> None:
    record = await deps.scheduling.open_request(
        draft, requester_id=user_id, team_id=team_id, origin_channel_id=channel, confirm_first=False
    )
    await follow_up(deps, record)


async def handle_reject_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], deps: SlackDeps) -> None:
    await ack()
    user_id = user_id_of(body)
    try:
        meta = as_dict(json.loads(view.get("private_metadata") or "{}"))
    except (json.JSONDecodeError, TypeError):
        meta = {}
    values = as_dict(as_dict(as_dict(view.get("state")).get("values")).get("reason"))
    reason = typed_text(as_dict(values.get("value")).get("value")).strip()[:500] or None
    channel = meta.get("channel_id")
    channel = channel if isinstance(channel, str) and CHANNEL_ID.match(channel) else None
    request_id = request_id_of({"value": meta.get("request_id")})
    deps.tasks.spawn(guarded_dm(deps, user_id, reject(deps, request_id, user_id, reason, channel), CLICK))
