"""Decisions that come late, race each other, or read a relative time again: what a new user ran into (#12).

Through the real HTTP endpoint, on SQLite and PostgreSQL, with the approval-flow helpers of ``test_scheduling``:
* a Confirm or Approve too close to (or after) the scheduled time expires the request at once, creates nothing,
  and says so on the spot, on the approval message and to the requester (``MIN_LEAD_SECONDS``);
* the form creates the instant its preview showed, and asks again when "in 5 minutes" now means another minute;
* a preview nobody confirmed expires without a word; losing clicks read where the request stands now;
* the approval message tells the truth about ``ALLOW_SELF_APPROVAL``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.control.client import ControlApiClient
from bot.domain.requests import ItemState, NewScheduleRequest, RequestState
from bot.services.scheduling import SchedulingService
from bot.settings import Settings
from bot.simulator import DOCUMENTED_SERIAL
from bot.store import Store
from tests.support.flows import (
    approval_post,
    approval_posts,
    buttons,
    click_decision,
    db,
    modal_values,
    ops_for,
    schedule_and_confirm,
    wait_until,
)
from tests.support.harness import APPROVER, REQUESTER, Harness, OffsetClock, bot_harness
from tests.support.slack_text import texts

NO_APPROVAL = {"approval_required_for": "firmware_update"}  # reboot and diagnostics are created on Confirm


class StoppedClock:
    """The bot's clock, standing still at second 20 of a minute until the test moves it: a minute boundary
    never passes by surprise between two steps of a test."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(second=20, microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def harness_with(database_url: str, clock: Any, **overrides: Any) -> Iterator[Harness]:
    with bot_harness(database_url=database_url, clock=clock, **overrides) as h:
        h.clock = clock  # type: ignore[attr-defined]
        h.database_url = database_url  # type: ignore[attr-defined]
        yield h
        h.bench.assert_no_violations()


@pytest.fixture
def quiet(database_url: str) -> Iterator[Harness]:
    """A bot whose maintenance pass runs once, at start: whatever happens after a click, the click did it."""
    yield from harness_with(database_url, OffsetClock(), maintenance_interval=3600, **NO_APPROVAL)


@pytest.fixture
def lively(database_url: str) -> Iterator[Harness]:
    """A bot whose maintenance passes come every 0.3 s (expiry included)."""
    yield from harness_with(database_url, OffsetClock(), maintenance_interval=0.3)


@pytest.fixture
def stopped(database_url: str) -> Iterator[Harness]:
    """A bot on a clock that stands still until the test moves it."""
    yield from harness_with(database_url, StoppedClock(), **NO_APPROVAL)


def request_of(h: Harness, request_id: str) -> Any:
    return db(h.database_url, lambda s: s.get_request(request_id))  # type: ignore[attr-defined]


def dms(h: Harness, *words: str) -> list[Any]:
    return [
        c for c in h.bench.calls_to("chat.postMessage")
        if c.body.get("channel") == REQUESTER and all(w in texts(c.body) for w in words)
    ]  # fmt: skip


def quick_form(h: Harness, text: str) -> tuple[str, Any]:
    """The quick form's preview, not confirmed yet: (request id, the command whose response carries it)."""
    _, command = h.command(text)
    (confirmation,) = h.responses(command)
    return str(buttons(confirmation)["Confirm"]["value"]), command


def confirm_click(h: Harness, request_id: str, command: Any) -> Any:
    return h.sender.block_action("schedule_confirm", request_id, block_id="confirm_actions", is_ephemeral=True,
                                 response_url=command.response_url)  # fmt: skip


# ---------------------------------------------------------------------------- item 3: decisions that come too late


@pytest.mark.parametrize("left", [20, -600], ids=["closer-than-the-lead", "after-the-time"])
def test_approve_too_late_expires_at_once_creates_nothing_and_tells_everyone(quiet: Harness, left: int) -> None:
    h = quiet
    request_id = schedule_and_confirm(h, f"schedule {DOCUMENTED_SERIAL} firmware_update in 30 minutes")
    h.clock.advance(30 * 60 - left)  # type: ignore[attr-defined]
    click, _ = click_decision(h, "Approve", APPROVER, request_id)

    (answer,) = h.responses(click)
    assert "expired" in texts(answer.body) and "Too late" in texts(answer.body), texts(answer.body)
    assert answer["replace_original"] is False, "the approver's answer is theirs; the message is updated in place"
    # No maintenance pass runs in this bot after start: the click itself updated the message and told the requester.
    update = wait_until(lambda: [c for c in h.bench.calls_to("chat.update") if "Expired" in texts(c.body)],
                        what="the approval message saying Expired")  # fmt: skip
    shown = texts(update[-1].body)
    assert f"<@{APPROVER}>" in shown and "Nothing was created" in shown, shown
    assert not [b for b in update[-1].body["blocks"] if b["type"] == "actions"], "its buttons are gone"
    wait_until(lambda: dms(h, "Expired", "firmware_update"), what="the requester told")
    record = request_of(h, request_id)
    assert record.state is RequestState.EXPIRED and record.decided_by == APPROVER
    assert ops_for(h, DOCUMENTED_SERIAL) == []
    audit = db(h.database_url, lambda s: s.recent_audit(DOCUMENTED_SERIAL))  # type: ignore[attr-defined]
    assert (APPROVER, "approve", "expired") in [(a.actor_id, a.action, a.outcome) for a in audit]
    # A Reject on the old message (say, in another client that still shows the buttons) reads where it stands.
    click, _ = click_decision(h, "Reject", APPROVER, request_id)
    (answer,) = h.responses(click)
    assert "This request expired" in texts(answer.body), texts(answer.body)


def test_confirm_too_late_expires_in_place_and_creates_nothing(quiet: Harness) -> None:
    h = quiet
    request_id, command = quick_form(h, f"schedule {DOCUMENTED_SERIAL} reboot in 30 minutes")
    h.clock.advance(3600)  # type: ignore[attr-defined]
    h.sender.send(confirm_click(h, request_id, command))

    answers = h.responses(command, count=2)
    assert "expired" in texts(answers[-1]) and "nothing was created" in texts(answers[-1]), texts(answers[-1])
    assert answers[-1]["replace_original"] is True, "the preview with its buttons is replaced"
    record = request_of(h, request_id)
    assert record.state is RequestState.EXPIRED and record.decided_by == REQUESTER
    assert ops_for(h, DOCUMENTED_SERIAL) == []


def test_a_time_inside_the_minimum_lead_is_refused_by_the_form(lively: Harness) -> None:
    harness = lively
    values = modal_values(DOCUMENTED_SERIAL, "reboot", "in 30 seconds")
    view = {"id": "V0FORM", "type": "modal", "callback_id": "schedule_modal", "private_metadata": '{"tz": "UTC"}'}
    body = harness.sender.send(harness.sender.view_submission("schedule_modal", values, view=view)).json()
    assert body["response_action"] == "errors"
    assert "ahead" in body["errors"]["when"] and "later time" in body["errors"]["when"], body


async def test_a_late_click_and_a_maintenance_pass_expire_once(store: Store) -> None:
    """The expiry at a click is a compare-and-set: with a maintenance pass at the same moment, one of them acts."""
    now = datetime.now(UTC)
    settings = Settings(_env_file=None, approvers=[APPROVER])  # type: ignore[call-arg]
    async with ControlApiClient("http://127.0.0.1:9/api/v1", "unused") as control:
        service = SchedulingService(settings, store, control, clock=lambda: now)
        for _ in range(5):
            record = await store.create_request(NewScheduleRequest(
                requester_id=REQUESTER, team_id="T1", device_serials=[DOCUMENTED_SERIAL], operation_type="reboot",
                scheduled_time=now + timedelta(seconds=30), state=RequestState.PENDING_APPROVAL,
            ), at=now)  # fmt: skip
            decision, announced = await asyncio.gather(
                service.decide(record.id, APPROVER, approve=True, is_approver=True), service.expire_due()
            )
            assert decision.expired != bool(announced), (decision, announced)
            assert not decision.won
            final = await store.get_request(record.id)
            assert final is not None and final.state is RequestState.EXPIRED
            expiries = [a for a in await store.recent_audit(record.id) if a.outcome == "expired"]
            assert len(expiries) == 1


async def test_an_approved_request_resumed_after_its_time_fails_instead_of_creating_in_the_past(store: Store) -> None:
    """Approved in time, then held up (the Control API down) until the time went by: resuming never POSTs an
    operation in the past; the item fails with words that say so. The client points nowhere, so a POST would
    raise instead of failing the item."""
    clock = StoppedClock()
    settings = Settings(_env_file=None, approvers=[APPROVER])  # type: ignore[call-arg]
    async with ControlApiClient("http://127.0.0.1:9/api/v1", "unused") as control:
        service = SchedulingService(settings, store, control, clock=clock)
        record = await store.create_request(NewScheduleRequest(
            requester_id=REQUESTER, team_id="T1", device_serials=[DOCUMENTED_SERIAL], operation_type="reboot",
            scheduled_time=clock() + timedelta(minutes=10), state=RequestState.PENDING_APPROVAL,
        ), at=clock())  # fmt: skip
        decision = await service.decide(record.id, APPROVER, approve=True, is_approver=True)
        assert decision.won, decision
        clock.advance(11 * 60)  # the API was down all along; now it is past the scheduled time
        done = await service.create_operations(record.id)
    assert done is not None and done.state is RequestState.DONE
    (item,) = done.items
    assert item.state is ItemState.FAILED and item.operation_id is None
    assert "scheduled time passed" in (item.error or "")


# ------------------------------------------------------------- item 4: the form creates the instant it showed


def preview_updates(h: Harness, view_id: str) -> list[Any]:
    """The bot's updates of the modal that carry a preview of a time (newest last)."""
    return [
        c for c in h.bench.calls_to("views.update")
        if c.ok and c.body.get("view_id") == view_id and " UTC · " in blocks_text(c.body["view"])
    ]  # fmt: skip


def blocks_text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def open_and_type(h: Harness, when: str) -> str:
    """Open the form, type ``when`` and wait for its preview; the view's id."""
    h.command("schedule")
    (opened,) = h.bench.wait_for("views.open")
    view_id = str(opened.response["view"]["id"])  # opened with the person's zone (looked up for their language)
    typed = {"when": {"when_input": {"type": "plain_text_input", "value": when}}}
    h.sender.send(h.sender.block_action("when_input", None, block_id="when", action_type="plain_text_input",
                                        view=view_id, state_values=typed))  # fmt: skip
    wait_until(lambda: preview_updates(h, view_id), what="the preview")
    return view_id


def submit(h: Harness, view_id: str, when: str) -> dict[str, Any] | None:
    """Submit the form as Slack holds it now (with what the bot last wrote into it); the ack's body, if any."""
    values = modal_values(DOCUMENTED_SERIAL, "reboot", when)
    response = h.sender.send(h.sender.view_submission("schedule_modal", values, view=view_id))
    assert response.status_code == 200
    return response.json() if response.text not in ("", "null") else None


def requests_of(h: Harness) -> list[Any]:
    return db(h.database_url, lambda s: s.list_requests(None, limit=10))  # type: ignore[attr-defined]


def test_submit_in_the_same_minute_creates_the_instant_the_preview_showed(stopped: Harness) -> None:
    h = stopped
    previewed = h.clock() + timedelta(minutes=5)  # type: ignore[attr-defined]
    view_id = open_and_type(h, "in 5 minutes")
    assert f"{previewed:%H:%M} UTC" in blocks_text(preview_updates(h, view_id)[-1].body["view"])
    h.clock.advance(30)  # type: ignore[attr-defined]  # "in 5 minutes" now means 30 s later, the same minute
    assert submit(h, view_id, "in 5 minutes") is None
    (request,) = wait_until(lambda: requests_of(h), what="the request")
    assert request.scheduled_time == previewed, "the instant shown, not a new reading of the words"


def test_submit_after_the_minute_moved_asks_again_with_the_new_time(stopped: Harness) -> None:
    h = stopped
    view_id = open_and_type(h, "in 5 minutes")
    h.clock.advance(60)  # type: ignore[attr-defined]
    now_means = h.clock() + timedelta(minutes=5)  # type: ignore[attr-defined]

    body = submit(h, view_id, "in 5 minutes")
    assert body is not None and body["response_action"] == "errors", body
    said = body["errors"]["when"]
    assert "now means" in said and f"{now_means:%H:%M} UTC" in said and "Submit again" in said, said
    assert requests_of(h) == [], "nothing is stored until the person saw the time that will be created"
    # The form shows the new time (and keeps it for the next Submit).
    wait_until(lambda: f"{now_means:%H:%M} UTC" in blocks_text(preview_updates(h, view_id)[-1].body["view"]),
               what="the new preview")  # fmt: skip

    assert submit(h, view_id, "in 5 minutes") is None
    (request,) = wait_until(lambda: requests_of(h), what="the request")
    assert request.scheduled_time == now_means


# --------------------------------------------------- item 7: a preview nobody confirmed expires without a word


def test_an_abandoned_preview_expires_silently_and_its_buttons_answer_plainly(lively: Harness) -> None:
    h = lively
    draft_id, command = quick_form(h, f"schedule {DOCUMENTED_SERIAL} diagnostics in 30 minutes")
    pending_id = schedule_and_confirm(h, f"schedule {DOCUMENTED_SERIAL} reboot in 40 minutes")
    h.clock.advance(3600)  # type: ignore[attr-defined]
    # Both expire on the same pass, the draft first: once the confirmed one's DM is there, the draft's would be too.
    wait_until(lambda: dms(h, "Expired", "reboot"), what="the confirmed request's requester told")
    assert request_of(h, draft_id).state is RequestState.EXPIRED
    assert request_of(h, pending_id).state is RequestState.EXPIRED
    assert dms(h, "diagnostics") == [], "nobody confirmed the preview: no message about it"

    h.sender.send(confirm_click(h, draft_id, command))
    answers = h.responses(command, count=2)
    assert "This request expired" in texts(answers[-1]), texts(answers[-1])
    assert ops_for(h, DOCUMENTED_SERIAL) == []


# -------------------------------------------------- item 8: simultaneous Confirms read "already confirmed"


@pytest.mark.parametrize(
    ("settings", "won", "lost"),
    [
        (NO_APPROVAL, "Creating the operation", "This request was already confirmed."),
        ({}, "Sent for approval", "This request was already confirmed and is waiting for approval."),
    ],
    ids=["no-approval", "approval"],
)
def test_five_simultaneous_confirms_one_wins_the_others_read_already_confirmed(
    database_url: str, settings: dict[str, str], won: str, lost: str
) -> None:
    with bot_harness(database_url=database_url, **settings) as h:
        request_id, _ = quick_form(h, f"schedule {DOCUMENTED_SERIAL} reboot tomorrow at 2am")
        clicks = [
            h.sender.block_action("schedule_confirm", request_id, block_id="confirm_actions", is_ephemeral=True)
            for _ in range(5)
        ]
        with concurrent.futures.ThreadPoolExecutor(max_workers=5) as pool:
            assert list(pool.map(lambda c: h.sender.send(c).status_code, clicks)) == [200] * 5
        answers = [texts(h.responses(c)[0]) for c in clicks]
        assert sum(won in a for a in answers) == 1, answers
        assert sorted(a for a in answers if won not in a) == [f":information_source: {lost}"] * 4, answers
        if settings:
            wait_until(lambda: ops_for(h, DOCUMENTED_SERIAL), what="the operation")
        else:
            wait_until(lambda: approval_posts(h, request_id), what="the approval message")


# -------------------------------------------------------- item 10: the approval message and ALLOW_SELF_APPROVAL


@pytest.mark.parametrize("allowed", [False, True])
def test_the_approval_message_says_whether_the_requester_may_approve(database_url: str, allowed: bool) -> None:
    approvers = ["U0APPROVER", REQUESTER]
    with bot_harness(database_url=database_url, allow_self_approval=allowed, approvers=approvers) as h:
        request_id = schedule_and_confirm(h)
        shown = texts(approval_post(h, request_id).body)
        assert ("the requester cannot approve their own" in shown) is not allowed, shown
        if allowed:
            assert "the requester too" in shown, shown
            click_decision(h, "Approve", REQUESTER, request_id)
            wait_until(lambda: ops_for(h, DOCUMENTED_SERIAL), what="the requester's own approval to count")
