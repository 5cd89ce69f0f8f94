"""What people type for a schedule request → serials and parameters; and how the bot echoes it back.

Parameters (issue #12): ``key=value`` sends the text exactly as typed, ``true``/``false`` excepted (JSON booleans);
``key:=JSON`` sends a JSON value; quotes keep spaces. The modal's field and the quick form read them the same way.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.services.inputs import InputError, parse_parameters, parse_serials, split_quick_form
from bot.slack.blocks.common import escape, neutralize, parameters_text
from bot.slack.blocks.operations import operation_message
from bot.slack.blocks.scheduling import draft_details
from bot.slack.commands import ScheduleRequest, parse_command
from tests.support.slack_text import texts


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("target_version=1.10 pin=0042", {"target_version": "1.10", "pin": "0042"}),
        ("version=2.0\nbuild=007", {"version": "2.0", "build": "007"}),
        ("restart_required=true dry_run=false", {"restart_required": True, "dry_run": False}),
        ("a=True b=FALSE", {"a": True, "b": False}),
        ('a="true" b=\'false\'', {"a": "true", "b": "false"}),
        ("tag=null n=3 x=1e3", {"tag": "null", "n": "3", "x": "1e3"}),
        ('retries:=3 ratio:=1.10 tag:=null ok:=true pin:="0042"',
         {"retries": 3, "ratio": 1.1, "tag": None, "ok": True, "pin": "0042"}),
        ('limits:={"cpu": 2, "name": "a  b"} tags:=["x y", "z"]',
         {"limits": {"cpu": 2, "name": "a  b"}, "tags": ["x y", "z"]}),
        ('note="hello  world" other=\'a b\'', {"note": "hello  world", "other": "a b"}),
        ("note=“hello world” other=‘a b’ de=„gut so“", {"note": "hello world", "other": "a b", "de": "gut so"}),
        ('j:={“a”: “b c”}', {"j": {"a": "b c"}}),
        ("empty= next=1", {"empty": "", "next": "1"}),
        ("empty=", {"empty": ""}),
        ("query=a=b&c=d", {"query": "a=b&c=d"}),
        ("name=O'Brien url=https://example.com/x?y=1", {"name": "O'Brien", "url": "https://example.com/x?y=1"}),
        ("note=café emoji=🙂", {"note": "café", "emoji": "🙂"}),
        ("code=a`b", {"code": "a`b"}),
        ('{"config_profile": "production_v2", "restart_required": true}',
         {"config_profile": "production_v2", "restart_required": True}),
        ("", {}),
        ("  \n ", {}),
    ],
)  # fmt: skip
def test_parameters_are_sent_as_typed(typed: str, sent: dict[str, Any]) -> None:
    parsed = parse_parameters(typed)
    assert parsed == sent
    assert json.dumps(parsed) == json.dumps(sent), "types too: 3 is not '3', True is not 'true'"


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("retries:=", ["Parameter retries", "JSON value after :=", "retries:=3"]),
        ("retries:= 3", ["Parameter retries", "JSON value after :="]),
        ('limits:={"cpu": 2', ["Parameter limits", "not valid JSON"]),
        ("n:=3x", ["Parameter n", "not valid JSON"]),
        ("n:=NaN", ["Parameter n", "not valid JSON"]),
        ("n:=1e999", ["Parameter n", "too large"]),
        ("n:=" + "[" * 30 + "]" * 30, ["Parameter n", "nested"]),
        ('l:={"a": 1, "a": 2}', ["Parameter l", "twice"]),
        ("a=1 a=2", ["Parameter a is given twice"]),
        ('{"a": 1, "a": 2}', ["twice"]),
        ('{"a": 1} b=2', ["either one JSON object or key=value"]),
        ('b=2 {"a": 1}', ["either one JSON object or key=value"]),
        ('note="hello world', ["Parameter note", "never closed"]),
        ('note="a"b', ["Parameter note", "space after the closing quote"]),
        ("note=hello world", ["'world'", "parameter note", 'note="two words"']),
        ("no equals sign", ["'no'", "key=value", "key:=JSON"]),
        ("1x=2", ["'1x=2'", "key=value"]),
        ("k" * 70 + "=1", ["too long"]),
        ("[1, 2]", ["key=value"]),
    ],
)
def test_a_bad_parameter_is_named_and_explained(typed: str, words: list[str]) -> None:
    with pytest.raises(InputError) as caught:
        parse_parameters(typed)
    message = str(caught.value)
    for word in words:
        assert word in message, message


QUICK = "schedule SN123456789 firmware_update tomorrow 2pm ET"


@pytest.mark.parametrize(
    ("params", "sent"),
    [
        ("target_version=1.10 pin=0042", {"target_version": "1.10", "pin": "0042"}),
        ('note="hello  world" retries:=3', {"note": "hello  world", "retries": 3}),
        ("note=“hello world” tag:=null", {"note": "hello world", "tag": None}),  # a phone's quotes
        ('limits:={"cpu": 2, "name": "a  b"} ok=TRUE', {"limits": {"cpu": 2, "name": "a  b"}, "ok": True}),
        ('tags:=["x y", "z"]', {"tags": ["x y", "z"]}),
        ('{"a": "b  c", "n": 1}', {"a": "b  c", "n": 1}),
        ("url=<https://example.com/a?b=1> who=<@U123|alice> amp=a&amp;b", {"url": "https://example.com/a?b=1",
                                                                           "who": "@U123", "amp": "a&b"}),
    ],
)  # fmt: skip
def test_the_quick_form_keeps_parameters_as_typed(params: str, sent: dict[str, Any]) -> None:
    """Slack's text → words → the parameter reader: quotes, spaces inside them and ``:=`` JSON survive."""
    request = parse_command(f"{QUICK} {params}")
    assert isinstance(request, ScheduleRequest)
    serials, op_type, when, words = split_quick_form(request.args)
    assert (serials, op_type, when) == ("SN123456789", "firmware_update", "tomorrow 2pm ET")
    assert parse_parameters("\n".join(words)) == sent


@pytest.mark.parametrize("params", ["note=hello world", 'note="hello world', "retries:=", "x:=3x y=1", "-x=1", "9=1"])
def test_a_bad_quick_form_parameter_is_a_parameter_not_part_of_the_time(params: str) -> None:
    request = parse_command(f"{QUICK} {params}")
    assert isinstance(request, ScheduleRequest)
    _, _, when, words = split_quick_form(request.args)
    assert when == "tomorrow 2pm ET"
    with pytest.raises(InputError):
        parse_parameters("\n".join(words))


def test_quoted_phrases_elsewhere_still_lose_their_quotes() -> None:
    assert parse_command('schedule SN1 reboot "tomorrow  at 2am"') == ScheduleRequest(
        args=("SN1", "reboot", "tomorrow  at 2am")
    )
    with pytest.raises(InputError, match="Say when"):
        split_quick_form(("SN1", "reboot", "note=x"))


@pytest.mark.parametrize(
    ("typed", "serials"),
    [
        ("SN123456789,sn123456789", ["SN123456789"]),
        ("sn123456789 SN123456789\nSn123456789", ["sn123456789"]),
        ("SN1111, SN2222, sn1111, SN3333, sn2222", ["SN1111", "SN2222", "SN3333"]),
    ],
)
def test_serials_differing_only_by_case_are_one_device_sent_as_first_typed(typed: str, serials: list[str]) -> None:
    assert parse_serials(typed, limit=20) == serials


def test_case_duplicates_do_not_count_against_the_limit() -> None:
    assert parse_serials("SN1111 sn1111 SN2222", limit=2) == ["SN1111", "SN2222"]


# ----------------------------------------------------------------------------------------------- echoing back

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def test_echoes_neutralise_bidirectional_controls() -> None:
    for char in BIDI:
        assert char not in escape(f"abc{char}def") and "\ufffd" in escape(f"abc{char}def")
        assert char not in neutralize(f"abc{char}def")
    assert escape("<!channel> & `x`") == "&lt;!channel&gt; &amp; \u02cbx\u02cb"
    assert escape("👩‍👩‍👧 café") == "👩‍👩‍👧 café", "joiners and accents are not direction controls"


def test_parameters_show_their_json_type_and_text_as_text() -> None:
    shown = parameters_text({"v": "1.10", "pin": "0042", "n": 3, "ok": True, "tag": None, "note": "café"})
    assert shown == '`v="1.10"`, `pin="0042"`, `n=3`, `ok=true`, `tag=null`, `note="café"`'


def test_a_backtick_or_override_in_a_value_cannot_break_the_code_span() -> None:
    shown = parameters_text({"note": "a`b", "evil": "x\u202eyz", "ping": "<!channel>"})
    spans = shown.split(", ")
    assert all(span.count("`") == 2 and span.startswith("`") and span.endswith("`") for span in spans), shown
    assert "\u202e" not in shown and "<!channel>" not in shown


def test_status_shows_non_ascii_parameters_as_text() -> None:
    from datetime import UTC, datetime

    from bot.control.models import Operation

    op = Operation.model_validate(
        {"id": "txn_1", "device_serial": "SN123456789", "operation_type": "configuration_update",
         "status": "scheduled", "scheduled_time": datetime(2030, 1, 1, tzinfo=UTC).isoformat(),
         "parameters": {"note": "café ñandú", "v": "1.10", "n": 2}}
    )  # fmt: skip
    shown = texts(operation_message(op))
    assert '`note="café ñandú"`' in shown and '`v="1.10"`' in shown and "`n=2`" in shown
    assert "\\u00e9" not in shown


def test_the_preview_shows_types() -> None:
    from datetime import UTC, datetime

    from bot.services.scheduling import ScheduleDraft

    draft = ScheduleDraft(
        device_serials=["SN123456789"], operation_type="firmware_update",
        scheduled_time=datetime(2030, 1, 1, tzinfo=UTC), parameters=parse_parameters("target_version=1.10 pin=0042"),
        notify_channel_id=None, tz="UTC", preview="tomorrow", window_note=None, window_inside=None,
        approval_required=True,
    )  # fmt: skip
    assert '*Parameters* `target_version="1.10"`, `pin="0042"`' in draft_details(draft)
