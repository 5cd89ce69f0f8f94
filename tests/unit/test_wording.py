"""The words a person reads for each Control API failure (bot/slack/wording.py): which thing, what happened, what
to do — and the right thing to do for each."""

from __future__ import annotations

from bot.control.errors import ControlApiUnavailable, InvalidRequest, Unauthorized, UnexpectedAnswer
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


def test_a_lookup_that_fails_could_not_be_looked_up_not_done() -> None:
    """``status``/``list`` only read: an outage means the thing could not be *looked up* (issue #12, item 11)."""
    outage = ControlApiUnavailable("connection refused")
    read = explain(outage, what="operation `txn_1`", reading=True)
    assert "not answering right now (connection refused)" in read
    assert "operation `txn_1` could not be looked up" in read
    assert "could not be done" not in read and "Nothing was changed" not in read
    write = explain(outage, what="operation `txn_1`")
    assert "could not be done" in write and "Nothing was changed" in write, "an action keeps its words"
    for exc in (Unauthorized(status_code=401), Unauthorized(status_code=403), TimeoutError()):
        shown = explain(exc, what="the operation list", reading=True)
        assert "nothing was done" not in shown.lower() and "Nothing was changed" not in shown, shown


def test_an_answer_that_is_not_json_is_not_called_silence() -> None:
    """A 200 whose body is not JSON: the API answered, so it is not "not answering"."""
    garbled = UnexpectedAnswer("its answer (HTTP 200) is not valid JSON", status_code=200)
    shown = explain(garbled, what="operation `txn_1`", reading=True)
    assert "not answering" not in shown
    assert "answered, but not in a form the bot can use (its answer (HTTP 200) is not valid JSON)" in shown
    assert "operation `txn_1` could not be looked up" in shown
    lost = explain(UnexpectedAnswer("its answer to the create has no operation id", outcome_unknown=True))
    assert "stopped answering" not in lost and "may or may not have taken effect" in lost


def test_rate_limiting_is_not_silence_either() -> None:
    limited = ControlApiUnavailable("it is rate limiting us (HTTP 429)", status_code=429)
    shown = explain(limited, what="the operation list", reading=True)
    assert "not answering" not in shown and "HTTP 429" in shown
    assert "the operation list could not be looked up" in shown
