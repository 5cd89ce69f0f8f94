"""The rollout form on Slack: open it (``/headless rollout`` alone, the "Start a rollout" shortcut), its live
preview, and its submission — the form's values read back into the quick form's words, so both share one reader and
one set of rules; each problem goes inline on its field.

Submit stores a draft and shows its preview (N, the waves, the abort rule…) with Confirm/Cancel, as the quick form
does: the form shows only the time, so the person confirms the plan before approvers see it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.access import place_of
from bot.domain.people import Person
from bot.domain.rollouts import RolloutOptionError, split_rollout_options
from bot.i18n import N_, _
from bot.services.rollouts import RolloutForm
from bot.services.schedule_form import FormErrors, NoApprovalChannel
from bot.slack.blocks import rollout_modal as rm
from bot.slack.blocks import rollouts as rb
from bot.slack.blocks.common import neutralize
from bot.slack.deps import SlackDeps
from bot.slack.modal import ModalContext, as_dict, context_of, typed_text, zone_note
from bot.slack.payloads import user_id_of
from bot.slack.respond import guarded_dm
from bot.slack.web import POST

log = logging.getLogger("bot.slack.rollouts")

TYPE_WHEN = N_("Type when the first wave starts, e.g. “tomorrow 2am”, “02:00 device-local”, “next window”.")


def _values(view: dict[str, Any]) -> dict[str, Any]:
    return as_dict(as_dict(view.get("state")).get("values"))


def _field(view: dict[str, Any], block: str, action: str = "value") -> dict[str, Any]:
    return as_dict(as_dict(_values(view).get(block)).get(action))


def _chosen(view: dict[str, Any]) -> str:
    """The operation type chosen in the form ("" when none yet)."""
    return typed_text(as_dict(_field(view, rm.FIELDS["operation_type"]).get("selected_option")).get("value"))


def form_words(view: dict[str, Any]) -> tuple[RolloutForm | None, dict[str, str]]:
    """The form as the quick form would read it: the ``RolloutForm``, or the problems per block."""
    words = []
    gate = typed_text(as_dict(_field(view, rm.GATE_FIELD).get("selected_option")).get("value"))
    if gate:
        words.append(f"gate={gate}")
    for name, _label, _hint in rm.OPTION_FIELDS:
        value = typed_text(_field(view, rm.option_block(name)).get("value")).strip()
        if value:
            words.append(f"{name}={value}")
    try:
        options, _rest = split_rollout_options(words)
    except RolloutOptionError as exc:
        problems = exc.problems or ((exc.field, exc.message),)
        return None, {rm.option_block(name) if name != "gate" else rm.GATE_FIELD: msg for name, msg in problems}
    form = RolloutForm(
        operation_type=_chosen(view),
        targets=typed_text(_field(view, rm.FIELDS["serials"]).get("value")),
        when=typed_text(_field(view, rm.FIELDS["when"], rm.ACTION_ROLLOUT_WHEN).get("value")),
        parameters=typed_text(_field(view, rm.FIELDS["parameters"]).get("value")),
        options=options,
    )  # fmt: skip
    return form, {}


def _block_of(key: str) -> str:
    """The field a ``FormErrors`` key belongs to: a form field, an option's field, or else the operation's."""
    options = {name for name, _label, _hint in rm.OPTION_FIELDS}
    return rm.FIELDS.get(key) or (rm.option_block(key) if key in options else rm.FIELDS["operation_type"])


def rollout_modal_view(deps: SlackDeps, meta: ModalContext, person: Person, types: Sequence[str]) -> dict[str, Any]:
    """The form, offering ``types``: the operation types the person may roll out where it was opened."""
    return rm.rollout_modal(
        list(types), preview=_(TYPE_WHEN), private_metadata=meta.model_dump_json(),
        zone_note=zone_note(person),
    )  # fmt: skip


async def open_rollout_modal(
    deps: SlackDeps, client: AsyncWebClient, trigger_id: str, user_id: str, channel_id: str | None
) -> None:
    """Open at once (trigger ids live 3 s), with the person's zone when it is known."""
    person = deps.directory.cached_person(user_id) or await deps.directory.person(user_id)
    meta = ModalContext(channel_id=channel_id, tz=person.tz, locale=person.locale)
    types = await deps.access.allowed_types(user_id, "rollout", place_of(channel_id))
    try:
        await client.views_open(trigger_id=trigger_id, view=rollout_modal_view(deps, meta, person, types))
        deps.metrics.count("rollout", "modal")
    except Exception as exc:  # an expired trigger or Slack down: the person can run the command again
        log.warning("views.open (rollout) failed: %s", type(exc).__name__)
        text = _("I could not open the rollout form; try {command} again.").format(command="`/headless rollout`")
        await deps.messenger.tell(user_id, text)


async def rollout_live_preview(deps: SlackDeps, client: AsyncWebClient, body: dict[str, Any]) -> None:
    """The line under "When": what the text means, in the devices' zones when it is device-local."""
    view = body.get("view") or {}
    meta = context_of(view)
    when = typed_text(_field(view, rm.FIELDS["when"], rm.ACTION_ROLLOUT_WHEN).get("value"))
    targets = typed_text(_field(view, rm.FIELDS["serials"]).get("value"))
    kind = _chosen(view)
    shown = deps.scheduling.preview_at(
        when, tz=meta.tz or deps.settings.default_timezone, locale=meta.locale, operation_type=kind, serials=targets
    )
    try:
        await client.views_update(
            view_id=view.get("id"), hash=view.get("hash"), view=rm.with_rollout_preview(view, shown.line)
        )
    except Exception as exc:  # hash_conflict: a newer keystroke's preview wins
        log.debug("rollout preview update skipped: %s", type(exc).__name__)


async def handle_rollout_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], deps: SlackDeps) -> None:
    user_id = user_id_of(body)
    service = deps.rollouts
    if service is None:
        errors = {rm.FIELDS["operation_type"]: _("Rollouts are not available here.")}
        await ack(response_action="errors", errors=errors)
        return
    form, problems = form_words(view)
    meta = context_of(view)
    person = deps.directory.cached_person(user_id)
    tz = meta.tz or (person.tz if person else deps.settings.default_timezone)
    checked = None
    if form is not None:
        try:
            checked = await service.check(form, tz=tz, locale=meta.locale)
        except NoApprovalChannel as exc:
            problems = {rm.FIELDS["operation_type"]: exc.TEXT}
        except FormErrors as exc:
            problems = {_block_of(k): v for k, v in exc.errors.items()}
    if checked is None:
        await ack(response_action="errors", errors={k: neutralize(v)[:1900] for k, v in problems.items()})
        deps.metrics.count("rollout_modal", "user_error")
        return
    await ack()
    deps.metrics.count("rollout_modal", "ok")
    team_id = str((body.get("team") or {}).get("id") or "")

    async def submit() -> None:
        await service.open(
            checked, requester_id=user_id, team_id=team_id, origin_channel_id=meta.channel_id, at=deps.clock()
        )
        await show_preview(deps, user_id, meta.channel_id, rb.rollout_preview_message(checked))

    deps.tasks.spawn(guarded_dm(deps, user_id, submit()))


async def show_preview(deps: SlackDeps, user_id: str, channel_id: str | None, message: dict[str, Any]) -> None:
    """The draft's preview with Confirm/Cancel, as the quick form shows it: to the person only, in the channel the
    command came from, or as a direct message (the shortcut, or a channel the bot cannot post in)."""
    if channel_id:
        result = await deps.web.call("chat_postEphemeral", POST, channel=channel_id, user=user_id, **message)
        if result.ok:
            return
        log.info("rollout preview not posted in %s (%s): sent as a direct message", channel_id, result.error)
    await deps.messenger.post(user_id, message)  # logged when Slack refuses; the draft expires unconfirmed


__all__ = ["handle_rollout_submit", "open_rollout_modal", "rollout_live_preview", "show_preview"]
