"""The one place that turns errors into the words a person reads in Slack.

Every message says which thing it is about, what happened, and what to do next. Details (status codes, reasons)
go to the log; secrets go nowhere.
"""

from __future__ import annotations

from bot.control.errors import (
    ControlApiError,
    ControlApiUnavailable,
    DeviceNotFound,
    InvalidRequest,
    OperationNotFound,
    Unauthorized,
    UnexpectedAnswer,
)
from bot.domain.ids import USER_ID
from bot.slack.blocks import escape
from bot.store.errors import StoreUnavailable


def explain(exc: BaseException, *, what: str = "the request", reading: bool = False) -> str:
    """A mrkdwn sentence or two for ``exc``; ``what`` names the subject (already escaped by the caller).

    ``reading``: the request only looked something up (list, status, refresh, audit), so a failure means it "could
    not be looked up", not that something "could not be done" (and there is no point saying nothing changed).
    """
    failed = "could not be looked up" if reading else "could not be done"
    later = "Try again in a few minutes." if reading else "Nothing was changed; try again in a few minutes."
    if isinstance(exc, OperationNotFound):
        return (
            f":mag: No operation `{escape(exc.operation_id)}` in the Control API. "
            "Check the id (it looks like `txn_12345`), or find it with `/headless list`."
        )
    if isinstance(exc, DeviceNotFound):
        return (
            f":mag: Device serial `{escape(exc.device_serial)}` is not in the inventory. "
            "Check the serial on the device label or in the inventory, then schedule again."
        )
    if isinstance(exc, InvalidRequest):
        detail = escape(exc.detail).rstrip(". ")
        return f":warning: The Control API refused {what}: {detail}. Fix it and try again."
    if isinstance(exc, Unauthorized):
        problem = (
            "accepted the bot's token but does not allow it this action"
            if exc.status_code == 403
            else "rejected the bot's token"
        )
        outcome = f"{what} {failed}" if reading else f"nothing was done for {what}"
        fix = (
            "Ask an admin to grant the token's account that permission."
            if exc.status_code == 403
            else "Ask an admin to check `CONTROL_API_TOKEN`."
        )
        return f":lock: The Control API {problem}, so {outcome}. {fix}"
    if isinstance(exc, UnexpectedAnswer) and exc.outcome_unknown:
        return (
            f":warning: The Control API's answer to {what} was not in a form the bot can use ({escape(exc.reason)}). "
            "It may or may not have taken effect: check with `/headless list` before trying again."
        )
    if isinstance(exc, UnexpectedAnswer):
        return (
            f":warning: The Control API answered, but not in a form the bot can use ({escape(exc.reason)}), so "
            f"{what} {failed}. {later} If it keeps happening, tell an admin."
        )
    if isinstance(exc, ControlApiUnavailable) and exc.status_code == 429:
        return (
            f":hourglass: The Control API is turning the bot's requests away for now (too many, HTTP 429), so {what} "
            f"{failed}. {later}"
        )
    if isinstance(exc, ControlApiUnavailable) and exc.outcome_unknown:
        return (
            f":electric_plug: The Control API stopped answering in the middle of {what} ({escape(exc.reason)}). "
            "It may or may not have taken effect: check with `/headless list` before trying again."
        )
    if isinstance(exc, ControlApiUnavailable):
        return (
            f":electric_plug: The Control API is not answering right now ({escape(exc.reason)}), so {what} "
            f"{failed}. {later}"
        )
    if isinstance(exc, ControlApiError):
        return f":warning: The Control API could not handle {what}: {escape(str(exc))}."
    if isinstance(exc, StoreUnavailable):
        return (
            f":floppy_disk: The bot cannot reach its database right now, so {what} {failed}. "
            "Try again in a minute; if it keeps happening, tell an admin."
        )
    if isinstance(exc, TimeoutError):
        return f":hourglass: The Control API took too long to answer for {what}. {later}"
    return f":warning: Something went wrong with {what}. It has been logged; try again, or ask an admin."


#: Slack's answers to a post when the bot is not in the channel (a private one it was never invited to is "not found").
NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found"})


def cannot_post_in(channel: str, error: str, *, subject: str, bot_user_id: str | None) -> str:
    """Why ``channel`` cannot follow ``subject`` (already escaped): the bot's post there failed with ``error``
    (Slack's error code, ``ratelimited``, ``http_<status>`` or ``unreachable``). Nothing was set up."""
    where = f"<#{channel}>"
    bot = f"<@{bot_user_id}>" if bot_user_id and USER_ID.match(bot_user_id) else "the bot"
    if error in NOT_A_MEMBER and channel.startswith("D"):
        return (
            f":no_entry_sign: I can't post in this conversation, so it cannot follow {subject}. Name a channel I am "
            "in instead, like `/headless watch TXN_ID #ops`. Nothing was set up."
        )
    if error in NOT_A_MEMBER:
        return (
            f":no_entry_sign: I can't post in {where}, so it cannot follow {subject}. Invite {bot} to {where} first "
            "(`/invite` in that channel), then run the command again. Nothing was set up."
        )
    if error in ("is_archived", "channel_is_archived"):
        return (
            f":no_entry_sign: {where} is archived, so it cannot follow {subject}. Pick another channel. "
            "Nothing was set up."
        )
    if error in ("ratelimited", "unreachable") or error.startswith("http_5"):
        return (
            f":hourglass: Slack did not take my message in {where} just now, so it cannot follow {subject} yet. "
            "Nothing was set up; try again in a minute."
        )
    return (
        f":no_entry_sign: Slack does not let me post in {where} (`{escape(error)}`), so it cannot follow {subject}. "
        "Pick another channel, or ask a Slack admin. Nothing was set up."
    )
