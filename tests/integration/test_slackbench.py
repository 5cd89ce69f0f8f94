"""The Slack test bench works: real slack_sdk clients get Slack's answers and errors from the stub, faults
show, the Block Kit checker catches each limit, and signed requests are accepted (or refused) by a real bolt
app."""

from __future__ import annotations

import ast
import asyncio
import json
import re
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

import bot.slackkit
from bot.slackkit import (
    SlackBench,
    SlackPayloadFactory,
    SlackRequestSender,
    SlackWebApiStub,
    block_kit_problems,
    select_value,
    text_value,
)
from bot.slackkit.servers import LoopServer, serve_asgi
from tests.support.slack_fixtures import slack_bench as slack_bench  # registers the fixture here

REFERENCE = Path("/work/shared/reference/slack/payloads")
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
TS = re.compile(r"^\d{10}\.\d{6}$")


@pytest.fixture
def bench():
    with SlackBench() as b:
        yield b


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def modal(blocks: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "schedule",
        "title": {"type": "plain_text", "text": "Schedule"},
        "submit": {"type": "plain_text", "text": "Go"},
        "blocks": blocks if blocks is not None else [section("hello")],
        **extra,
    }


async def api_error(coro) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        await coro
    return info.value


# -- chat.*


async def test_post_message_returns_unique_string_ts_and_is_recorded(bench):
    client = bench.client()
    first = await client.chat_postMessage(channel="C111", text="hello", blocks=[section("*hello*")])
    second = await client.chat_postMessage(channel="C111", text="again")

    assert first["ok"] is True and first["channel"] == "C111"
    assert isinstance(first["ts"], str) and TS.match(first["ts"])
    assert second["ts"] != first["ts"] and float(second["ts"]) > float(first["ts"])
    assert first["message"]["text"] == "hello" and first["message"]["ts"] == first["ts"]
    assert first["message"]["blocks"] == [section("*hello*")]

    call = bench.calls_to("chat.postMessage")[0]
    assert call.content_type == "json" and call.http_method == "POST"
    assert call.token == bench.bot_token and call.headers["authorization"] == f"Bearer {bench.bot_token}"
    assert call.body["blocks"] == [section("*hello*")] and call.ok
    assert bench.last("chat.postMessage").body["text"] == "again"
    assert bench.message("C111", first["ts"])["text"] == "hello"
    assert [m["text"] for m in bench.messages_in("C111")] == ["hello", "again"]


async def test_form_encoded_json_fields_are_decoded_and_raw_kept(bench):
    blocks = [section("from a form")]
    resp = await bench.client().api_call(
        "chat.postMessage", data={"channel": "C111", "text": "form", "blocks": json.dumps(blocks)}
    )
    call = bench.last("chat.postMessage")
    assert resp["ok"] and call.content_type == "form"
    assert call.body["blocks"] == blocks
    assert call.raw_body["blocks"] == json.dumps(blocks)


async def test_channel_errors_like_slack(bench):
    bench.add_channel("C222", "ops", is_member=False)
    bench.add_channel("G333", "secret", is_private=True, is_member=False)
    bench.add_channel("C444", "old", is_archived=True)
    client = bench.client()
    assert (await api_error(client.chat_postMessage(channel="C999", text="x"))).response["error"] == "channel_not_found"
    assert (await api_error(client.chat_postMessage(channel="C222", text="x"))).response["error"] == "not_in_channel"
    assert (await api_error(client.chat_postMessage(channel="G333", text="x"))).response["error"] == "channel_not_found"
    assert (await api_error(client.chat_postMessage(channel="C444", text="x"))).response["error"] == "is_archived"
    with pytest.warns(UserWarning, match="top-level `text`"):
        assert (await api_error(client.chat_postMessage(channel="C111"))).response["error"] == "no_text"
    # by name and to a user's DM
    assert (await client.chat_postMessage(channel="#general", text="x"))["channel"] == "C111"
    assert (await client.chat_postMessage(channel="W111", text="dm"))["channel"] == "D111"


async def test_post_ephemeral(bench):
    bench.add_user("W222", name="outsider")
    bench.add_channel("C222", "ops", members=["W111"])
    client = bench.client()
    resp = await client.chat_postEphemeral(channel="C111", user="W111", text="only you")
    assert resp["ok"] and TS.match(resp["message_ts"])
    assert bench.ephemeral[-1]["to_user"] == "W111"
    err = await api_error(client.chat_postEphemeral(channel="C222", user="W222", text="x"))
    assert err.response["error"] == "user_not_in_channel"


async def test_chat_update_and_delete(bench):
    client = bench.client()
    posted = await client.chat_postMessage(channel="C111", text="v1")
    updated = await client.chat_update(channel="C111", ts=posted["ts"], text="v2", blocks=[section("v2")])
    assert updated["ok"] and updated["ts"] == posted["ts"] and updated["channel"] == "C111"
    assert updated["text"] == "v2" and bench.message("C111", posted["ts"])["blocks"] == [section("v2")]

    err = await api_error(client.chat_update(channel="C111", ts="1600000000.000001", text="x"))
    assert err.response["error"] == "message_not_found"
    other = await api_error(client.chat_update(channel="D111", ts=posted["ts"], text="x"))
    assert other.response["error"] in ("message_not_found", "channel_not_found")

    deleted = await client.chat_delete(channel="C111", ts=posted["ts"])
    assert deleted["ok"] and bench.message("C111", posted["ts"]) is None
    again = await api_error(client.chat_update(channel="C111", ts=posted["ts"], text="x"))
    assert again.response["error"] == "message_not_found"


# -- views.*


async def test_views_open_needs_a_fresh_unused_trigger(bench):
    client = bench.client()
    trigger = bench.issue_trigger_id()
    opened = await client.views_open(trigger_id=trigger, view=modal(private_metadata="42", external_id="ext-1"))
    view = opened["view"]
    assert re.match(r"^V[0-9A-Z]{8,}$", view["id"]) and view["hash"]
    assert view["root_view_id"] == view["id"] and view["previous_view_id"] is None
    assert view["title"]["text"] == "Schedule" and view["private_metadata"] == "42"
    assert view["callback_id"] == "schedule" and view["state"] == {"values": {}}
    assert bench.views[view["id"]]["external_id"] == "ext-1"

    reused = await api_error(client.views_open(trigger_id=trigger, view=modal()))
    assert reused.response["error"] == "exchanged_trigger_id"

    short = bench.issue_trigger_id(lifetime=0.05)
    await asyncio.sleep(0.1)
    expired = await api_error(client.views_open(trigger_id=short, view=modal()))
    assert expired.response["error"] == "expired_trigger_id"

    unknown = await api_error(client.views_open(trigger_id="123.456.deadbeef", view=modal()))
    assert unknown.response["error"] == "invalid_trigger_id"


async def test_trigger_lifetime_is_configurable():
    with SlackBench(trigger_lifetime=0.05) as bench:
        trigger = bench.issue_trigger_id()
        await asyncio.sleep(0.1)
        err = await api_error(bench.client().views_open(trigger_id=trigger, view=modal()))
        assert err.response["error"] == "expired_trigger_id"


async def test_views_update_and_push(bench):
    client = bench.client()
    opened = (await client.views_open(trigger_id=bench.issue_trigger_id(), view=modal(external_id="ext")))["view"]

    by_id = await client.views_update(view_id=opened["id"], view=modal([section("step 2")]))
    assert by_id["view"]["id"] == opened["id"] and by_id["view"]["blocks"] == [section("step 2")]
    assert by_id["view"]["hash"] != opened["hash"]  # a new hash per version
    by_ext = await client.views_update(external_id="ext", view=modal([section("step 3")]))
    assert by_ext["view"]["id"] == opened["id"]

    conflict = await api_error(client.views_update(view_id=opened["id"], hash="stale.hash", view=modal()))
    assert conflict.response["error"] == "hash_conflict"
    missing = await api_error(client.views_update(view_id="VNOPE", view=modal()))
    assert missing.response["error"] == "not_found"

    pushed = await client.views_push(trigger_id=bench.issue_trigger_id(view_id=opened["id"]), view=modal())
    assert pushed["view"]["root_view_id"] == opened["id"]
    assert pushed["view"]["previous_view_id"] == opened["id"]
    reused = await api_error(client.views_push(trigger_id="nope", view=modal()))
    assert reused.response["error"] == "invalid_trigger_id"


async def test_views_publish_home(bench):
    home = {"type": "home", "blocks": [section("Your watches")]}
    resp = await bench.client().views_publish(user_id="W111", view=home)
    assert resp["view"]["type"] == "home" and bench.home_views["W111"]["blocks"] == [section("Your watches")]


# -- users, groups, channels


async def test_users_info_time_zone(bench):
    bench.add_user("W900", name="kenji", real_name="Kenji Sato", tz="Asia/Tokyo", locale="ja-JP")
    client = bench.client()
    user = (await client.users_info(user="W900"))["user"]
    assert user["tz"] == "Asia/Tokyo" and user["tz_offset"] == 9 * 3600 and user["tz_label"] == "JST"
    assert user["real_name"] == "Kenji Sato" and user["is_bot"] is False and "locale" not in user
    with_locale = (await client.users_info(user="W900", include_locale=True))["user"]
    assert with_locale["locale"] == "ja-JP"
    assert (await client.users_info(user=bench.bot_user_id))["user"]["is_bot"] is True
    err = await api_error(client.users_info(user="W404"))
    assert err.response["error"] == "user_not_found"


async def test_usergroups_users_list(bench):
    bench.add_usergroup("S0OPS", ["W111", "W222"])
    client = bench.client()
    assert (await client.usergroups_users_list(usergroup="S0OPS"))["users"] == ["W111", "W222"]
    err = await api_error(client.usergroups_users_list(usergroup="S0NONE"))
    assert err.response["error"] == "no_such_subteam"


async def test_conversations_methods(bench):
    bench.add_channel("C222", "ops", is_member=False, members=["W111"])
    bench.add_channel("G333", "secret", is_private=True, is_member=False)
    client = bench.client()

    info = (await client.conversations_info(channel="C111"))["channel"]
    assert info["name"] == "general" and info["is_member"] is True
    assert (await api_error(client.conversations_info(channel="G333"))).response["error"] == "channel_not_found"

    listed = (await client.conversations_list())["channels"]
    assert {c["id"] for c in listed} == {"C111", "C222"}
    page = await client.conversations_list(limit=1)
    assert len(page["channels"]) == 1 and page["response_metadata"]["next_cursor"]
    rest = await client.conversations_list(limit=1, cursor=page["response_metadata"]["next_cursor"])
    assert rest["channels"][0]["id"] != page["channels"][0]["id"]

    assert (await api_error(client.chat_postMessage(channel="C222", text="x"))).response["error"] == "not_in_channel"
    joined = await client.conversations_join(channel="C222")
    assert joined["channel"]["is_member"] is True
    assert (await client.chat_postMessage(channel="C222", text="now in"))["ok"]
    assert set((await client.conversations_members(channel="C222"))["members"]) == {"W111", bench.bot_user_id}


async def test_apps_connections_open_wants_the_app_token(bench):
    resp = await bench.client(bench.app_token).apps_connections_open(app_token=bench.app_token)
    assert resp["url"] == bench.socket_mode_url and resp["url"].startswith("wss://")
    err = await api_error(bench.client().apps_connections_open(app_token=bench.bot_token))
    assert err.response["error"] == "not_allowed_token_type"


async def test_auth_and_unknown_method(bench):
    assert (await bench.client().auth_test())["user_id"] == bench.bot_user_id
    err = await api_error(bench.client("xoxb-wrong").auth_test())
    assert err.response["error"] == "invalid_auth"
    err = await api_error(bench.client().api_call("files.frobnicate"))
    assert err.response["error"] == "unknown_method"
    bench.respond_with("files.frobnicate", {"ok": True, "frobnicated": 1})
    assert (await bench.client().api_call("files.frobnicate"))["frobnicated"] == 1


async def test_valid_tokens_are_configurable():
    with SlackBench(bot_token="xoxb-a", valid_tokens={"xoxb-a", "xoxb-b"}) as bench:
        assert (await bench.client("xoxb-b").auth_test())["ok"]
        assert (await api_error(bench.client("xoxb-c").auth_test())).response["error"] == "invalid_auth"


# -- faults


async def test_429_is_visible_without_retry_handlers_then_success(bench):
    bench.rate_limit("chat.postMessage", retry_after=3, times=1)
    client = bench.client()
    err = await api_error(client.chat_postMessage(channel="C111", text="x"))
    assert err.response.status_code == 429
    assert err.response.headers["Retry-After"] == "3"
    assert err.response["error"] == "ratelimited"
    assert (await client.chat_postMessage(channel="C111", text="x"))["ok"]
    assert [c.status for c in bench.calls_to("chat.postMessage")] == [429, 200]
    assert bench.calls_to("chat.postMessage")[0].fault == "rate_limited"


async def test_429_with_slack_sdk_retry_handler_recovers(bench):
    bench.rate_limit("chat.postMessage", retry_after=0, times=1)
    client = bench.client(retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    assert (await client.chat_postMessage(channel="C111", text="x"))["ok"]
    assert len(bench.calls_to("chat.postMessage")) == 2


async def test_500_then_success_and_global_faults(bench):
    bench.server_error(times=2)  # global: every method
    client = bench.client()
    assert (await api_error(client.auth_test())).response.status_code == 500
    assert (await api_error(client.chat_postMessage(channel="C111", text="x"))).response.status_code == 500
    assert (await client.chat_postMessage(channel="C111", text="x"))["ok"]


async def test_injected_errors_and_latency(bench):
    client = bench.client()
    bench.fail_with("invalid_auth", "chat.postMessage")
    assert (await api_error(client.chat_postMessage(channel="C111", text="x"))).response["error"] == "invalid_auth"
    bench.fail_with("channel_not_found", times=None)
    assert (await api_error(client.auth_test())).response["error"] == "channel_not_found"
    bench.clear_faults()
    assert (await client.auth_test())["ok"]

    slow = bench.add_latency(0.3, "auth.test", times=1)
    started = time.monotonic()
    await client.auth_test()
    assert time.monotonic() - started >= 0.3
    assert slow.times == 0 and slow not in bench._faults, "used up: the next call is not delayed"


# -- response_url sink and waits


async def test_response_url_sink(bench):
    url = bench.response_url("cmd-1")
    assert url.startswith(bench.url) and url.endswith("/response/cmd-1")
    webhook = AsyncWebhookClient(url)
    resp = await webhook.send(text="working on it", response_type="ephemeral")
    assert resp.status_code == 200 and json.loads(resp.body) == {"ok": True}
    await webhook.send(text="done", replace_original=True)
    got = await bench.wait_for_response_async("cmd-1", count=2)
    assert [r["text"] for r in got] == ["working on it", "done"]
    assert bench.responses_for(url) == got  # a full URL works as key too
    assert bench.responses_for("other") == []
    with pytest.raises(AssertionError):
        bench.wait_for_response("other", timeout=0.05)


def test_wait_for_sync_sees_background_calls(bench):
    def later():
        time.sleep(0.1)
        asyncio.run(bench.client().chat_postMessage(channel="C111", text="from the background"))

    threading.Thread(target=later).start()
    calls = bench.wait_for("chat.postMessage", timeout=3)
    assert calls[0]["text"] == "from the background"
    with pytest.raises(AssertionError, match=r"chat.update"):
        bench.wait_for("chat.update", timeout=0.05)


async def test_wait_for_async_does_not_block_the_loop(bench):
    async def later():
        await asyncio.sleep(0.1)
        for text in ("one", "two"):
            await bench.client().chat_postMessage(channel="C111", text=text)

    task = asyncio.create_task(later())
    calls = await bench.wait_for_async("chat.postMessage", count=2, timeout=3)
    await task
    assert [c["text"] for c in calls] == ["one", "two"]
    bench.clear()
    assert bench.calls == []


# -- Block Kit


def _long(n: int) -> str:
    return "x" * n


def _button(**kw: Any) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": "go", **kw}


def _options(n: int, text_len: int = 5, value_len: int = 5) -> list[dict[str, Any]]:
    return [
        {
            "text": {"type": "plain_text", "text": _long(text_len)},
            "value": f"{i}{_long(value_len)}"[:value_len],
        }
        for i in range(n)
    ]


def _select(**kw: Any) -> dict[str, Any]:
    return {"type": "static_select", "action_id": "pick", "options": _options(3), **kw}


def _input(element: dict[str, Any], label: str = "Label") -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": "in",
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }


BLOCK_KIT_CASES = [
    ("message: 51 blocks", "message", {"blocks": [{"type": "divider"}] * 51}, "51 blocks (max 50)"),
    ("message: text over 40k", "message", {"text": _long(40_001)}, "text: 40001 chars (max 40000)"),
    ("section text 3001", "message", {"blocks": [section(_long(3001))]}, "blocks[0].text.text: 3001 chars"),
    (
        "section 11 fields",
        "message",
        {"blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}]},
        "11 fields (max 10)",
    ),
    (
        "section field 2001",
        "message",
        {"blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": _long(2001)}]}]},
        "fields[0].text: 2001 chars (max 2000)",
    ),
    (
        "header 151",
        "message",
        {"blocks": [{"type": "header", "text": {"type": "plain_text", "text": _long(151)}}]},
        "151 chars (max 150)",
    ),
    (
        "header mrkdwn",
        "message",
        {"blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}]},
        "must be 'plain_text' here",
    ),
    (
        "button text 76",
        "message",
        {"blocks": [{"type": "actions", "elements": [_button(text={"type": "plain_text", "text": _long(76)})]}]},
        "76 chars (max 75)",
    ),
    (
        "button value 2001",
        "message",
        {"blocks": [{"type": "actions", "elements": [_button(value=_long(2001))]}]},
        "value: 2001 chars (max 2000)",
    ),
    (
        "action_id 256",
        "message",
        {"blocks": [{"type": "actions", "elements": [_button(action_id=_long(256))]}]},
        "action_id: 256 chars (max 255)",
    ),
    (
        "block_id 256",
        "message",
        {"blocks": [section("x", block_id=_long(256))]},
        "block_id: 256 chars (max 255)",
    ),
    (
        "duplicate action_id in block",
        "message",
        {"blocks": [{"type": "actions", "elements": [_button(), _button()]}]},
        "duplicate action_id 'go'",
    ),
    (
        "duplicate block_id",
        "message",
        {"blocks": [section("a", block_id="b1"), section("b", block_id="b1")]},
        "duplicate block_id 'b1'",
    ),
    (
        "actions 26 elements",
        "message",
        {"blocks": [{"type": "actions", "elements": [_button(action_id=f"a{i}") for i in range(26)]}]},
        "26 elements (max 25)",
    ),
    (
        "context 11 elements",
        "message",
        {"blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}]},
        "11 elements (max 10)",
    ),
    (
        "static_select 101 options",
        "message",
        {"blocks": [section("pick", accessory=_select(options=_options(101)))]},
        "101 options (max 100)",
    ),
    (
        "option text 76",
        "message",
        {"blocks": [section("pick", accessory=_select(options=_options(2, text_len=76)))]},
        "options[0].text.text: 76 chars (max 75)",
    ),
    (
        "option value 151",
        "message",
        {"blocks": [section("pick", accessory=_select(options=_options(2, value_len=151)))]},
        "options[0].value: 151 chars (max 150)",
    ),
    (
        "select option mrkdwn",
        "message",
        {
            "blocks": [
                section(
                    "pick",
                    accessory=_select(options=[{"text": {"type": "mrkdwn", "text": "*a*"}, "value": "a"}]),
                )
            ]
        },
        "must be 'plain_text' here",
    ),
    ("modal 101 blocks", "modal", modal([{"type": "divider"}] * 101), "101 blocks (max 100)"),
    (
        "home 101 blocks",
        "home",
        {"type": "home", "blocks": [{"type": "divider"}] * 101},
        "101 blocks (max 100)",
    ),
    (
        "modal title 25",
        "modal",
        modal(title={"type": "plain_text", "text": _long(25)}),
        "title.text: 25 chars (max 24)",
    ),
    (
        "modal submit 25",
        "modal",
        modal(submit={"type": "plain_text", "text": _long(25)}),
        "submit.text: 25 chars (max 24)",
    ),
    (
        "modal close 25",
        "modal",
        modal(close={"type": "plain_text", "text": _long(25)}),
        "close.text: 25 chars (max 24)",
    ),
    (
        "modal title mrkdwn",
        "modal",
        modal(title={"type": "mrkdwn", "text": "T"}),
        "title.type: must be 'plain_text' here",
    ),
    ("private_metadata 3001", "modal", modal(private_metadata=_long(3001)), "3001 chars (max 3000)"),
    ("callback_id 256", "modal", modal(callback_id=_long(256)), "callback_id: 256 chars (max 255)"),
    (
        "input label 2001",
        "modal",
        modal([_input({"type": "plain_text_input", "action_id": "t"}, label=_long(2001))]),
        "label.text: 2001 chars (max 2000)",
    ),
    (
        "plain_text_input initial_value over max_length",
        "modal",
        modal(
            [
                _input(
                    {
                        "type": "plain_text_input",
                        "action_id": "t",
                        "max_length": 5,
                        "initial_value": "toolong",
                    }
                )
            ]
        ),
        "initial_value: 7 chars (max 5)",
    ),
    (
        "input without submit",
        "modal",
        {**modal([_input({"type": "plain_text_input", "action_id": "t"})]), "submit": None},
        "needs a submit button",
    ),
    (
        "file_input max_files 11",
        "modal",
        modal([_input({"type": "file_input", "action_id": "f", "max_files": 11})]),
        "max_files: must be an integer 1..10, got 11",
    ),
    (
        "file_input filetypes with a dot",
        "modal",
        modal([_input({"type": "file_input", "action_id": "f", "filetypes": [".csv"]})]),
        "must be extensions like 'csv', got ['.csv']",
    ),
    (
        "file_input outside an input block",
        "modal",
        modal([{"type": "actions", "elements": [{"type": "file_input", "action_id": "f"}]}]),
        "a file_input only goes in an input block",
    ),
    ("empty section text", "message", {"blocks": [section("")]}, "empty (min 1 char)"),
    ("unknown block type", "message", {"blocks": [{"type": "sectoin"}]}, "unknown block type 'sectoin'"),
    (
        "overflow 6 options",
        "message",
        {"blocks": [section("more", accessory={"type": "overflow", "action_id": "o", "options": _options(6)})]},
        "6 options (max 5)",
    ),
]


@pytest.mark.parametrize(
    ("surface", "payload", "expected"), [c[1:] for c in BLOCK_KIT_CASES], ids=[c[0] for c in BLOCK_KIT_CASES]
)
def test_block_kit_checker_catches(surface, payload, expected):
    problems = block_kit_problems(payload, surface=surface)
    assert any(expected in p for p in problems), problems


def test_block_kit_checker_accepts_valid_payloads():
    message = {
        "text": "Operation 42 scheduled",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Operation 42"}},
            section(_long(3000), block_id="summary"),
            {"type": "section", "fields": [{"type": "mrkdwn", "text": _long(2000)}] * 10},
            {
                "type": "actions",
                "block_id": "acts",
                "elements": [_button(action_id=f"a{i}", value=_long(2000)) for i in range(25)],
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 10},
            section("pick", accessory=_select(options=_options(100, text_len=75, value_len=150))),
            {"type": "divider"},
        ]
        + [{"type": "divider"}] * 43,
    }
    assert len(message["blocks"]) == 50
    assert block_kit_problems(message, surface="message") == []
    view = modal(
        [
            _input(
                {"type": "plain_text_input", "action_id": "t", "initial_value": _long(3000)},
                label=_long(2000),
            ),
            {
                "type": "input",
                "block_id": "when",
                "label": {"type": "plain_text", "text": "When"},
                "element": _select(),
            },
        ]
        + [{"type": "divider"}] * 98,
        title={"type": "plain_text", "text": _long(24)},
        private_metadata=_long(3000),
        callback_id=_long(255),
    )
    assert block_kit_problems(view, surface="modal") == []
    for path in sorted((REFERENCE / "block_kit_views_sdk_fixtures").glob("*.json")):
        fixture = json.loads(path.read_text())
        assert block_kit_problems(fixture, surface=fixture["type"]) == [], path.name


def test_block_kit_checker_rejects_unknown_surface():
    with pytest.raises(ValueError, match="surface"):
        block_kit_problems({}, surface="email")


async def test_stub_collects_violations_as_they_arrive(bench):
    client = bench.client()
    await client.chat_postMessage(channel="C111", text="fine", blocks=[section("ok")])
    bench.assert_no_violations()
    await client.chat_postMessage(channel="C111", text="too big", blocks=[{"type": "divider"}] * 51)
    await client.views_open(
        trigger_id=bench.issue_trigger_id(), view=modal(title={"type": "plain_text", "text": _long(30)})
    )
    await AsyncWebhookClient(bench.response_url("r")).send(text="x", blocks=[section(_long(3001))])
    assert [v.source for v in bench.violations] == ["chat.postMessage", "views.open", "response_url:r"]
    with pytest.raises(AssertionError, match="3 Block Kit violation"):
        bench.assert_no_violations()
    bench.clear()  # or the fixture would fail this test at teardown


async def test_bench_exit_fails_on_violations():
    with pytest.raises(AssertionError, match="Block Kit violation"), SlackBench() as bench:
        await bench.client().chat_postMessage(channel="C111", text=_long(40_001))


async def test_strict_mode_rejects_invalid_blocks_like_slack():
    with SlackBench(reject_invalid_blocks=True, fail_on_violations=False) as bench:
        err = await api_error(bench.client().chat_postMessage(channel="C111", text="x", blocks=[section(_long(3001))]))
        assert err.response["error"] == "invalid_blocks"
        err = await api_error(
            bench.client().views_open(trigger_id=bench.issue_trigger_id(), view=modal([{"type": "divider"}] * 101))
        )
        assert err.response["error"] == "invalid_arguments"


# -- payloads and signing


def test_signature_matches_slacks_documented_example():
    example = json.loads((REFERENCE / "slash_command_slack_docs_signing_example.json").read_text())
    body = (REFERENCE / example["body_file"]).read_bytes().strip()
    sender = SlackRequestSender("http://bot", example["signing_secret"])
    headers = sender.sign(body, timestamp=int(example["X-Slack-Request-Timestamp"]))
    assert headers["X-Slack-Signature"] == example["X-Slack-Signature"]


def test_payloads_have_slacks_shape():
    factory = SlackPayloadFactory()
    sample = json.loads((REFERENCE / "slash_command_bolt_test.decoded.json").read_text())
    cmd = factory.slash_command("status 42 & <!channel>", command="/hello-world")
    fields = dict(parse_qsl(cmd.body.decode(), keep_blank_values=True))
    assert cmd.content_type == "application/x-www-form-urlencoded"
    assert set(sample) - {"enterprise_id", "enterprise_name"} <= set(fields)
    assert fields["text"] == "status 42 & <!channel>" and fields["command"] == "/hello-world"

    for built, sample_file in [
        (factory.block_action("a", "click_me_123", block_id="b"), "block_actions.json"),
        (factory.view_submission("view-id", {"hspI": {"maBWU": text_value("test")}}), "view_submission.json"),
        (factory.view_closed("view-id"), "view_closed.json"),
        (factory.shortcut("test-shortcut"), "shortcut_global.json"),
        (factory.block_suggestion("es_a", "search word", block_id="es_b"), None),
    ]:
        (raw,) = [v for k, v in parse_qsl(built.body.decode()) if k == "payload"]
        assert json.loads(raw) == built.payload
        if sample_file:
            sample = json.loads((REFERENCE / sample_file).read_text())
            missing = set(sample) - set(built.payload) - {"enterprise"}
            assert not missing, (sample_file, missing)
            assert built.payload["type"] == sample["type"]

    event = factory.event_callback({"type": "app_mention", "text": "hi", "user": "W111", "channel": "C111"})
    sample = json.loads((REFERENCE / "event_callback_message.json").read_text())
    assert event.content_type == "application/json" and set(sample) <= set(json.loads(event.body))
    envelope = factory.socket_mode_envelope(cmd)
    assert envelope["type"] == "slash_commands" and envelope["payload"] == cmd.payload


# -- signed requests vs a real bolt app


def _first_values(headers: dict[str, Any]) -> dict[str, str]:
    """bolt keeps each header as a list of values."""
    return {k.lower(): v[0] if isinstance(v, list) else v for k, v in headers.items()}


class BoltUnderTest:
    def __init__(self, bench: SlackBench) -> None:
        self.bench = bench
        self.seen: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        app = AsyncApp(signing_secret=SIGNING_SECRET, client=bench.client())

        @app.command("/headless")
        async def command(ack, body, respond, request):
            self.seen.append(("command", body, _first_values(request.headers)))
            await ack("on it")
            await respond(f"done: {body['text']}")

        @app.action("open")
        async def open_modal(ack, body, client):
            self.seen.append(("action", body, {}))
            await ack()
            await client.views_open(trigger_id=body["trigger_id"], view=modal(external_id="from-action"))

        @app.view("schedule")
        async def submitted(ack, body, view):
            self.seen.append(("view_submission", body, {}))
            await ack()

        @app.view_closed("schedule")
        async def closed(ack, body):
            self.seen.append(("view_closed", body, {}))
            await ack()

        @app.shortcut("new-operation")
        async def shortcut(ack, body):
            self.seen.append(("shortcut", body, {}))
            await ack()

        @app.options("device")
        async def options(ack, body):
            self.seen.append(("options", body, {}))
            await ack(options=[{"text": {"type": "plain_text", "text": body["value"]}, "value": body["value"]}])

        @app.event("app_mention")
        async def mention(body, request):
            self.seen.append(("event", body, _first_values(request.headers)))

        handler = AsyncSlackRequestHandler(app)

        async def endpoint(req: Request):
            return await handler.handle(req)

        self.asgi = Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])])

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.seen]

    async def wait_seen(self, count: int, within: float = 3.0) -> None:
        deadline = time.monotonic() + within
        while len(self.seen) < count and time.monotonic() < deadline:  # noqa: ASYNC110 - filled by another thread
            await asyncio.sleep(0.01)
        assert len(self.seen) >= count, self.kinds()


@pytest.fixture
def bolt(bench):
    bot = BoltUnderTest(bench)
    with serve_asgi(bot.asgi) as server:
        bot.sender = SlackRequestSender(server.url, SIGNING_SECRET, bench=bench)
        yield bot


def test_signed_slash_command_is_acked_and_bad_ones_are_refused(bolt):
    sender, bench = bolt.sender, bolt.bench
    for options in ({"signature": "bad"}, {"signature": "missing"}, {"stale": True}):
        resp = sender.send(sender.slash_command("status 42"), **options)
        assert resp.status_code == 401, options
    assert bolt.seen == []

    cmd = sender.slash_command("status 42")
    resp = sender.send(cmd)
    assert resp.status_code == 200 and resp.text == "on it"
    assert bolt.kinds() == ["command"] and bolt.seen[0][1]["text"] == "status 42"
    (answer,) = bench.wait_for_response(cmd.response_key)
    assert answer["text"] == "done: status 42"
    assert bench.calls_to("auth.test"), "bolt checked its token against the stub"
    assert SignatureVerifier(SIGNING_SECRET).is_valid_request(resp.request.content, dict(resp.request.headers))


def test_replay_and_retry_headers(bolt):
    sender = bolt.sender
    first = sender.send(sender.slash_command("once"))
    replayed = sender.replay(first)
    assert replayed.request.content == first.request.content
    assert replayed.request.headers["x-slack-signature"] == first.request.headers["x-slack-signature"]
    assert replayed.request.headers["x-slack-request-timestamp"] == first.request.headers["x-slack-request-timestamp"]
    assert replayed.status_code == 200  # bolt has no replay protection inside the 5-minute window
    assert sender.replay().request.content == first.request.content  # default: the last request sent

    retried = sender.send(sender.slash_command("again"), retry_num=1, retry_reason="http_timeout")
    assert retried.status_code == 200
    headers = bolt.seen[-1][2]
    assert headers["x-slack-retry-num"] == "1" and headers["x-slack-retry-reason"] == "http_timeout"


async def test_interactivity_and_events_reach_bolt(bolt):
    sender, bench = bolt.sender, bolt.bench
    posted = await bench.client().chat_postMessage(channel="C111", text="Operation 42", blocks=[section("op 42")])

    resp = await sender.send_async(sender.block_action("open", "42", message_ts=posted["ts"]))
    assert resp.status_code == 200
    (opened,) = await bench.wait_for_async("views.open")
    assert opened.ok, opened.response  # the trigger_id came from the bench and was fresh
    action_body = bolt.seen[-1][1]
    assert action_body["message"]["text"] == "Operation 42" and action_body["container"]["message_ts"] == posted["ts"]

    view_id = opened.response["view"]["id"]
    state = {"when": {"when": text_value("tomorrow 9am")}, "kind": {"kind": select_value("reboot")}}
    resp = await sender.send_async(sender.view_submission(view=view_id, state_values=state))
    assert resp.status_code == 200
    submitted = bolt.seen[-1][1]
    assert submitted["view"]["id"] == view_id and submitted["view"]["callback_id"] == "schedule"
    assert submitted["view"]["state"]["values"]["kind"]["kind"]["selected_option"]["value"] == "reboot"

    assert (await sender.send_async(sender.view_closed(view=view_id))).status_code == 200
    assert (await sender.send_async(sender.shortcut("new-operation"))).status_code == 200
    options = await sender.send_async(sender.block_suggestion("device", "SN-12", view=view_id))
    assert options.status_code == 200 and options.json()["options"][0]["value"] == "SN-12"

    resp = await sender.send_async(sender.app_mention("<@U0BOT111> status"), retry_num=2, retry_reason="http_error")
    assert resp.status_code == 200
    await bolt.wait_seen(6)
    assert bolt.kinds() == ["action", "view_submission", "view_closed", "shortcut", "options", "event"]
    assert bolt.seen[-1][2]["x-slack-retry-num"] == "2"

    bad = await sender.send_async(sender.shortcut("new-operation"), signature="bad")
    assert bad.status_code == 401 and len(bolt.seen) == 6


async def test_sender_defaults_come_from_the_bench(bench):
    sender = SlackRequestSender("http://127.0.0.1:1/custom/events", SIGNING_SECRET, bench=bench)
    assert sender.url == "http://127.0.0.1:1/custom/events"
    req = sender.block_action("a", "v")
    assert req.response_key and req.response_url == bench.response_url(req.response_key)
    assert (await bench.client().views_open(trigger_id=req.trigger_id, view=modal()))["ok"]
    with pytest.raises(httpx.ConnectError):
        sender.send(req)


async def test_slack_bench_fixture_is_importable(slack_bench):
    assert slack_bench.api_url.endswith("/api/")
    assert (await slack_bench.client().auth_test())["team_id"] == slack_bench.team_id


# -- what the console needs: observers, ts from the clock, earlier messages, a server on the running loop


async def test_observers_see_each_call_and_response_url_post_once_answered(bench):
    seen: list[tuple[str, Any]] = []
    bench.on_call(lambda call: seen.append((call.method, call.response.get("ok"))))
    bench.on_response(lambda posted: seen.append(("response_url", posted.body.get("text"))))
    client = bench.client()
    await client.chat_postMessage(channel="C111", text="hello")
    with pytest.raises(SlackApiError):
        await client.chat_update(channel="C111", ts="1.000001", text="nothing there")
    url = bench.response_url()
    async with httpx.AsyncClient() as http:
        await http.post(url, json={"text": "answered", "response_type": "ephemeral"})
    assert seen == [("chat.postMessage", True), ("chat.update", False), ("response_url", "answered")]


async def test_an_observer_runs_before_the_answer_goes_back(bench):
    """What the console renders appears before the bot's next step: the observer ran when the call returned."""
    posted: list[str] = []
    bench.on_call(lambda call: posted.append(call.response["ts"]))
    answer = await bench.client().chat_postMessage(channel="C111", text="hello")
    assert posted == [answer["ts"]]


def test_wall_clock_ts_are_slacks_and_never_those_of_an_earlier_stub():
    first = SlackWebApiStub(wall_clock_ts=True)
    earlier = [first._next_ts() for _ in range(3)]
    later = SlackWebApiStub(wall_clock_ts=True)._next_ts()
    assert all(TS.match(ts) for ts in [*earlier, later])
    assert len(set(earlier)) == 3 and earlier == sorted(earlier, key=float)
    assert float(later) > float(earlier[-1])
    assert abs(float(later) - time.time()) < 3600, "a real time, like Slack's"
    counted = SlackWebApiStub()
    assert counted._next_ts() == "1700000000.000100", "the tests' stub still counts from a fixed start"


async def test_replies_to_a_thread_from_before_the_stub_started_are_accepted_when_asked():
    before = SlackWebApiStub(wall_clock_ts=True)._next_ts()
    strict = SlackBench(wall_clock_ts=True)
    lenient = SlackBench(wall_clock_ts=True, threads_before_start=True)
    with strict, lenient:
        after = lenient._next_ts()
        refused = await api_error(strict.client().chat_postMessage(channel="C111", thread_ts=before, text="reply"))
        assert refused.response["error"] == "thread_not_found"
        reply = await lenient.client().chat_postMessage(channel="C111", thread_ts=before, text="reply")
        assert reply["ok"] and reply["message"]["thread_ts"] == before
        unknown = await api_error(lenient.client().chat_postMessage(channel="C111", thread_ts=after, text="x"))
        assert unknown.response["error"] == "thread_not_found", "a message of this run it never posted"


async def test_put_message_holds_a_message_updates_then_find(bench):
    held = bench.put_message("C111", "1600000000.000100", {"text": "earlier", "blocks": [section("earlier")]})
    assert held["user"] == bench.bot_user_id and held["ts"] == "1600000000.000100"
    answer = await bench.client().chat_update(channel="C111", ts="1600000000.000100", text="updated")
    assert answer["ok"] and bench.message("C111", "1600000000.000100")["text"] == "updated"


async def test_loop_server_serves_on_the_running_loop():
    loop_threads: list[int] = []
    stub = SlackWebApiStub()
    stub.on_call(lambda call: loop_threads.append(threading.get_ident()))
    server = await LoopServer(stub.app).start()
    stub.public_url = server.url
    try:
        answer = await AsyncWebClient(token=stub.bot_token, base_url=f"{server.url}/api/").auth_test()
        assert answer["ok"]
    finally:
        await server.stop()
    assert loop_threads == [threading.get_ident()]
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(server.url)


# -- where the kit lives


def _imports(path: Path) -> list[str]:
    """Absolute module names ``path`` imports (relative imports are the kit's own modules)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_the_kit_imports_nothing_of_the_bot_or_the_tests():
    """bot/slackkit ships with the console and serves tests and benchmarks: it stands on its own."""
    kit = Path(bot.slackkit.__file__).parent
    found = {
        f"{path.name}: {name}"
        for path in sorted(kit.glob("*.py"))
        for name in _imports(path)
        if name.split(".")[0] in ("bot", "tests", "benchmarks", "pytest")
    }
    assert not found


def test_benchmarks_import_the_kit_without_editing_sys_path():
    benchmarks = Path(bot.slackkit.__file__).parents[2] / "benchmarks"
    scripts = sorted(benchmarks.glob("*.py"))
    assert scripts
    for path in scripts:
        text = path.read_text()
        assert "sys.path" not in text, path.name
        assert not any(name.split(".")[0] == "tests" for name in _imports(path)), path.name
