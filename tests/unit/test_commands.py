"""/headless text → typed requests: Slack's escapes, smart quotes, typos."""

from __future__ import annotations

import pytest

from bot.slack.commands import (
    AuditRequest,
    HelpRequest,
    InvalidRequest,
    ListRequest,
    RefreshRequest,
    ScheduleRequest,
    StatusRequest,
    UnknownRequest,
    UnwatchRequest,
    WatchRequest,
    normalize,
    parse_command,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", HelpRequest()),
        ("   ", HelpRequest()),
        ("help", HelpRequest()),
        ("HELP schedule", HelpRequest(topic="schedule")),
        ("list", ListRequest()),
        ("  list   SN123456789  ", ListRequest(serial="SN123456789")),
        ("list status=failed", ListRequest(status="failed")),
        ("list SN123456789 status=In_Progress", ListRequest(serial="SN123456789", status="in_progress")),
        ("ls", ListRequest()),
        ("status txn_12345", StatusRequest(operation_id="txn_12345")),
        ("Status  txn_12345", StatusRequest(operation_id="txn_12345")),
        ("refresh txn_67890", RefreshRequest(operation_id="txn_67890")),
        ("watch txn_1 <#C0123ABCD|ops>", WatchRequest(operation_id="txn_1", channel_id="C0123ABCD")),
        ("watch txn_1", WatchRequest(operation_id="txn_1")),
        ("unwatch txn_1 #C0123ABCD", UnwatchRequest(operation_id="txn_1", channel_id="C0123ABCD")),
        ("audit", AuditRequest()),
        ("audit SN123456789", AuditRequest(subject="SN123456789")),
        (
            "schedule SN123456789 reboot “tomorrow at 2am”",
            ScheduleRequest(args=("SN123456789", "reboot", "tomorrow at 2am")),
        ),
        ("stauts txn_1", UnknownRequest(word="stauts", suggestion="status")),
        ("lsit", UnknownRequest(word="lsit", suggestion="list")),
        ("frobnicate", UnknownRequest(word="frobnicate", suggestion=None)),
    ],
)
def test_parse(text: str, expected: object) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    "text",
    ["status", "status 12345", "status txn_1 txn_2", "refresh", "list a b", "list status=", "list foo=bar",
     "watch", "watch txn_1 ops", "audit a b"],
)  # fmt: skip
def test_invalid_arguments_say_what_to_type(text: str) -> None:
    request = parse_command(text)
    assert isinstance(request, InvalidRequest)
    assert "`/headless" in request.problem or "#" in request.problem or "at most" in request.problem


def test_a_typed_channel_is_read_by_the_same_rule_as_everywhere() -> None:
    """``#C…`` in a command is checked with ``bot.domain.ids.CHANNEL_ID`` (it was a looser copy of it)."""
    longest = "C" + "A" * 63
    assert parse_command(f"watch txn_1 #{longest}") == WatchRequest(operation_id="txn_1", channel_id=longest)
    assert parse_command(f"unwatch txn_1 {longest}") == UnwatchRequest(operation_id="txn_1", channel_id=longest)
    assert isinstance(parse_command(f"watch txn_1 #{longest}A"), InvalidRequest)
    assert isinstance(parse_command("watch txn_1 ##C0123ABCD"), InvalidRequest)


def test_normalize_slack_escapes() -> None:
    assert normalize("list <@U123ABC|alice> &lt;b&gt; &amp;") == "list @U123ABC <b> &"
    assert normalize("x\u00a0\u00a0y\t\nz") == "x y z"
    assert normalize("see <https://example.com|site>") == "see site"
    assert normalize("ping <!subteam^S123|@oncall>") == "ping @S123"
