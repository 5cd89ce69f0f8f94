"""The words a person reads for each Control API failure (bot/slack/wording.py): which thing, what happened, what
to do — and the right thing to do for each."""

from __future__ import annotations

from bot.control.errors import InvalidRequest, Unauthorized
from bot.slack.wording import explain


def test_a_rejected_token_and_a_missing_permission_are_told_apart() -> None:
    rejected = explain(Unauthorized(status_code=401), what="operation `txn_1`")
    forbidden = explain(Unauthorized(status_code=403), what="operation `txn_1`")
    assert "rejected the bot's token" in rejected and "CONTROL_API_TOKEN" in rejected
    assert "does not allow it this action" in forbidden and "permission" in forbidden
    assert "rejected" not in forbidden, "a 403 is not a bad token: replacing the token would not help"
    assert "operation `txn_1`" in rejected and "operation `txn_1`" in forbidden


def test_the_apis_own_reason_is_quoted_once_with_one_full_stop() -> None:
    shown = explain(InvalidRequest("scheduled_time must be in the future."), what="the request")
    assert "scheduled_time must be in the future. Fix it and try again." in shown
    assert ".." not in shown
