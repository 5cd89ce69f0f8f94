"""Hostile and broken input, through the real HTTP endpoint: property-based over slash-command text, modal values
and interactive payloads, plus forged, stale and replayed requests, crafted approvals and edited button values.

Whatever arrives: never a 5xx, never an exception or a stack trace in anything the bot sends, never a mention the
person typed (``<!channel>``, ``<!here>``, ``<@U…>``, ``<!subteam^S…>``, ``<#C…>``, links) repeated unescaped in a
message, always a helpful reply, and every message inside Block Kit's limits. One bot (and one database) serves the
whole module, so the properties run many examples quickly.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.domain.requests import RequestState
from bot.simulator import DOCUMENTED_SERIAL
from bot.slackkit import SlackRequest
from tests.support.acks import ACK_BUDGET
from tests.support.flows import buttons, db, wait_until
from tests.support.harness import (
    APPROVAL_CHANNEL,
    APPROVER,
    OUTSIDER,
    REQUESTER,
    SIGNING_SECRET,
    Harness,
    bot_harness,
)
from tests.support.slack_text import texts

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

# What a person may type to ping people or smuggle a link through the bot.
INJECTIONS = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!channel|channel>",
    "<!here|@here>",
    "<@U0EVIL>",
    "<@U0EVIL|boss>",
    "<#C0EVIL>",
    "<#C0EVIL|general>",
    "<!subteam^S0EVIL>",
    "<!subteam^S0EVIL|@oncall>",
    "<https://evil.example/x|click me>",
    "<mailto:a@evil.example|mail>",
    "&lt;!channel&gt;",
    "&lt;@U0EVIL&gt;",
]
# Any of these in something the bot sent means a typed mention or link went through unescaped.
RAW_INJECTION = re.compile(
    r"<!(?:channel|here|everyone)\b|<@U0EVIL|<#C0EVIL|<!subteam\^S0EVIL|<https://evil\.example|<mailto:a@evil"
)
LEAKS = re.compile(
    r"Traceback|Exception\b|[A-Z][a-zA-Z]+Error\b|File \"|line \d+, in |sqlalchemy|asyncpg|pydantic|httpx|slack_sdk"
)
ODD = [
    "\x00", "\x07", "\x1b[31m", "\u202e", "\ufeff", "\u200b", "\ud7ff", "🙂", "👩‍👩‍👧", "\r\n", "\t", "‘quoted’",
    "“double”", "&amp;", "&lt;", "&gt;", "&", "<", ">", "*bold*", "_it_", "`code`", "```", "~s~", "> quote", "\\",
    "%s", "{}", "{0}", "%(x)s", "$(id)", "'; DROP TABLE schedule_requests; --", "../../etc/passwd", "null", "NaN",
]  # fmt: skip
JSONISH = [
    '{"a": [1, {"b": null}]}', "[]", "{}", '"', '{"', "[[[[[[[[[[", '{"serial": "<!channel>", "offset": 5}',
    '{"offset": -1}', '{"offset": 1e309}', '{"__proto__": {"admin": true}}', "true", "1e999", '"\\u0000"',
]  # fmt: skip


def huge(piece: str, size: int = 100_000) -> str:
    return (piece * (size // max(1, len(piece)) + 1))[:size]


def words() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(INJECTIONS),
        st.sampled_from(ODD),
        st.sampled_from(JSONISH),
        st.text(max_size=24),
        st.integers().map(str),
    )


def hostile_text() -> st.SearchStrategy[str]:
    """Unicode, control characters, mentions, mrkdwn, JSON, and now and then 100 kB of it."""
    small = st.lists(words(), max_size=8).map(" ".join)
    big = st.sampled_from([*INJECTIONS[:6], "a", "é", "🙂 ", "&<>", "\x00"]).map(huge)
    return st.one_of(small, small, small, big)


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def h(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    database_url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('hostile') / 'bot.sqlite3'}"
    with bot_harness(database_url=database_url) as harness:
        harness.database_url = database_url  # type: ignore[attr-defined]
        harness.scanned = (0, 0)  # type: ignore[attr-defined]
        yield harness


@pytest.fixture(autouse=True)
def _everything_sent_is_safe(h: Harness) -> Iterator[None]:
    yield
    time.sleep(0.1)  # let background answers land
    scan(h)
    h.bench.assert_no_violations()
    assert h.get("/healthz").status_code == 200


# ------------------------------------------------------------------------------------------------- checks


def scan(h: Harness) -> None:
    """Every Web API call and response_url post since the last scan: no raw mention, no leaked exception."""
    calls, responses = h.bench.calls, h.bench.responses
    seen_calls, seen_responses = h.scanned  # type: ignore[attr-defined]
    for call in calls[seen_calls:]:
        if call.method in ("users.info", "usergroups.users.list", "auth.test"):
            continue
        shown = {k: v for k, v in call.body.items() if k not in ADDRESSES}
        check_sent(json.dumps(shown, ensure_ascii=False), where=call.method)
    for response in responses[seen_responses:]:
        check_sent(json.dumps(response.body, ensure_ascii=False), where="response_url")
    h.scanned = (len(calls), len(responses))  # type: ignore[attr-defined]
    h.bench.assert_no_violations()


ADDRESSES = frozenset({"channel", "user", "users", "ts", "view_id", "trigger_id", "hash"})  # where, not what


def check_sent(text: str, *, where: str) -> None:
    found = RAW_INJECTION.search(text)
    assert found is None, f"an unescaped {found.group(0)!r} in what the bot sent ({where}): {text[:500]}"
    leak = LEAKS.search(text)
    assert leak is None, f"{leak.group(0)!r} reached Slack ({where}): {text[:500]}"


def check_message(message: dict[str, Any], *, where: str) -> None:
    """A message the bot answered with: helpful (it says something), safe, within limits."""
    shown = texts(message)
    assert shown.strip(), f"an empty answer ({where}): {message}"
    check_sent(json.dumps(message, ensure_ascii=False), where=where)
    assert len(message.get("blocks") or []) <= 50


def timed_send(h: Harness, request: SlackRequest) -> Any:
    started = time.monotonic()
    response = h.sender.send(request)
    took = time.monotonic() - started
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert took < ACK_BUDGET, f"the ack took {took:.2f} s"
    if '"response_action"' in response.text:
        # A modal's inline errors are plain text (Slack shows ``<!channel>`` there literally; it pings nobody),
        # so only the leak check applies.
        leak = LEAKS.search(response.text)
        assert leak is None, f"{leak.group(0)!r} reached Slack (modal errors): {response.text[:500]}"
    else:
        check_sent(response.text, where="the ack")
    return response


def answered(h: Harness, request: SlackRequest, timeout: float = 8.0) -> list[Any]:
    """The response_url answers to ``request`` (at least one), or the modal it opened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = h.bench.responses_for(request.response_key) if request.response_key else []
        if found:
            time.sleep(0.05)
            return h.bench.responses_for(request.response_key)
        opened = [c for c in h.bench.calls_to("views.open") if c.body.get("trigger_id") == request.trigger_id]
        if opened:
            return opened
        time.sleep(0.02)
    raise AssertionError(f"no answer to {request.kind} {str(request.payload)[:300]}")


def rebuild(request: SlackRequest, payload: dict[str, Any]) -> SlackRequest:
    """``request`` with a different payload (fields removed or retyped), encoded as Slack would."""
    if request.kind == "slash_command":
        return SlackRequest(request.kind, urlencode(payload).encode(), request.content_type, payload)
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
    return SlackRequest(request.kind, body, request.content_type, payload)


def requests_and_audit(h: Harness) -> tuple[int, int]:
    async def count(store: Any) -> tuple[int, int]:
        return len(await store.list_requests(limit=100_000)), len(await store.recent_audit(limit=100_000))

    return db(h.database_url, count)  # type: ignore[attr-defined]


def record(h: Harness, request_id: str) -> Any:
    return db(h.database_url, lambda s: s.get_request(request_id))  # type: ignore[attr-defined]


def pending_request(h: Harness, *, user_id: str, when: str = "tomorrow at 2am") -> tuple[str, str]:
    """A request by ``user_id`` confirmed and posted for approval: (request id, approval message ts)."""
    request = h.sender.slash_command(f"schedule {DOCUMENTED_SERIAL} reboot {when}", user_id=user_id)
    h.sender.send(request)
    (confirmation,) = h.responses(request)
    request_id = buttons(confirmation)["Confirm"]["value"]
    click = h.sender.block_action("schedule_confirm", request_id, block_id="confirm_actions", user_id=user_id,
                                  is_ephemeral=True, response_url=request.response_url)  # fmt: skip
    h.sender.send(click)
    post = wait_until(
        lambda: [c for c in h.bench.calls_to("chat.postMessage")
                 if c.ok and c.body["channel"] == APPROVAL_CHANNEL and request_id in json.dumps(c.body)],
        what="the approval message",
    )[-1]  # fmt: skip
    return request_id, post.response["ts"]


def draft_request(h: Harness, *, user_id: str) -> tuple[str, Any]:
    """A quick-form request by ``user_id`` awaiting its Confirm: (request id, the command request)."""
    request = h.sender.slash_command(f"schedule {DOCUMENTED_SERIAL} diagnostics in 3 hours", user_id=user_id)
    h.sender.send(request)
    (confirmation,) = h.responses(request)
    return buttons(confirmation)["Confirm"]["value"], request


# ------------------------------------------------------------------------------------- slash-command text

PREFIXES = [
    "", "list ", "status ", "refresh ", "schedule ", f"schedule {DOCUMENTED_SERIAL} reboot ",
    f"schedule {DOCUMENTED_SERIAL} ", "schedule SN123456789 reboot tomorrow at 2am ", "audit ", "help ", "stauts ",
    "LIST ", "ls ",
]  # fmt: skip


@PROPERTY
@given(prefix=st.sampled_from(PREFIXES), text=hostile_text())
def test_any_command_text_gets_a_safe_helpful_answer(h: Harness, prefix: str, text: str) -> None:
    request = h.sender.slash_command(prefix + text)
    response = timed_send(h, request)
    assert response.status_code == 200
    if response.text:
        check_message(response.json(), where="the ack")
    else:
        for answer in answered(h, request):
            if hasattr(answer, "key"):
                check_message(answer.body, where="response_url")
    scan(h)


def test_mentions_typed_in_a_command_are_never_repeated_raw(h: Harness) -> None:
    """Deterministic companions of the property: each injection, where each subcommand echoes text."""
    for injection in INJECTIONS:
        for text in (
            injection,
            f"list {injection}",
            f"audit {injection}",
            f"schedule {injection} reboot tomorrow at 2am",
            f"schedule {DOCUMENTED_SERIAL} {injection} tomorrow at 2am",
            f"schedule {DOCUMENTED_SERIAL} reboot {injection}",
            f"schedule {DOCUMENTED_SERIAL} reboot tomorrow at 2am note={injection}",
        ):
            request = h.sender.slash_command(text, user_id=APPROVER)
            response = timed_send(h, request)
            if response.text:
                check_message(response.json(), where=text)
            else:
                for answer in answered(h, request):
                    check_message(answer.body, where=text)
    scan(h)


@pytest.mark.parametrize(
    "text",
    [f"watch txn_1 {x}" for x in ("<!channel>", "<#C0EVIL|x><!here>", "#<!here>", "C0EVIL>", "<@U0EVIL>")]
    + [f"unwatch txn_1 {x}" for x in ("<!channel>", "<!subteam^S0EVIL>", "#C0EVIL&gt;&lt;!here")],
)
def test_watch_channel_argument_cannot_smuggle_a_mention(h: Harness, text: str) -> None:
    request = h.sender.slash_command(text)
    _no_mention_in_answer(h, request)


@pytest.mark.parametrize("channel_id", ["C1><!channel", "<!here>", "C0EVIL|x><!everyone"])
def test_a_crafted_channel_field_cannot_smuggle_a_mention(h: Harness, channel_id: str) -> None:
    _no_mention_in_answer(h, h.sender.slash_command("unwatch txn_1", channel_id=channel_id))


def test_a_crafted_user_id_cannot_smuggle_a_mention_into_the_approval_message(h: Harness) -> None:
    """The requester's id is repeated as ``<@…>`` on the approval message, the DMs and the outcome."""
    request_id, _ = pending_request(h, user_id="W1><!channel")
    wait_until(lambda: record(h, request_id).approval_ts, what="the approval message")
    scan(h)


def _no_mention_in_answer(h: Harness, request: SlackRequest) -> None:
    response = timed_send(h, request)
    shown = json.dumps(response.json() if response.text else [a.body for a in answered(h, request)])
    assert "<!here>" not in shown and "<!channel>" not in shown and "<!subteam" not in shown, shown


# -------------------------------------------------------------------------------------------- modal values

VALID_SERIALS = [DOCUMENTED_SERIAL, f"{DOCUMENTED_SERIAL}\nSN000000001"]
MODAL_BLOCKS = {"serials", "operation_type", "when", "parameters", "notify_channel"}


def text_entry(value: Any) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


@st.composite
def modal_state(draw: st.DrawFn) -> dict[str, Any]:
    """``view.state.values`` of the schedule modal: either a valid form carrying hostile parameters and channel
    (accepted, then shown to approvers), or hostile values everywhere, odd shapes and missing blocks."""
    injected = st.one_of(st.sampled_from(INJECTIONS), st.sampled_from(ODD), st.text(max_size=20))
    parameters = st.one_of(
        st.just(""),
        st.builds(lambda k, v: f"{k}={v}", st.sampled_from(["note", "version", "a.b-c"]), injected),
        st.builds(
            lambda d: json.dumps(d),
            st.dictionaries(st.sampled_from(["note", "msg", "nested"]),
                            st.one_of(injected, st.integers(), st.none(), st.lists(injected, max_size=3),
                                      st.dictionaries(injected, injected, max_size=2)),
                            max_size=3),
        ),
    )  # fmt: skip
    valid = draw(st.integers(0, 2)) > 0
    if valid:
        serials = draw(st.sampled_from(VALID_SERIALS))
        op_type = draw(st.sampled_from(["reboot", "diagnostics"]))
        when = draw(st.sampled_from(["tomorrow 2am", "in 3 hours", "next saturday 4am"]))
        params = draw(parameters)
        notify = draw(st.one_of(st.none(), st.just("C0NOTIFY"), st.sampled_from(INJECTIONS)))
    else:
        serials = draw(st.one_of(st.sampled_from(VALID_SERIALS), hostile_text()))
        op_type = draw(st.one_of(st.just("reboot"), hostile_text()))
        when = draw(st.one_of(st.just("tomorrow 2am"), hostile_text()))
        params = draw(st.one_of(parameters, hostile_text()))
        notify = draw(st.one_of(st.none(), st.sampled_from(INJECTIONS), st.text(max_size=80)))
    values: dict[str, Any] = {
        "serials": {"value": text_entry(serials)},
        "operation_type": {"value": {"type": "static_select",
                                     "selected_option": {"text": {"type": "plain_text", "text": "x"},
                                                         "value": op_type}}},
        "when": {"when_input": text_entry(when)},
        "parameters": {"value": text_entry(params)},
        "notify_channel": {"value": {"type": "conversations_select", "selected_conversation": notify}},
    }  # fmt: skip
    if valid:
        return {"values": values}
    for block in draw(st.sets(st.sampled_from(sorted(MODAL_BLOCKS)), max_size=2)):
        del values[block]
    odd_shape = draw(st.sampled_from([None, None, "list", "string", "entry-not-dict", "value-not-str"]))
    if odd_shape == "list":
        return {"values": []}  # type: ignore[dict-item]
    if odd_shape == "string":
        return {"values": "serials"}  # type: ignore[dict-item]
    if odd_shape == "entry-not-dict" and "serials" in values:
        values["serials"] = ["not", "a", "dict"]
    if odd_shape == "value-not-str" and "serials" in values:
        values["serials"]["value"]["value"] = {"nested": [DOCUMENTED_SERIAL]}
    return {"values": values}


METADATA = st.one_of(
    st.just('{"tz": "America/Los_Angeles"}'),
    st.just('{"tz": "UTC", "channel_id": "C111"}'),
    st.sampled_from([
        "", "null", "[]", "{", '{"tz": "Nope/Zone"}', '{"tz": 5}', '{"tz": "../../etc/passwd"}',
        '{"channel_id": "<!channel>"}', '{"locale": "<!channel>"}', '{"tz": "UTC", "locale": "xx-YY-%s"}',
        '{"channel_id": "' + "C" * 500 + '"}', '{"tz": "' + "A" * 500 + '"}',
    ]),
    hostile_text(),
)  # fmt: skip
_users = iter(range(1, 10**9))


@PROPERTY
@given(state=modal_state(), metadata=METADATA)
def test_any_modal_submission_is_answered_safely(h: Harness, state: dict[str, Any], metadata: str) -> None:
    user_id = f"U0H{next(_users):06d}"  # to find what this submission caused
    view = {"id": "V0FORM", "type": "modal", "callback_id": "schedule_modal", "private_metadata": metadata,
            "state": state}  # fmt: skip
    submission = h.sender.view_submission("schedule_modal", view=view, user_id=user_id)
    payload = dict(submission.payload)
    payload["view"] = {**payload["view"], "state": state}
    response = timed_send(h, rebuild(submission, payload))
    assert response.status_code == 200
    if response.text not in ("", "null"):
        body = response.json()
        event("refused with inline errors")
        assert body.get("response_action") == "errors", body
        errors = body["errors"]
        assert errors and set(errors) <= MODAL_BLOCKS, errors
        for field, error in errors.items():
            assert isinstance(error, str) and 0 < len(error) <= 2000, (field, error)
            assert not LEAKS.search(error), error
    else:
        # Accepted: the modal closed, so the request must exist and reach the approvers; never silently lost.
        event("accepted")
        wait_until(
            lambda: [c for c in h.bench.calls_to("chat.postMessage") if f"<@{user_id}>" in json.dumps(c.body)],
            timeout=8, what=f"the approval message of {user_id}'s accepted submission",
        )  # fmt: skip
    scan(h)


def test_live_preview_of_hostile_time_text_is_safe(h: Harness) -> None:
    _, request = h.command("schedule")
    (opened,) = answered(h, request)  # the views.open of this command
    view_id = opened.response["view"]["id"]
    time.sleep(0.3)  # the zone lookup's own views.update, if any
    for when in [*INJECTIONS, huge("<!channel> "), huge("&"), "\x00\x00", "tomorrow 2am <!here>", '{"when": 1}']:
        h.bench.clear()
        h.scanned = (0, 0)  # type: ignore[attr-defined]
        typed = {"when": {"when_input": text_entry(when)}}
        click = h.sender.block_action("when_input", None, block_id="when", action_type="plain_text_input",
                                      view=view_id, state_values=typed)  # fmt: skip
        timed_send(h, click)
        update = wait_until(
            lambda: [c for c in h.bench.calls_to("views.update") if c.body.get("view_id") == view_id],
            what="the preview",
        )[-1]
        preview = next(b for b in update.body["view"]["blocks"] if b.get("block_id") == "when_preview")
        assert preview["elements"][0]["text"].strip()
        scan(h)


# ----------------------------------------------------------------------------------- interactive payloads

ACTIONS = [
    "list_more", "refresh_operation", "schedule_confirm", "schedule_cancel", "approval_approve", "approval_reject",
    "when_input", "no_such_action",
]  # fmt: skip
ANSWERING = {"list_more", "refresh_operation", "schedule_confirm", "schedule_cancel", "approval_approve",
             "approval_reject"}  # fmt: skip
NOT_APPROVERS = [REQUESTER, OUTSIDER, "S0APPROVERS", "U0EVIL", "u0approver", "U0APPROVER ", "", "<!here>"]


@pytest.fixture(scope="module")
def victim(h: Harness) -> dict[str, str]:
    """A request by someone else, pending approval: crafted clicks by non-approvers must leave it alone."""
    request_id, ts = pending_request(h, user_id="W0VICTIM")
    draft_id, _ = draft_request(h, user_id="W0VICTIM")
    return {"request_id": request_id, "ts": ts, "draft_id": draft_id}


@PROPERTY
@given(
    action_id=st.sampled_from(ACTIONS),
    value=st.one_of(st.none(), hostile_text(), st.sampled_from(JSONISH), st.sampled_from(["victim", "draft"])),
    user_id=st.sampled_from(NOT_APPROVERS),
    channel_id=st.sampled_from([APPROVAL_CHANNEL, APPROVAL_CHANNEL, "C111", "<!channel>", ""]),
    on_victim_message=st.booleans(),
    retype=st.sampled_from([None, None, None, 5, ["a"], {"id": "x"}, True]),
    ephemeral=st.booleans(),
)
def test_any_click_is_answered_safely_and_decides_nothing(
    h: Harness,
    victim: dict[str, str],
    action_id: str,
    value: str | None,
    user_id: str,
    channel_id: str,
    on_victim_message: bool,
    retype: Any,
    ephemeral: bool,
) -> None:
    value = {"victim": victim["request_id"], "draft": victim["draft_id"]}.get(value or "", value)
    click = h.sender.block_action(
        action_id, value, block_id="approval_actions", user_id=user_id or None, channel_id=channel_id or None,
        message_ts=victim["ts"] if on_victim_message else "1700000000.999999", is_ephemeral=ephemeral,
        action={"value": retype} if retype is not None else None,
    )  # fmt: skip
    response = timed_send(h, click)
    assert response.status_code == 200
    if action_id in ANSWERING:
        for answer in answered(h, click):
            check_message(answer.body, where=action_id)
    scan(h)
    assert record(h, victim["request_id"]).state is RequestState.PENDING_APPROVAL
    assert record(h, victim["draft_id"]).state is RequestState.DRAFT
    assert h.sim_state.operations == {}, "nothing was created"


MISSING = {
    "block_actions": ["actions", "user", "container", "channel", "message", "response_url", "trigger_id", "team"],
    "view_submission": ["view", "user", "team", "trigger_id"],
    "slash_command": ["text", "user_id", "response_url", "trigger_id", "channel_id", "team_id", "command"],
    "shortcut": ["user", "trigger_id", "callback_id"],
}


def _requests(h: Harness, victim: dict[str, str]) -> dict[str, SlackRequest]:
    return {
        "block_actions": h.sender.block_action(
            "approval_approve", victim["request_id"], block_id="approval_actions", user_id=OUTSIDER,
            channel_id=APPROVAL_CHANNEL, message_ts=victim["ts"],
        ),
        "view_submission": h.sender.view_submission(
            "schedule_modal",
            view={"id": "V0FORM", "type": "modal", "callback_id": "schedule_modal", "private_metadata": "{}"},
        ),
        "slash_command": h.sender.slash_command(f"schedule {DOCUMENTED_SERIAL} reboot tomorrow at 2am"),
        "shortcut": h.sender.shortcut("schedule_operation"),
    }  # fmt: skip


def answered_safely(h: Harness, request: SlackRequest, *, where: str) -> None:
    """A crafted interaction is refused or answered with a helpful, safe message, and nothing unsafe is sent."""
    response = timed_send(h, request)
    assert response.status_code in (200, 400, 404), response.status_code
    if response.status_code == 200 and response.text not in ("", "null"):
        body = response.json()
        if "errors" not in body:
            check_message(body, where=where)
    time.sleep(0.2)
    scan(h)


@pytest.mark.parametrize(("kind", "field"), [(k, f) for k, fields in MISSING.items() for f in fields])
def test_missing_fields_never_crash_the_bot(h: Harness, victim: dict[str, str], kind: str, field: str) -> None:
    request = _requests(h, victim)[kind]
    payload = {k: v for k, v in request.payload.items() if k != field}
    answered_safely(h, rebuild(request, payload), where=f"{kind} without {field}")
    assert record(h, victim["request_id"]).state is RequestState.PENDING_APPROVAL


@pytest.mark.parametrize("user", ["U0APPROVER", 5, ["U0APPROVER"], {"name": "nobody"}])
@pytest.mark.parametrize("kind", ["block_actions", "view_submission", "shortcut"])
def test_a_user_field_of_the_wrong_shape_never_crashes_the_bot(
    h: Harness, victim: dict[str, str], kind: str, user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """``user`` is an object in every interaction; a crafted one (a bare id, a number, a list, no id) reads as
    nobody (``bot.slack.payloads.user_id_of``), never as a crash (a listener's traceback in the log), and decides
    nothing."""
    request = _requests(h, victim)[kind]
    caplog.set_level(logging.WARNING)
    answered_safely(h, rebuild(request, {**request.payload, "user": user}), where=f"{kind} with user {user!r}")
    assert [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []
    assert record(h, victim["request_id"]).state is RequestState.PENDING_APPROVAL
    assert h.sim_state.operations == {}, "nothing was created"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"payload=",
        b"payload=%7B",
        b"payload=null",
        b"payload=%5B%5D",
        b"\xff\xfe",
        b'{"type": "event_callback"}',
        b"command=%2Fheadless&text=" + b"%00" * 1000,
    ],
)
def test_unparseable_bodies_are_refused_plainly(h: Harness, body: bytes) -> None:  # fmt: skip
    timestamp = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=" + digest.hexdigest(),
               "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
    response = h.sender._post(body, headers)
    assert response.status_code < 500
    assert not LEAKS.search(response.text), response.text


# --------------------------------------------------------------------------- forged, stale, replayed requests


def _nothing_happens(h: Harness, request: SlackRequest, send: Any) -> None:
    rows = requests_and_audit(h)
    calls, responses = len(h.bench.calls), len(h.bench.responses)
    answers = len(h.bench.responses_for(request.response_key)) if request.response_key else 0
    response = send()
    assert response.status_code == 401, (response.status_code, response.text)
    time.sleep(0.3)
    assert len(h.bench.calls) == calls, [c.method for c in h.bench.calls[calls:]]
    assert len(h.bench.responses) == responses
    if request.response_key:
        assert len(h.bench.responses_for(request.response_key)) == answers, "no response_url post"
    assert requests_and_audit(h) == rows, "no store row changed"


@pytest.mark.parametrize("kind", ["slash_command", "block_actions", "view_submission"])
@pytest.mark.parametrize("forgery", ["bad", "missing", "stale", "future", "tampered"])
def test_forged_or_stale_requests_are_refused_and_change_nothing(
    h: Harness, victim: dict[str, str], kind: str, forgery: str
) -> None:
    requests = {
        "slash_command": h.sender.slash_command(f"schedule {DOCUMENTED_SERIAL} reboot tomorrow at 2am"),
        "block_actions": h.sender.block_action(
            "approval_approve", victim["request_id"], block_id="approval_actions", user_id=APPROVER,
            channel_id=APPROVAL_CHANNEL, message_ts=victim["ts"],
        ),  # an approver's click: only the forgery stands in its way
        "view_submission": h.sender.view_submission(
            "schedule_modal",
            {"serials": {"value": text_entry(DOCUMENTED_SERIAL)},
             "operation_type": {"value": {"type": "static_select", "selected_option": {"value": "reboot"}}},
             "when": {"when_input": text_entry("tomorrow 2am")}},
            view={"id": "V0FORM", "type": "modal", "callback_id": "schedule_modal",
                  "private_metadata": '{"tz": "UTC"}'},
        ),
    }  # fmt: skip
    request = requests[kind]

    def send() -> Any:
        if forgery in ("bad", "missing"):
            return h.sender.send(request, signature=forgery)  # type: ignore[arg-type]
        if forgery == "stale":
            return h.sender.send(request, stale=True)
        if forgery == "future":
            return h.sender.send(request, timestamp=int(time.time()) + 6 * 60)
        headers = h.sender.headers_for(request)  # signed for this body, then the body is changed
        tampered = request.body.replace(b"reboot", b"factory_reset").replace(b"W111", b"U0APPROVER")
        tampered = tampered if tampered != request.body else request.body + b"&x=1"
        return h.sender._post(tampered, headers)

    _nothing_happens(h, request, send)
    assert record(h, victim["request_id"]).state is RequestState.PENDING_APPROVAL


@pytest.mark.parametrize("kind", ["slash_command", "block_actions"])
def test_a_replayed_request_is_refused_and_changes_nothing(h: Harness, kind: str) -> None:
    if kind == "slash_command":
        request = h.sender.slash_command(f"schedule {DOCUMENTED_SERIAL} reboot tomorrow at 3am")
        first = h.sender.send(request)
        h.responses(request)
    else:
        request_id, ts = pending_request(h, user_id="W0REPLAY", when="tomorrow at 5am")
        request = h.sender.block_action("approval_reject", request_id, block_id="approval_actions",
                                         user_id=APPROVER, channel_id=APPROVAL_CHANNEL, message_ts=ts)  # fmt: skip
        first = h.sender.send(request)
        answered(h, request)  # the reason form opened
    assert first.status_code == 200
    time.sleep(0.3)
    _nothing_happens(h, request, lambda: h.sender.replay(first))


# -------------------------------------------------------------------------- who may decide, and on what


def _click(h: Harness, action_id: str, value: str, user_id: str, ts: str, channel_id: str = APPROVAL_CHANNEL,
           **kwargs: Any) -> tuple[Any, Any]:  # fmt: skip
    click = h.sender.block_action(action_id, value, block_id="approval_actions", user_id=user_id,
                                  channel_id=channel_id, message_ts=ts, **kwargs)  # fmt: skip
    return click, timed_send(h, click)


@pytest.mark.parametrize(
    ("user_id", "extra"),
    [
        ("S0APPROVERS", {}),  # the approvers' group id itself, as if it were a person
        (OUTSIDER, {"user_name": "U0APPROVER"}),  # a name that looks like an approver's id
        ("u0approver", {}),
        ("U0APPROVER\u200b", {}),
        ("W0VICTIM", {}),  # the requester: four eyes
    ],
    ids=["group-id", "name-spoof", "lowercase", "zero-width", "requester"],
)
def test_a_non_approver_cannot_approve_with_a_crafted_click(
    h: Harness, victim: dict[str, str], user_id: str, extra: dict[str, Any]
) -> None:
    click, _ = _click(h, "approval_approve", victim["request_id"], user_id, victim["ts"], **extra)
    (answer,) = answered(h, click)
    assert "approvers" in texts(answer.body) or "four-eyes" in texts(answer.body), texts(answer.body)
    click, _ = _click(h, "approval_reject", victim["request_id"], user_id, victim["ts"], **extra)
    (answer,) = answered(h, click)
    assert "approvers" in texts(answer.body) or "four-eyes" in texts(answer.body), texts(answer.body)
    time.sleep(0.3)
    assert not [c for c in h.bench.calls_to("views.open") if c.body.get("trigger_id") == click.trigger_id]
    assert record(h, victim["request_id"]).state is RequestState.PENDING_APPROVAL
    assert h.sim_state.operations == {}


def test_a_non_approver_cannot_reject_by_submitting_the_reason_form_directly(
    h: Harness, victim: dict[str, str]
) -> None:
    metadata = json.dumps({"request_id": victim["request_id"], "channel_id": APPROVAL_CHANNEL, "ts": victim["ts"]})
    values = {"reason": {"value": text_entry("<!channel> because I can")}}
    view = {"id": "V0REJ", "type": "modal", "callback_id": "reject_modal", "private_metadata": metadata}
    response = timed_send(h, h.sender.view_submission("reject_modal", values, user_id=OUTSIDER, view=view))
    assert response.status_code == 200
    dm = wait_until(lambda: [c for c in h.bench.calls_to("chat.postMessage") if c.body["channel"] == OUTSIDER],
                    what="the refusal")  # fmt: skip
    assert "approvers" in texts(dm[-1].body)
    assert record(h, victim["request_id"]).state is RequestState.PENDING_APPROVAL


@pytest.mark.parametrize("metadata", ["[1, 2]", '"text"', "{", '{"request_id": ["x"]}', '{"request_id": null}'])
def test_a_broken_reason_form_is_answered(h: Harness, metadata: str) -> None:
    view = {"id": "V0REJ", "type": "modal", "callback_id": "reject_modal", "private_metadata": metadata,
            "state": {"values": []}}  # fmt: skip
    submission = h.sender.view_submission("reject_modal", None, user_id=APPROVER, view=view)
    payload = dict(submission.payload)
    payload["view"] = view
    response = timed_send(h, rebuild(submission, payload))
    assert response.status_code == 200
    dm = wait_until(lambda: [c for c in h.bench.calls_to("chat.postMessage") if c.body["channel"] == APPROVER
                             and "no longer exists" in texts(c.body)], what="an answer")  # fmt: skip
    assert dm


def test_edited_button_values_cannot_act_on_another_request(h: Harness, victim: dict[str, str]) -> None:
    """Approve (in test_scheduling.py) and here: Reject, another channel, Confirm and Cancel of someone else's."""
    mine, my_ts = pending_request(h, user_id="W0MINE", when="tomorrow at 6am")
    # Reject on my request's message, with the value edited to the victim's id.
    click, _ = _click(h, "approval_reject", victim["request_id"], APPROVER, my_ts)
    (answer,) = answered(h, click)
    assert "does not belong" in texts(answer.body)
    # The victim's id and message ts, but clicked in another channel (a copy of the message elsewhere).
    click, _ = _click(h, "approval_approve", victim["request_id"], APPROVER, victim["ts"], channel_id="C111")
    (answer,) = answered(h, click)
    assert "does not belong" in texts(answer.body)
    # The victim's id with something appended, on the victim's own message.
    for value in (victim["request_id"] + " ", victim["request_id"] + "\x00", victim["request_id"].upper(), "%"):
        click, _ = _click(h, "approval_approve", value, APPROVER, victim["ts"])
        (answer,) = answered(h, click)
        assert "does not belong" in texts(answer.body), value
    # Someone else's Confirm / Cancel.
    for action_id in ("schedule_confirm", "schedule_cancel"):
        click = h.sender.block_action(action_id, victim["draft_id"], block_id="confirm_actions", user_id=APPROVER,
                                      is_ephemeral=True)  # fmt: skip
        timed_send(h, click)
        (answer,) = answered(h, click)
        assert "Only the person who asked" in texts(answer.body)
    time.sleep(0.3)
    assert record(h, victim["request_id"]).state is RequestState.PENDING_APPROVAL
    assert record(h, victim["draft_id"]).state is RequestState.DRAFT
    assert record(h, mine).state is RequestState.PENDING_APPROVAL
    assert h.sim_state.operations == {}


def test_list_more_button_with_edited_value(h: Harness) -> None:
    values = [
        '{"serial": "' + "S" * 100_000 + '"}', '{"status": "<!channel>"}', '{"serial": "<!here>"}',
        '{"offset": 99999999}', '{"offset": -5}', '{"serial": 5}', "[" * 50_000, '{"status": "x y"}',
    ]  # fmt: skip
    for value in values:
        click = h.sender.block_action("list_more", value, block_id="list_more", is_ephemeral=True)
        timed_send(h, click)
        (answer,) = answered(h, click)
        check_message(answer.body, where=value[:40])
    scan(h)


def test_nul_and_control_characters_on_both_databases(database_url: str) -> None:
    """PostgreSQL refuses NUL in text: a NUL typed or crafted anywhere must still get an answer, not a lost task."""
    with bot_harness(database_url=database_url) as h:
        h.database_url = database_url  # type: ignore[attr-defined]
        for action_id, words in (("schedule_confirm", "no longer exists"), ("approval_approve", "does not belong")):
            click = h.sender.block_action(action_id, "abc\x00def", block_id="approval_actions", user_id=APPROVER,
                                          channel_id=APPROVAL_CHANNEL)  # fmt: skip
            timed_send(h, click)
            (answer,) = answered(h, click)
            assert words in texts(answer.body), texts(answer.body)

        request_id, ts = pending_request(h, user_id=REQUESTER)
        metadata = json.dumps({"request_id": request_id, "channel_id": APPROVAL_CHANNEL, "ts": ts})
        view = {"id": "V0REJ", "type": "modal", "callback_id": "reject_modal", "private_metadata": metadata}
        values = {"reason": {"value": text_entry("not\x00now\x1b[31m, <!channel>")}}
        timed_send(h, h.sender.view_submission("reject_modal", values, user_id=APPROVER, view=view))
        rejected = wait_until(lambda: record(h, request_id).state is RequestState.REJECTED and record(h, request_id),
                              what="the rejection")  # fmt: skip
        assert "\x00" not in rejected.decision_reason and "now" in rejected.decision_reason

        state = {"values": {
            "serials": {"value": text_entry(f"{DOCUMENTED_SERIAL}\x00")},
            "operation_type": {"value": {"type": "static_select", "selected_option": {"value": "reboot"}}},
            "when": {"when_input": text_entry("tomorrow\x00 2am")},
            "parameters": {"value": text_entry('note=a\x00b\n{"x": "\\u0000"}')},
            "notify_channel": {"value": {"type": "conversations_select", "selected_conversation": "C" * 100}},
        }}  # fmt: skip
        view = {"id": "V0FORM", "type": "modal", "callback_id": "schedule_modal", "private_metadata": "{}",
                "state": state}  # fmt: skip
        submission = h.sender.view_submission("schedule_modal", view=view, user_id=APPROVER)
        payload = dict(submission.payload)
        payload["view"] = {**payload["view"], "state": state}
        body = timed_send(h, rebuild(submission, payload)).json()
        assert body["response_action"] == "errors" and "notify_channel" in body["errors"], body

        _, request = h.command(f"schedule {DOCUMENTED_SERIAL}\x00 reboot tomorrow at 2am note=a\x00b")
        (answer,) = h.responses(request)
        assert "Confirm" in json.dumps(answer.body) or "could not schedule" in texts(answer.body)
        scan_all(h)


def scan_all(h: Harness) -> None:
    h.scanned = (0, 0)  # type: ignore[attr-defined]
    scan(h)


def test_control_api_data_cannot_smuggle_a_mention() -> None:
    """What the Control API says (a serial, a type, a status, parameters) is repeated escaped too, in the blocks AND
    in the plain ``text`` Slack shows in notifications: the API is not a person, but whoever wrote into it may be."""
    from bot.simulator.state import SimDevice

    with bot_harness() as api_h:
        serial = "SN<!channel>"
        api_h.sim_state.devices[serial] = SimDevice(serial, "1.0.0", None, 0.0, always_online=True)
        op = api_h.sim_state.create_operation(
            serial, "<!here>reboot", api_h.sim_state.now() + timedelta(days=1), {"note": "<!subteam^S0EVIL>"}
        )
        for text in (f"status {op.id}", "list"):
            request = api_h.sender.slash_command(text)
            assert api_h.sender.send(request).status_code == 200
            (answer,) = api_h.responses(request)
            shown = json.dumps(answer.body)
            assert "<!channel>" not in shown and "<!here>" not in shown and "<!subteam" not in shown, shown
            assert "&lt;!channel&gt;" in answer.body["text"] or text == "list", answer.body["text"]
