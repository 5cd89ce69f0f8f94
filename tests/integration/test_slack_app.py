"""The Slack front door through the real HTTP endpoint: signed requests in, Web API / response_url calls out.

The bot runs as ``headless-bot serve`` builds it; Slack's Web API is the local bench, the Control API the
simulator, both over real HTTP.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from bot.simulator import DOCUMENTED_SERIAL
from tests.support.acks import ACK_BUDGET
from tests.support.flows import click_decision, ops_for, schedule_and_confirm, wait_until
from tests.support.harness import APPROVER, Harness, bot_harness
from tests.support.paths import ROOT
from tests.support.slack_text import texts

SCHEMA = ROOT.parent / "shared" / "reference" / "slack" / "manifest.schema.1.0.0.json"


def seed(h: Harness, count: int, *, serial: str = DOCUMENTED_SERIAL) -> list[str]:
    """``count`` operations, created a minute apart (the last is the newest); returns their ids in order."""
    now = h.sim_state.now()
    ids = []
    for i in range(count):
        op = h.sim_state.create_operation(
            serial,
            "firmware_update",
            now + timedelta(days=1, minutes=i),
            {"version": f"2.{i}"},
            created_at=now - timedelta(minutes=count - i),
        )
        ids.append(op.id)
    return ids


@pytest.fixture(scope="module")
def h() -> Any:
    with bot_harness() as harness:
        yield harness


@pytest.fixture(autouse=True)
def _clean(h: Harness) -> Any:
    h.bench.clear()
    h.sim_state.faults.latency = 0
    h.sim_state.faults.reject_token = False
    h.sim_state.faults.error_rate = 0
    yield
    h.bench.assert_no_violations()


def test_help_is_the_ack_itself(h: Harness) -> None:
    response, _ = h.command("help")
    assert response.status_code == 200
    body = response.json()
    assert body["response_type"] == "ephemeral"
    assert "/headless list" in texts(body)
    assert "/headless status TXN_ID" in texts(body)


def test_near_miss_suggests_the_right_word(h: Harness) -> None:
    response, _ = h.command("stauts txn_1")
    assert "Did you mean `status`?" in texts(response.json())


def test_unknown_word_is_escaped(h: Harness) -> None:
    response, _ = h.command("<!channel>")
    shown = texts(response.json())
    assert "<!channel>" not in shown
    assert "/headless list" in shown


def test_list_newest_first_and_filters(h: Harness) -> None:
    ids = seed(h, 3)
    other = h.sim_state.create_operation(
        sorted(h.sim_state.devices)[1], "reboot", h.sim_state.now() + timedelta(hours=5)
    )
    response, request = h.command(f"list {DOCUMENTED_SERIAL}")
    assert response.status_code == 200 and response.text == ""
    (answer,) = h.responses(request)
    shown = texts(answer.body)
    positions = [shown.index(f"`{op_id}`") for op_id in ids]
    assert positions == sorted(positions, reverse=True), "newest first"
    assert other.id not in shown
    assert "<!date^" in shown and "UTC" in shown
    assert answer["response_type"] == "ephemeral"

    h.sim_state.force_status(ids[0], "failed")
    _, request = h.command("list status=failed")
    (answer,) = h.responses(request)
    shown = texts(answer.body)
    assert ids[0] in shown and ids[1] not in shown
    assert ":x: Failed" in shown


def test_list_paginates_with_more_button(h: Harness) -> None:
    serial = sorted(h.sim_state.devices)[2]
    ids = seed(h, 40, serial=serial)
    _, request = h.command(f"list {serial}")
    (first,) = h.responses(request)
    assert len(first["blocks"]) <= 50
    assert "1–15 of 40" in texts(first.body)
    more = next(b for b in first["blocks"] if b["type"] == "actions")["elements"][0]
    assert more["text"]["text"] == "More"
    click = h.sender.block_action(
        "list_more", more["value"], block_id="list_more", is_ephemeral=True, response_url=None
    )
    assert h.sender.send(click).status_code == 200
    (second,) = h.responses(click)
    assert "16–30 of 40" in texts(second.body)
    assert second["replace_original"] is True
    assert ids[-16] in texts(second.body) and ids[-1] not in texts(second.body)


def more_button(message: Any) -> dict[str, Any]:
    return next(b for b in message["blocks"] if b["type"] == "actions")["elements"][0]


def click_more(h: Harness, value: str) -> Any:
    click = h.sender.block_action("list_more", value, block_id="list_more", is_ephemeral=True, response_url=None)
    assert h.sender.send(click).status_code == 200
    (answer,) = h.responses(click)
    return answer


def listed(message: Any) -> list[str]:
    """The operation ids of a list page, top to bottom."""
    return re.findall(r"`(txn_[0-9]+)`", texts(message.body))


def test_more_neither_repeats_nor_skips_when_operations_arrive_between_pages(h: Harness) -> None:
    """The More button carries where the page ended, not a position: new operations at the top do not push shown
    ones onto the next page (issue #12, item 15)."""
    serial = sorted(h.sim_state.devices)[4]
    ids = seed(h, 40, serial=serial)
    _, request = h.command(f"list {serial}")
    (first,) = h.responses(request)
    assert listed(first) == ids[::-1][:15]
    newer = seed(h, 3, serial=serial)  # created while the first page is on screen
    second = click_more(h, more_button(first)["value"])
    assert listed(second) == ids[::-1][15:30], "the next page starts right after the last one shown"
    assert not set(listed(second)) & set(newer)
    assert "of 43" in texts(second.body)
    third = click_more(h, more_button(second)["value"])
    assert listed(third) == ids[::-1][30:], "and so on to the end, nothing skipped"
    assert not [b for b in third["blocks"] if b["type"] == "actions"], "no More after the last page"


def test_a_more_button_posted_before_cursors_still_answers(h: Harness) -> None:
    """Buttons already in Slack carry an offset: they still page (by position), and one past the end says so."""
    serial = sorted(h.sim_state.devices)[5]
    ids = seed(h, 20, serial=serial)
    old = click_more(h, json.dumps({"serial": serial, "status": None, "offset": 15}))
    assert listed(old) == ids[::-1][15:]
    assert "16–20 of 20" in texts(old.body)
    past = click_more(h, json.dumps({"serial": serial, "status": None, "offset": 30}))
    shown = texts(past.body)
    assert "No more operations" in shown and "/headless list" in shown, shown


def test_newest_first_holds_for_operations_scheduled_and_created_together(h: Harness) -> None:
    """One request for several devices creates operations in the same second, for the same time: the newest (the
    higher id) still comes first, whatever order the API lists them in (issue #12, item 15)."""
    when, created = h.sim_state.now() + timedelta(days=2), h.sim_state.now() - timedelta(seconds=1)
    serial = sorted(h.sim_state.devices)[6]
    ids = [h.sim_state.create_operation(serial, "reboot", when, {}, created_at=created).id for _ in range(3)]
    _, request = h.command(f"list {serial}")
    (answer,) = h.responses(request)
    assert listed(answer) == ids[::-1]


def test_list_right_after_the_bot_created_shows_the_operation() -> None:
    """Lists are shared for ``LIST_CACHE_SECONDS``; an operation the bot itself creates drops the shared answer, so
    the next ``/headless list`` shows it (issue #12, item 6)."""
    with bot_harness(list_cache_seconds=60) as harness:
        serial = sorted(harness.sim_state.devices)[3]
        _, request = harness.command(f"list {serial}")
        assert "No operations" in texts(harness.responses(request)[0].body)
        request_id = schedule_and_confirm(harness, f"schedule {serial} reboot tomorrow at 2am")
        click_decision(harness, "Approve", APPROVER, request_id)
        (op,) = wait_until(lambda: ops_for(harness, serial), what="the operation")
        wait_until(lambda: [c for c in harness.bench.calls_to("chat.update") if op.id in texts(c.body)],
                   what="the bot to hear back from its create")  # fmt: skip
        _, request = harness.command(f"list {serial}")
        shown = texts(harness.responses(request)[0].body)
        assert f"`{op.id}`" in shown and "No operations" not in shown, shown


def test_status_shows_device(h: Harness) -> None:
    (op_id,) = seed(h, 1)
    _, request = h.command(f"status {op_id}")
    (answer,) = h.responses(request)
    shown = texts(answer.body)
    assert op_id in shown and DOCUMENTED_SERIAL in shown
    assert "online" in shown or "offline" in shown
    buttons = [e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"] for b in buttons] == ["Refresh"]


def test_status_unknown_operation_says_what_to_do(h: Harness) -> None:
    _, request = h.command("status txn_999999")
    (answer,) = h.responses(request)
    shown = texts(answer.body)
    assert "No operation `txn_999999`" in shown
    assert "/headless list" in shown


def test_refresh_acks_at_once_then_answers_and_keeps_a_cooldown(h: Harness) -> None:
    (op_id,) = seed(h, 1)
    before = h.metric("headless_bot_control_api_seconds_count", endpoint="refresh")
    response, request = h.command(f"refresh {op_id}")
    assert "Refreshing" in texts(response.json())
    (answer,) = h.responses(request)
    assert answer["replace_original"] is True
    assert "refreshed just now" in texts(answer.body)

    _, again = h.command(f"refresh {op_id}")
    (cached,) = h.responses(again)
    assert "from cache" in texts(cached.body)
    after = h.metric("headless_bot_control_api_seconds_count", endpoint="refresh")
    assert after - before == 1, "the second refresh inside the cooldown must not query the device"


def test_refresh_button(h: Harness) -> None:
    (op_id,) = seed(h, 1)
    click = h.sender.block_action("refresh_operation", op_id, block_id="operation_actions")
    h.sender.send(click)
    (answer,) = h.responses(click)
    assert op_id in texts(answer.body)
    assert answer["replace_original"] is False, "a channel message must never be overwritten by one person's answer"


def test_refresh_button_with_edited_value_is_refused(h: Harness) -> None:
    click = h.sender.block_action("refresh_operation", "<!channel> ../../etc", block_id="operation_actions")
    h.sender.send(click)
    (answer,) = h.responses(click)
    assert "broken" in texts(answer.body)
    assert "<!channel>" not in texts(answer.body)


def test_api_token_rejected(h: Harness) -> None:
    h.sim_state.faults.reject_token = True
    _, request = h.command("list")
    (answer,) = h.responses(request)
    shown = texts(answer.body)
    assert "rejected the bot's token" in shown
    assert "CONTROL_API_TOKEN" in shown
    assert "Traceback" not in shown


def test_api_slow_gets_progress_then_clear_error(h: Harness) -> None:
    h.sim_state.faults.latency = 10  # longer than the bot's 3 s timeout (harness settings)
    started = time.time()
    response, request = h.command("status txn_10000")
    ack_seconds = time.time() - started
    assert response.status_code == 200
    assert ack_seconds < ACK_BUDGET, f"ack took {ack_seconds:.2f} s"
    progress, final = h.responses(request, count=2, timeout=15)
    assert progress.at - started < 3.5
    assert "Still waiting for the Control API" in texts(progress.body)
    assert final["replace_original"] is True
    assert "not answering" in texts(final.body) or "took too long" in texts(final.body)


def test_api_errors_do_not_leak_a_trace(h: Harness) -> None:
    h.sim_state.faults.error_rate = 1.0
    _, request = h.command("list")
    answers = h.responses(request, timeout=15)
    shown = texts(answers[-1].body)
    assert "not answering" in shown
    assert "Traceback" not in shown and "500" not in shown.split("(")[0]


def test_bad_signature_and_stale_timestamp_are_refused(h: Harness) -> None:
    for kwargs in ({"signature": "bad"}, {"signature": "missing"}, {"stale": True}):
        request = h.sender.slash_command("list")
        response = h.sender.send(request, **kwargs)
        assert response.status_code == 401, kwargs
    time.sleep(0.5)
    assert h.bench.responses == [], "a refused request must do nothing"


def test_health_ready_metrics(h: Harness) -> None:
    health = h.get("/healthz")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["version"]
    assert body["control_api"] in ("ok", "unauthorized", "unavailable")
    assert "database" in body
    assert h.get("/readyz").status_code == 200
    h.command("help")
    metrics = h.get("/metrics").text
    assert 'headless_bot_requests_total{command="help",outcome="ok"}' in metrics
    assert "headless_bot_ack_seconds_bucket" in metrics
    wait_for_lag = time.monotonic() + 5  # the loop watch ticks every 100 ms from start
    while h.metric("headless_bot_event_loop_lag_seconds_count") < 1 and time.monotonic() < wait_for_lag:
        time.sleep(0.05)
    assert h.metric("headless_bot_event_loop_lag_seconds_count") >= 1


def test_healthz_stays_200_when_the_api_is_down() -> None:
    with bot_harness() as harness:
        harness.sim.stop()
        harness.runtime._health = None  # forget the cached state so the probe asks again
        response = harness.get("/healthz")
        assert response.status_code == 200
        assert response.json()["control_api"] == "unavailable"
        _, request = harness.command("status txn_1")
        (answer,) = harness.responses(request, timeout=20)
        assert "not answering" in texts(answer.body)


def test_socket_mode_smoke() -> None:
    from tests.support.socket_mode import SocketModeStub

    stub = SocketModeStub().start()
    try:
        with bot_harness(socket_mode=True, bench_options={"socket_mode_url": stub.url}) as harness:
            deadline = time.monotonic() + 10
            while stub.connections == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert stub.connections >= 1
            payload = harness.sender.slash_command("help").payload
            envelope_id = stub.send("slash_commands", dict(payload))
            ack = stub.wait_for_ack(envelope_id)
            assert "/headless list" in json.dumps(ack.get("payload", {}))
            assert harness.get("/slack/events").status_code in (404, 405), "no HTTP events in Socket Mode"
    finally:
        stub.stop()


def test_manifest_is_valid_and_names_the_command() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert commands == ["/headless"]
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert any(s["type"] == "global" for s in manifest["features"]["shortcuts"])
    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
    assert {"schedule_operation", "start_rollout"} <= set(shortcuts), "the global shortcuts stay"
    assert shortcuts["schedule_from_message"]["type"] == shortcuts["watch_operation"]["type"] == "message"
    assert shortcuts["watch_operation"]["name"] == "Watch this operation"
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True, "the messages tab is kept"
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert set(manifest["oauth_config"]["scopes"]["bot"]) <= {
        "commands", "chat:write", "users:read", "usergroups:read", "channels:read", "groups:read", "files:read",
    }  # fmt: skip
    if not SCHEMA.exists():
        pytest.skip(f"Slack's manifest schema is not at {SCHEMA}")
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(manifest), key=str)
    assert errors == [], [e.message for e in errors]


def test_times_are_utc_aware() -> None:
    # the clock every part uses is aware UTC
    from bot.clock import utcnow

    assert utcnow().tzinfo is UTC
    assert isinstance(utcnow(), datetime)


def test_watch_checks_the_operation_exists_and_unwatch_undoes_it(h: Harness) -> None:
    (op_id,) = seed(h, 1)
    _, request = h.command("watch txn_99999 <#C0NOTIFY|ops-notify>")
    (answer,) = h.responses(request)
    assert "No operation `txn_99999`" in texts(answer.body)

    _, request = h.command(f"watch {op_id} <#C0NOTIFY|ops-notify>")
    (answer,) = h.responses(request)
    assert f"<#C0NOTIFY> now follows `{op_id}`" in texts(answer.body)
    _, request = h.command(f"watch {op_id} #C0NOTIFY")
    (answer,) = h.responses(request)
    assert "already follows" in texts(answer.body)

    _, request = h.command(f"unwatch {op_id} <#C0NOTIFY|ops-notify>")
    (answer,) = h.responses(request)
    assert "no longer follows" in texts(answer.body)
    _, request = h.command(f"unwatch {op_id}")  # the current channel, which never followed it
    (answer,) = h.responses(request)
    assert "was not following" in texts(answer.body)


def announcements(h: Harness, channel: str, op_id: str) -> list[Any]:
    return [m for m in h.bench.messages_in(channel) if f"`{op_id}`" in m.get("text", "")]


def test_watch_tells_the_channel_once(h: Harness) -> None:
    """The channel that starts following hears it from the bot (that post is also the proof the bot can post there);
    asking again does not repeat it."""
    (op_id,) = seed(h, 1)
    _, request = h.command(f"watch {op_id} <#C0NOTIFY|ops-notify>")
    assert f"<#C0NOTIFY> now follows `{op_id}`" in texts(h.responses(request)[0].body)
    (posted,) = announcements(h, "C0NOTIFY", op_id)
    assert "<@W111> asked for the status changes" in posted["text"] and f"/headless unwatch {op_id}" in posted["text"]
    _, request = h.command(f"watch {op_id} <#C0NOTIFY|ops-notify>")
    assert "already follows" in texts(h.responses(request)[0].body)
    assert len(announcements(h, "C0NOTIFY", op_id)) == 1


@pytest.mark.parametrize(
    ("channel", "setup", "words"),
    [
        ("C0OUTSIDE", {"is_member": False}, "Invite <@U0BOT111> to <#C0OUTSIDE> first"),
        ("G0SECRET", {"is_member": False, "is_private": True}, "Invite <@U0BOT111> to <#G0SECRET> first"),
        ("C0ARCHIVED", {"is_archived": True}, "<#C0ARCHIVED> is archived"),
        ("C0FLAKY", {"slack_down": True}, "Slack did not take my message in <#C0FLAKY> just now"),
        ("D0OTHERS", None, "I can't post in this conversation"),
    ],
    ids=["public-not-invited", "private-not-invited", "archived", "slack-500", "someone-elses-dm"],
)
def test_watch_refuses_a_channel_the_bot_cannot_post_in(
    h: Harness, channel: str, setup: dict[str, Any] | None, words: str
) -> None:
    """``watch TXN #channel`` checks the bot can post there, and refuses plainly without creating the watch
    (issue #12, item 15); once the bot is invited, the same command works."""
    (op_id,) = seed(h, 1)
    slack_down = bool(setup and setup.get("slack_down"))
    if setup is not None:
        h.bench.add_channel(channel, channel.lower(), **{k: v for k, v in setup.items() if k != "slack_down"})
    if slack_down:
        h.bench.server_error("chat.postMessage", status=500)
    text = f"watch {op_id} #{channel}" if not channel.startswith("D") else f"watch {op_id}"
    _, request = h.command(text, channel_id=channel)
    shown = texts(h.responses(request)[0].body)
    assert words in shown, shown
    assert "Nothing was set up" in shown, shown
    assert "now follows" not in shown and "already follows" not in shown

    h.bench.add_channel(channel, channel.lower())  # invited (or restored): the bot can post there now
    _, request = h.command(text, channel_id=channel)
    shown = texts(h.responses(request)[0].body)
    assert f"<#{channel}> now follows `{op_id}`" in shown, "the refused attempt must not have set anything up"
    assert len(announcements(h, channel, op_id)) == 1


def test_replayed_request_is_refused_and_changes_nothing(h: Harness) -> None:
    (op_id,) = seed(h, 1)
    request = h.sender.slash_command(f"watch {op_id} <#C0NOTIFY|ops-notify>")
    first = h.sender.send(request)
    assert first.status_code == 200
    h.responses(request)
    replayed = h.sender.replay(first)
    assert replayed.status_code == 401
    time.sleep(0.5)
    assert len(h.bench.responses_for(request.response_key)) == 1, "the replay did nothing"


def test_answers_reuse_one_connection_to_slack(h: Harness) -> None:
    """Answers through response_url and Web API calls go over the bot's pooled, kept-alive session: one after the
    other, they come from the same connection instead of a new one (and a TLS handshake, in production) each."""
    (op_id,) = seed(h, 1)
    peers = []
    for _ in range(3):
        _, request = h.command(f"status {op_id}")
        (answer,) = h.responses(request)
        peers.append(answer.peer)
    assert None not in peers and len(set(peers)) == 1, peers


def test_replay_guard_remembers_only_signatures_that_verify() -> None:
    from slack_sdk.signature import SignatureVerifier

    from bot.server import ReplayGuard

    guard = ReplayGuard("guard-secret")
    body, ts = b"command=%2Fheadless&text=help", str(int(time.time()))
    signature = SignatureVerifier("guard-secret").generate_signature(timestamp=ts, body=body)
    real = {"x-slack-request-timestamp": ts, "x-slack-signature": signature}
    forged = {**real, "x-slack-signature": "v0=" + "0" * 64}
    for _ in range(3):
        assert guard.first_time(body, forged, now=0.0), "a forged signature is bolt's to refuse, not a replay"
    assert guard._seen == {}, "forgeries fill no memory"
    assert guard.first_time(body, real, now=1.0)
    assert not guard.first_time(body, real, now=2.0), "the same signed request again: a replay"
    assert guard.first_time(body, {}, now=3.0), "unsigned: bolt refuses it"
    guard.first_time(body, forged, now=1.0 + ReplayGuard.WINDOW_SECONDS)
    assert guard._seen == {}, "out of the window: forgotten"


def test_devices_without_an_inventory_says_how_to_set_one(h: Harness) -> None:
    _, request = h.command("devices site:san-jose")
    (answer,) = h.responses(request)
    shown = texts(answer.body)
    assert "No device inventory is configured" in shown and "`INVENTORY_FILE`" in shown
    assert "inventory" not in h.get("/readyz").json()
