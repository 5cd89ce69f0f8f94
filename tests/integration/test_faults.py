"""Faults, through the real HTTP endpoint: the Control API slow, down, broken or refusing the token; Slack's Web
API answering 429 and 500.

For each: the person hears about it in plain words within Slack's deadline (the ack itself within its 3 s, the
follow-up within a few seconds), the bot stays up (``/healthz`` 200, the next command works), no request or
approval is lost, and the bot recovers by itself once the fault ends. The harness uses 3 s Control API timeouts
and a 0.3 s maintenance loop so the whole file stays fast.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.domain.requests import ItemState, RequestState
from bot.simulator import DOCUMENTED_SERIAL, create_app
from bot.slackkit import RESPONSE_URL
from bot.slackkit.servers import ThreadedServer
from tests.support.acks import ACK_BUDGET
from tests.support.flows import approval_posts, buttons, db, ops_for, wait_until
from tests.support.harness import APPROVAL_CHANNEL, APPROVER, REQUESTER, Harness, OffsetClock, bot_harness
from tests.support.leaks import everything_sent, no_leak
from tests.support.slack_text import texts


@pytest.fixture(scope="module")
def h(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    database_url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('faults') / 'bot.sqlite3'}"
    clock = OffsetClock()
    with bot_harness(database_url=database_url, clock=clock, maintenance_interval=0.3) as harness:
        harness.clock = clock  # type: ignore[attr-defined]
        harness.database_url = database_url  # type: ignore[attr-defined]
        harness.extra_servers = []  # type: ignore[attr-defined]
        yield harness
        for server in harness.extra_servers:  # type: ignore[attr-defined]
            server.stop()


@pytest.fixture(autouse=True)
def _clean(h: Harness) -> Iterator[None]:
    heal(h)
    h.bench.clear()
    h.clock.offset = 0.0  # type: ignore[attr-defined]
    yield
    heal(h)
    h.bench.assert_no_violations()
    assert_alive(h)


# ------------------------------------------------------------------------------------------------- helpers


def heal(h: Harness) -> None:
    """Every fault off, the simulator serving, the health cache forgotten."""
    faults = h.sim_state.faults
    faults.latency, faults.hang, faults.error_rate = 0, False, 0
    faults.malformed, faults.reject_token, faults.close_connection = False, False, False
    h.bench.clear_faults()
    if not sim_is_up(h):
        restart_sim(h)
    h.runtime._health = None
    h.runtime.directory.forget()


def sim_is_up(h: Harness) -> bool:
    import httpx

    try:
        httpx.get(f"{h.sim.url}/api/v1/", timeout=2)
    except httpx.TransportError:
        return False
    return True


def restart_sim(h: Harness) -> None:
    """The Control API comes back, on the same address, with the same world."""
    server = ThreadedServer(create_app(state=h.sim_state), port=h.sim.port).start()
    h.extra_servers.append(server)  # type: ignore[attr-defined]
    h.sim = server


def stop_sim(h: Harness) -> None:
    """The Control API goes away: connections are refused."""
    h.sim.stop()
    assert not sim_is_up(h)


def timed_command(h: Harness, text: str, **kwargs: Any) -> tuple[Any, Any, float]:
    """Send ``/headless text``; the HTTP response, the request, and how long the ack took (seconds)."""
    request = h.sender.slash_command(text, **kwargs)
    started = time.monotonic()
    response = h.sender.send(request)
    ack = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert ack < ACK_BUDGET, f"the ack took {ack:.2f} s (Slack gives up at {ACK_BUDGET} s)"
    return response, request, ack


def assert_alive(h: Harness) -> None:
    """``/healthz`` answers 200 and a command that needs the Control API works end to end."""
    health = h.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    _, request, _ = timed_command(h, "list")
    (answer,) = h.responses(request, timeout=10)
    shown = texts(answer)
    assert "Operations" in shown or "No operations" in shown, shown


def seed_operation(h: Harness) -> str:
    op = h.sim_state.create_operation(DOCUMENTED_SERIAL, "firmware_update", h.sim_state.now() + timedelta(days=1))
    return op.id


def record(h: Harness, request_id: str) -> Any:
    return db(h.database_url, lambda s: s.get_request(request_id))  # type: ignore[attr-defined]


def schedule_and_confirm(h: Harness, text: str) -> str:
    """Quick form + Confirm by the requester; the request id (the approval post is not awaited)."""
    _, request, _ = timed_command(h, text)
    (confirmation,) = h.responses(request)
    confirm = buttons(confirmation)["Confirm"]
    click = h.sender.block_action("schedule_confirm", confirm["value"], block_id="confirm_actions",
                                  is_ephemeral=True, response_url=request.response_url)  # fmt: skip
    assert h.sender.send(click).status_code == 200
    return str(confirm["value"])


def approve(h: Harness, request_id: str) -> Any:
    post = wait_until(lambda: approval_posts(h, request_id), what="the approval message")[-1]
    # Clicked once the bot recorded where it posted (a click in between waits on the bot, then races it).
    wait_until(lambda: record(h, request_id).approval_ts == post.response["ts"], what="the approval message recorded")
    click = h.sender.block_action(
        "approval_approve", request_id, block_id="approval_actions", user_id=APPROVER, channel_id=APPROVAL_CHANNEL,
        message_ts=post.response["ts"],
    )  # fmt: skip
    started = time.monotonic()
    response = h.sender.send(click)
    assert response.status_code == 200
    assert time.monotonic() - started < ACK_BUDGET
    return click


def unique_serial(h: Harness, index: int) -> str:
    """A device of the simulator's inventory that no other test of this module schedules on."""
    return sorted(h.sim_state.devices)[index]


# ------------------------------------------------------------------------------------ Control API: commands

# (fault field, value, words the person must read, whether a "still waiting" note comes first)
CONTROL_FAULTS = [
    pytest.param("latency", 4.0, "took too long", True, id="timeout"),
    pytest.param("hang", True, "took too long", True, id="hang"),
    pytest.param("error_rate", 1.0, "not answering right now (HTTP 500)", False, id="http-500"),
    pytest.param("close_connection", True, "the connection dropped", False, id="connection-closed"),
    pytest.param("malformed", True, "not valid JSON", False, id="malformed-json"),
    pytest.param("reject_token", True, "rejected the bot's token", False, id="token-rejected"),
]


@pytest.mark.parametrize(("fault", "value", "words", "slow"), CONTROL_FAULTS)
def test_control_api_fault_is_explained_and_the_bot_recovers(
    h: Harness, fault: str, value: Any, words: str, slow: bool
) -> None:
    op_id = seed_operation(h)
    _, request, _ = timed_command(h, f"status {op_id}")
    assert op_id in texts(h.responses(request)[0]), "works before the fault"
    before = h.metric("headless_bot_requests_total", command="status")

    setattr(h.sim_state.faults, fault, value)
    started = time.time()
    response, request, _ = timed_command(h, f"status {op_id}")
    assert response.text == "", "the ack of a command that waits on the API is empty; the answer follows"
    answers = h.responses(request, count=2 if slow else 1, timeout=15)
    final = answers[-1]
    took = final.at - started
    if slow:
        assert "Still waiting for the Control API" in texts(answers[0])
        assert answers[0].at - started < 3.0, "the person hears something before Slack's 3 s"
        assert final["replace_original"] is True, "the answer replaces the progress note"
    assert took < 10.0, f"the person waited {took:.1f} s for the answer"
    shown = texts(final)
    assert words in shown, shown
    assert f"operation `{op_id}`" in shown, "the message says what it is about"
    assert final["response_type"] == "ephemeral"
    no_leak(shown)
    assert h.metric("headless_bot_requests_total", command="status") == before + 1

    # The bot stays up, and says what it knows of the Control API without failing itself.
    h.runtime._health = None
    health = h.get("/healthz")
    assert health.status_code == 200
    assert health.json()["control_api"] == ("unauthorized" if fault == "reject_token" else "unavailable")
    assert h.get("/readyz").status_code == 200

    # The fault ends: the very next command works, with nothing restarted.
    heal(h)
    _, request, _ = timed_command(h, f"status {op_id}")
    (answer,) = h.responses(request, timeout=10)
    assert op_id in texts(answer) and "Refresh" in json.dumps(answer.body)
    assert h.get("/healthz").json()["control_api"] == "ok"


@pytest.mark.parametrize(
    ("fault", "value", "words"),
    [
        ("error_rate", 1.0, "not answering right now (HTTP 500)"),
        ("close_connection", True, "not answering right now (the connection dropped"),
        ("malformed", True, "answered, but not in a form the bot can use (its answer (HTTP 200) is not valid JSON)"),
    ],
    ids=["http-500", "connection-closed", "malformed-json"],
)
def test_a_lookup_during_an_outage_could_not_be_looked_up(h: Harness, fault: str, value: Any, words: str) -> None:
    """``status`` and ``list`` only read: they say the thing "could not be looked up", never that something "could not
    be done"; and an answer that is not JSON is an answer, not silence (issue #12, item 11)."""
    op_id = seed_operation(h)
    setattr(h.sim_state.faults, fault, value)
    for command, subject in ((f"status {op_id}", f"operation `{op_id}`"), ("list", "the operation list")):
        _, request, _ = timed_command(h, command)
        shown = texts(h.responses(request, timeout=15)[-1])
        assert words in shown, shown
        assert f"{subject} could not be looked up" in shown, shown
        assert "could not be done" not in shown and "Nothing was changed" not in shown, shown
        if fault == "malformed":
            assert "not answering" not in shown, "the API answered: it is not silent"
        no_leak(shown)


def test_refresh_of_a_device_that_never_answers(h: Harness) -> None:
    """``update_status=true`` has its own, longer timeout and is never retried; the person hears in time."""
    op_id = seed_operation(h)
    h.sim_state.faults.hang = True
    response, request, _ = timed_command(h, f"refresh {op_id}")
    assert "Refreshing" in texts(response.json()), "the ack itself says it will take a while"
    started = time.time()
    answers = h.responses(request, count=2, timeout=15)
    assert "Still waiting" in texts(answers[0])
    shown = texts(answers[-1])
    assert "not answering" in shown and f"`{op_id}`" in shown, shown
    assert answers[-1].at - started < 8.0
    no_leak(shown)


def test_commands_keep_being_answered_while_the_api_is_slow(h: Harness) -> None:
    """Slow API calls run after the ack: a burst of commands is acked at once, and help needs no API at all."""
    h.sim_state.faults.latency = 1.0
    acks = [timed_command(h, "list")[2] for _ in range(5)]
    response, _, ack = timed_command(h, "help")
    assert "/headless list" in texts(response.json())
    assert max([*acks, ack]) < ACK_BUDGET


# ------------------------------------------------------------------------ Control API: approvals, exactly once


def test_approve_while_the_api_is_unreachable_creates_when_it_is_back(h: Harness) -> None:
    serial = unique_serial(h, 3)
    stop_sim(h)
    request_id = schedule_and_confirm(h, f"schedule {serial} reboot tomorrow at 2am")
    click = approve(h, request_id)

    # The decision is kept: approved, the item waiting for the API, and the approval message says so.
    waiting = wait_until(
        lambda: [c for c in h.bench.calls_to("chat.update") if "waiting to be created" in texts(c.body)],
        what="the approval message showing the item waiting",
    )
    assert f"<@{APPROVER}>" in texts(waiting[-1].body)
    # (The maintenance loop keeps trying: an item is "creating" for the instant of each refused POST.)
    now = wait_until(lambda: (r := record(h, request_id)).items[0].state is ItemState.WAITING and r, what="waiting")
    assert now.state is RequestState.APPROVED
    assert h.bench.responses_for(click.response_key) == [], "the approver is not told off for a won decision"
    no_leak(everything_sent(h))
    time.sleep(1.0)  # a few maintenance passes against a dead API change nothing
    assert record(h, request_id).state is RequestState.APPROVED
    # ... and the audit log says "API unavailable" once for the outage, not once per pass.
    audit = db(h.database_url, lambda s: s.recent_audit(None, limit=200))  # type: ignore[attr-defined]
    refused = [e for e in audit if e.request_id == request_id and e.outcome == "api_unavailable"]
    assert len(refused) == 1, [(e.at, e.outcome) for e in audit if e.request_id == request_id]

    restart_sim(h)
    done = wait_until(lambda: record(h, request_id).state is RequestState.DONE and record(h, request_id),
                      timeout=10, what="the maintenance loop to create the operation")  # fmt: skip
    (op,) = ops_for(h, serial)
    assert done.items[0].operation_id == op.id
    wait_until(lambda: [c for c in h.bench.calls_to("chat.update") if op.id in texts(c.body)], what="update")
    wait_until(lambda: [c for c in h.bench.calls_to("chat.postMessage")
                        if c.body.get("channel") == REQUESTER and op.id in texts(c.body)], what="the DM")  # fmt: skip


@pytest.mark.parametrize(
    ("fault", "value"),
    [("error_rate", 1.0), ("close_connection", True), ("malformed", True)],
    ids=["http-500", "connection-closed", "malformed-json"],
)
def test_create_with_unknown_outcome_is_reconciled_not_reposted(h: Harness, fault: str, value: Any) -> None:
    """A POST whose answer was lost may have landed: the item waits for reconciliation, never a blind retry."""
    serial = unique_serial(h, 4 + ["error_rate", "close_connection", "malformed"].index(fault))
    request_id = schedule_and_confirm(h, f"schedule {serial} reboot tomorrow at 3am")
    wait_until(lambda: approval_posts(h, request_id), what="the approval message")
    setattr(h.sim_state.faults, fault, value)
    approve(h, request_id)
    wait_until(lambda: record(h, request_id).items[0].state is ItemState.CREATING, what="the recorded intent")
    time.sleep(1.0)
    assert record(h, request_id).items[0].state is ItemState.CREATING, "not re-sent while the outcome is unknown"
    assert record(h, request_id).state is RequestState.APPROVED

    heal(h)
    h.clock.advance(120)  # type: ignore[attr-defined]  # past the reconciliation delay
    done = wait_until(lambda: record(h, request_id).state is RequestState.DONE and record(h, request_id),
                      timeout=10, what="reconciliation")  # fmt: skip
    (op,) = ops_for(h, serial)
    assert done.items[0].operation_id == op.id
    no_leak(everything_sent(h))


def test_create_that_timed_out_but_landed_is_found_not_created_twice(h: Harness) -> None:
    """The POST times out on the bot's side, but the API did create the operation: it is found, not re-sent."""
    serial = unique_serial(h, 7)
    request_id = schedule_and_confirm(h, f"schedule {serial} reboot tomorrow at 4am")
    wait_until(lambda: approval_posts(h, request_id), what="the approval message")
    timeouts = h.metric("headless_bot_control_api_errors_total", endpoint="create", outcome="timeout")
    h.sim_state.faults.latency = 4.0  # longer than the bot's 3 s timeout
    approve(h, request_id)
    wait_until(
        lambda: h.metric("headless_bot_control_api_errors_total", endpoint="create", outcome="timeout") > timeouts,
        timeout=8, what="the POST to time out",
    )  # fmt: skip
    # The API had created it all the same (its answer was what got lost).
    pending = record(h, request_id)
    assert pending.items[0].state is ItemState.CREATING
    landed = h.sim_state.create_operation(serial, "reboot", pending.scheduled_time, {})
    heal(h)
    time.sleep(0.6)
    still = record(h, request_id)  # a few maintenance passes later, with the API healthy again
    assert still.items[0].state is ItemState.CREATING and len(ops_for(h, serial)) == 1, "nothing re-sent blindly"
    h.clock.advance(120)  # type: ignore[attr-defined]  # past the reconciliation delay
    done = wait_until(lambda: record(h, request_id).state is RequestState.DONE and record(h, request_id),
                      timeout=10, what="reconciliation")  # fmt: skip
    assert done.items[0].operation_id == landed.id
    time.sleep(0.6)
    assert len(ops_for(h, serial)) == 1, "reconciled, not posted again"


def test_token_rejected_at_create_keeps_the_approval_until_it_is_fixed(h: Harness) -> None:
    """A 401 is an admin's problem, not the request's: the approved item waits and is created once fixed."""
    serial = unique_serial(h, 8)
    request_id = schedule_and_confirm(h, f"schedule {serial} reboot tomorrow at 5am")
    wait_until(lambda: approval_posts(h, request_id), what="the approval message")
    h.sim_state.faults.reject_token = True
    approve(h, request_id)
    wait_until(
        lambda: [c for c in h.bench.calls_to("chat.update") if "waiting to be created" in texts(c.body)],
        what="the approval message showing the item waiting",
    )
    time.sleep(0.8)
    now = wait_until(
        lambda: (r := record(h, request_id)).items[0].state is not ItemState.CREATING and r, what="the refused POST"
    )
    assert now.state is RequestState.APPROVED
    assert [item.state for item in now.items] == [ItemState.WAITING], "an approval must not be lost to a 401"

    heal(h)
    done = wait_until(lambda: record(h, request_id).state is RequestState.DONE and record(h, request_id),
                      timeout=10, what="creation once the token is accepted")  # fmt: skip
    (op,) = ops_for(h, serial)
    assert done.items[0].operation_id == op.id


# ------------------------------------------------------------------------------------------ Slack's Web API


@pytest.mark.parametrize("kind", ["http-500", "http-429"])
def test_slack_error_on_the_approval_post_is_posted_again(h: Harness, kind: str) -> None:
    serial = unique_serial(h, 9 if kind == "http-500" else 10)
    if kind == "http-500":
        h.bench.server_error("chat.postMessage", times=1)
    else:
        h.bench.rate_limit("chat.postMessage", retry_after=1, times=1)
    request_id = schedule_and_confirm(h, f"schedule {serial} reboot tomorrow at 2am")
    refused = wait_until(lambda: [c for c in h.bench.calls_to("chat.postMessage") if not c.ok], what="the fault")
    assert refused[0].body["channel"] == APPROVAL_CHANNEL
    (post,) = wait_until(lambda: approval_posts(h, request_id), timeout=10, what="the approval to be re-posted")
    assert record(h, request_id).approval_ts == post.response["ts"]
    time.sleep(0.8)
    assert len(approval_posts(h, request_id)) == 1, "posted again once, not on every maintenance pass"

    approve(h, request_id)
    wait_until(lambda: record(h, request_id).state is RequestState.DONE, what="the approved request to be created")
    assert len(ops_for(h, serial)) == 1


@pytest.mark.parametrize("kind", ["http-500", "http-429"])
def test_slack_error_on_response_url_is_retried(h: Harness, kind: str) -> None:
    """Slack refusing a response_url post once must not swallow the answer."""
    if kind == "http-500":
        h.bench.server_error(RESPONSE_URL, times=1)
    else:
        h.bench.rate_limit(RESPONSE_URL, retry_after=1, times=1)
    _, request, _ = timed_command(h, "list")
    answers = h.responses(request, count=2, timeout=8)
    assert answers[0].status != 200
    assert answers[-1].status == 200
    assert texts(answers[-1]) == texts(answers[0]), "the same answer, delivered"
    assert "Operations" in texts(answers[-1]) or "No operations" in texts(answers[-1])


@pytest.mark.parametrize("kind", ["http-500", "http-429"])
def test_slack_error_on_the_decision_update_is_retried(h: Harness, kind: str) -> None:
    """The approval message must not keep its buttons because one chat.update was refused."""
    serial = unique_serial(h, 11 if kind == "http-500" else 12)
    request_id = schedule_and_confirm(h, f"schedule {serial} reboot tomorrow at 2am")
    post = wait_until(lambda: approval_posts(h, request_id), what="the approval message")[-1]
    # Two refusals in a row: without a retry, both updates of the message (approved, then done) would be lost.
    if kind == "http-500":
        h.bench.server_error("chat.update", times=2)
    else:
        h.bench.rate_limit("chat.update", retry_after=1, times=2)
    approve(h, request_id)
    wait_until(lambda: record(h, request_id).state is RequestState.DONE, what="creation")
    (op,) = ops_for(h, serial)

    def decided() -> bool:
        message = h.bench.message(APPROVAL_CHANNEL, post.response["ts"]) or {}
        return op.id in texts(message) and not [b for b in message.get("blocks", []) if b["type"] == "actions"]

    wait_until(decided, timeout=8, what="the approval message to show the decision, without buttons")


def test_modal_that_slack_cannot_open_is_explained(h: Harness) -> None:
    h.bench.server_error("views.open", times=1)
    _, request, _ = timed_command(h, "schedule")
    (answer,) = h.responses(request, timeout=8)
    shown = texts(answer)
    assert "/headless schedule" in shown, shown
    no_leak(shown)


def test_slack_users_info_failing_falls_back_to_the_default_zone(h: Harness) -> None:
    """A person's zone cannot be read (429): the quick form still answers, in the default zone, saying so."""
    h.bench.rate_limit("users.info", retry_after=1, times=None)
    serial = unique_serial(h, 13)
    _, request, _ = timed_command(h, f"schedule {serial} reboot tomorrow at 2am", user_id=APPROVER)
    (confirmation,) = h.responses(request, timeout=8)
    shown = texts(confirmation)
    assert "UTC" in shown and set(buttons(confirmation)) == {"Confirm", "Cancel"}, shown
    # The failure is remembered for a minute: the same person's next command does not wait on Slack again.
    asked = len(h.bench.calls_to("users.info"))
    _, again, _ = timed_command(h, f"schedule {serial} reboot tomorrow at 3am", user_id=APPROVER)
    (second,) = h.responses(again, timeout=8)
    assert "UTC" in texts(second) and len(h.bench.calls_to("users.info")) == asked


def test_approver_group_unknown_during_a_slack_outage_is_refused_not_crashed(h: Harness) -> None:
    """Group membership cannot be checked (Slack 500): deny politely, and allow again once Slack answers."""
    from tests.support.harness import GROUP_APPROVER

    serial = unique_serial(h, 14)
    request_id = schedule_and_confirm(h, f"schedule {serial} reboot tomorrow at 2am")
    post = wait_until(lambda: approval_posts(h, request_id), what="the approval message")[-1]
    h.runtime.directory._groups.clear()
    h.bench.server_error("usergroups.users.list", times=None)
    click = h.sender.block_action(
        "approval_approve", request_id, block_id="approval_actions", user_id=GROUP_APPROVER,
        channel_id=APPROVAL_CHANNEL, message_ts=post.response["ts"],
    )  # fmt: skip
    h.sender.send(click)
    (answer,) = h.responses(click, timeout=8)
    assert "approvers" in texts(answer)
    assert record(h, request_id).state is RequestState.PENDING_APPROVAL
    h.bench.clear_faults()
    again = h.sender.block_action(
        "approval_approve", request_id, block_id="approval_actions", user_id=GROUP_APPROVER,
        channel_id=APPROVAL_CHANNEL, message_ts=post.response["ts"],
    )  # fmt: skip
    h.sender.send(again)
    wait_until(lambda: record(h, request_id).state is RequestState.DONE, what="creation")


def test_slow_slack_does_not_post_an_approval_twice(h: Harness) -> None:
    """The maintenance loop must not re-post an approval whose first post is still on its way."""
    serial = unique_serial(h, 15)
    h.bench.add_latency(1.0, "chat.postMessage", times=2)
    request_id = schedule_and_confirm(h, f"schedule {serial} reboot tomorrow at 2am")
    wait_until(lambda: approval_posts(h, request_id), timeout=8, what="the approval message")
    time.sleep(1.5)
    assert len(approval_posts(h, request_id)) == 1, [c.response.get("ts") for c in approval_posts(h, request_id)]


def test_slack_auth_test_is_made_at_start_not_by_the_first_people() -> None:
    """bolt's one ``auth.test`` happens while the bot starts: a burst after a restart does not wait on Slack."""
    with bot_harness() as fresh:
        assert len(fresh.bench.calls_to("auth.test")) == 1
        for _ in range(3):
            response, _request = fresh.command("help")
            assert response.status_code == 200 and "/headless list" in response.text
        assert len(fresh.bench.calls_to("auth.test")) == 1


def test_slack_down_at_start_the_bot_starts_and_serves_once_slack_is_back() -> None:
    """``auth.test`` fails while the bot starts (Slack 500): the bot still becomes ready, a maintenance pass makes
    the call again once Slack answers, and commands are acked from then on without waiting for it."""

    def slack_down(bench: Any) -> None:
        bench.server_error("auth.test", times=None)

    with bot_harness(setup_bench=slack_down, maintenance_interval=0.2) as fresh:
        assert fresh.get("/readyz").status_code == 200
        assert all(call.status == 500 for call in fresh.bench.calls_to("auth.test"))
        fresh.bench.clear_faults()
        wait_until(lambda: any(call.ok for call in fresh.bench.calls_to("auth.test")), what="auth.test again")
        answered = len(fresh.bench.calls_to("auth.test"))
        response, request = fresh.command("status txn_999999")
        assert response.status_code == 200
        (answer,) = fresh.responses(request, timeout=8)
        assert "txn_999999" in texts(answer)
        assert len(fresh.bench.calls_to("auth.test")) == answered


def test_failure_after_the_request_is_recorded_never_says_try_again(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Confirm is recorded, then what follows it (posting the approval) fails: the person is told the request is
    saved and will be finished, not to send it again (that would schedule the device twice); the maintenance loop
    then posts it."""
    workflow = h.runtime.approvals
    real = workflow.after_decision

    async def broken(record: Any) -> None:
        raise RuntimeError("the follow-up broke")

    monkeypatch.setattr(workflow, "after_decision", broken)
    serial = unique_serial(h, 16)
    _, request, _ = timed_command(h, f"schedule {serial} reboot tomorrow at 2am")
    (confirmation,) = h.responses(request)
    request_id = buttons(confirmation)["Confirm"]["value"]
    h.sender.send(h.sender.block_action("schedule_confirm", request_id, block_id="confirm_actions",
                                        is_ephemeral=True, response_url=request.response_url))  # fmt: skip
    answers = h.responses(request, count=3, timeout=8)  # the form, "sent for approval", then the failure
    shown = texts(answers[-1])
    assert f"Request `{request_id}` is recorded" in shown and "do not send it again" in shown, shown
    assert "Try again" not in shown
    assert record(h, request_id).state is RequestState.PENDING_APPROVAL
    monkeypatch.setattr(workflow, "after_decision", real)
    wait_until(lambda: approval_posts(h, request_id), what="the maintenance loop posting the approval")
