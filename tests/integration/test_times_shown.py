"""How scheduled times read in Slack (issue #12, item 15): through the real HTTP endpoint and the Slack bench.

The UTC part of a time carries its own day when that is not the reader's day, and a person whose zone is UTC
is not shown the same time twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.simulator import DOCUMENTED_SERIAL
from tests.support.flows import approval_post, schedule_and_confirm
from tests.support.harness import Harness, bot_harness
from tests.support.slack_text import texts

UTC_PERSON = "U0UTCPERSON"


@pytest.fixture
def harness() -> Iterator[Harness]:
    with bot_harness(setup_bench=lambda bench: bench.add_user(UTC_PERSON, real_name="Uma Utc", tz="UTC")) as h:
        yield h
        h.bench.assert_no_violations()


def test_the_utc_suffix_carries_its_own_day(harness: Harness) -> None:
    # 04:00 UTC is 20:00 or 21:00 the evening before in Los Angeles (the requester's zone): the UTC part must say
    # which day it is on, since every reader sees their own day in the <!date> part
    day = (datetime.now(UTC) + timedelta(days=2)).date()
    when = datetime.combine(day, time(4, 0), tzinfo=UTC)
    request_id = schedule_and_confirm(harness, f"schedule {DOCUMENTED_SERIAL} reboot {day.isoformat()} 04:00 UTC")
    shown = texts(approval_post(harness, request_id).body)
    assert f"<!date^{int(when.timestamp())}^" in shown
    assert f"({when:%a} {when.day} {when:%b} 04:00 UTC)" in shown, shown


def test_a_utc_person_sees_utc_once_in_the_preview(harness: Harness) -> None:
    _, request = harness.command(f"schedule {DOCUMENTED_SERIAL} reboot in 3 hours", user_id=UTC_PERSON)
    (confirmation,) = harness.responses(request)
    shown = texts(confirmation)
    line = next(row for row in shown.splitlines() if row.startswith("*When*"))
    assert re.fullmatch(r"\*When\* \w{3} \d{1,2} \w{3} \d\d:\d\d UTC · in 3 h", line), line
