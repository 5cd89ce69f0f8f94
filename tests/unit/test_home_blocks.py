"""The App Home's view (bot.slack.blocks.home) from hand-made facts, no store: at its fullest it stays within
Slack's 100 blocks and passes the Block Kit checks (the stand-in's own checker, slack_sdk's included); what people
typed is escaped; each section says its count and "more" when cut; the buttons are the channel's action ids. Also
the serials and ``txn_`` ids a message shortcut finds (bot.domain.ids)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.domain.home import KnownOperation
from bot.domain.ids import find_operation_ids, find_serials
from bot.domain.requests import RequestState, ScheduleRecord
from bot.domain.rollouts import RolloutState
from bot.services.home import HomeFacts, Page, SharedFacts, Upcoming, Waiting
from bot.slack.blocks.home import MAX_HOME_BLOCKS, home_view
from bot.slackkit.blockkit import block_kit_problems
from bot.when.windows import parse_windows
from tests.unit.test_rollout_blocks import record as rollout_record
from tests.unit.test_rollout_blocks import tally
from tests.unit.test_rollout_blocks import view as rollout_view

NOW = datetime(2030, 1, 6, 12, 0, tzinfo=UTC)
HOSTILE = "<!channel> *bold* `tick` <https://evil.example|click>"


def request(n: int, *, state: RequestState = RequestState.PENDING_APPROVAL, serials: int = 40) -> ScheduleRecord:
    return ScheduleRecord.model_validate({
        "id": f"{n:032x}", "requester_id": "UREQ", "team_id": "T1", "origin_channel_id": None,
        "operation_type": f"op_{HOSTILE}", "scheduled_time": NOW + timedelta(hours=n), "parameters": {},
        "notify_channel_id": None, "requester_tz": "UTC", "approval_required": True, "window_note": None,
        "state": state, "created_at": NOW, "updated_at": NOW, "decided_by": None, "decided_at": None,
        "decision_reason": None, "approval_channel_id": "C0APPROVE", "approval_ts": "1.2", "confirm_response_url": None,
        "version": 1, "rollout_id": None, "wave": None,
        "items": [{"id": i, "request_id": f"{n:032x}", "position": i, "device_serial": f"SN{HOSTILE}{i:050d}",
                   "state": "waiting", "operation_id": None, "error": None, "attempted_at": None, "completed_at": None,
                   "thread_channel_id": None, "thread_ts": None, "scheduled_time": NOW + timedelta(hours=n)}
                  for i in range(serials)],
    })  # fmt: skip


def operation(n: int, status: str) -> KnownOperation:
    return KnownOperation(
        operation_id=f"txn_{n}", device_serial=f"SN{HOSTILE}{n}", operation_type=HOSTILE, status=status,
        scheduled_time=NOW + timedelta(minutes=n), updated_at=NOW - timedelta(minutes=n),
    )  # fmt: skip


def fullest() -> HomeFacts:
    """Every section at its bound, with the longest texts people can put there."""
    promote = rollout_record(RolloutState.WAITING_PROMOTE, total=500)
    pending = rollout_record(RolloutState.PENDING_APPROVAL, total=500)
    waiting = (*(Waiting(request=request(n)) for n in range(3)), Waiting(rollout=promote), Waiting(rollout=pending))
    running = [rollout_record(state, total=500) for state in (RolloutState.RUNNING, RolloutState.PAUSED,
                                                               RolloutState.SOAKING)]  # fmt: skip
    views = tuple(rollout_view(r, {1: tally(100, completed=60, failed=3, pending=37)}) for r in running)
    upcoming = tuple(Upcoming(at=NOW + timedelta(minutes=n), operation=operation(n, "scheduled")) for n in range(9))
    upcoming += (Upcoming(at=NOW + timedelta(hours=2), rollout=running[2], wave=2, devices=400),)
    shared = SharedFacts(
        now=NOW, upcoming=Page(upcoming, 1234), rollouts=Page(views, 7),
        failures=Page(tuple(operation(n, "firmware_error") for n in range(5)), 88),
        windows=tuple(parse_windows("Sat,Sun 02:00-06:00 America/Costa_Rica; Wed 01:00-03:00 UTC")),
    )  # fmt: skip
    yours = Page(tuple(request(n, state=RequestState.DONE) for n in range(5)), 12)
    return HomeFacts(user_id="UAPPROVER", is_approver=True, waiting=Page(waiting, 9), yours=yours, shared=shared)


def texts(view: dict[str, object]) -> str:
    return json.dumps(view, ensure_ascii=False)


def test_the_fullest_home_is_within_slacks_limits_and_checks() -> None:
    view = home_view(fullest(), tz="Asia/Kolkata")
    assert view["type"] == "home"
    assert len(view["blocks"]) <= MAX_HOME_BLOCKS
    assert block_kit_problems(view, surface="home") == []
    ids = [b["block_id"] for b in view["blocks"] if "block_id" in b]
    assert len(ids) == len(set(ids)), "block ids are unique in a view"


def test_what_people_typed_is_escaped() -> None:
    shown = texts(home_view(fullest(), tz="UTC"))
    assert "<!channel>" not in shown and "<https://evil" not in shown
    assert "&lt;!channel&gt;" in shown


def test_each_section_counts_and_says_more_when_cut() -> None:
    shown = texts(home_view(fullest(), tz="UTC"))
    for heading in ("Waiting for you (9)", "Your requests (12)", "Next 24 hours (1,234)", "Active rollouts (7)",
                    "Failures in the last 24 h (88)"):  # fmt: skip
        assert heading in shown, heading
    for more in ("…and 4 more", "…and 7 more", "…and 1,224 more", "…and 4 more", "…and 83 more"):
        assert more in shown, more


def test_the_buttons_are_the_channels() -> None:
    view = home_view(fullest(), tz="UTC")
    elements = [e for b in view["blocks"] for e in [*(b.get("elements") or []), b.get("accessory") or {}]]
    by_action = {e["action_id"]: e for e in elements if e.get("type") == "button"}
    assert {"approval_approve", "approval_reject", "rollout_approve", "rollout_reject", "rollout_promote",
            "rollout_pause", "rollout_resume", "refresh_operation", "schedule_operation",
            "start_rollout"} <= set(by_action)  # fmt: skip
    assert by_action["refresh_operation"]["value"].startswith("txn_")
    assert "Maintenance windows: Sat,Sun 02:00-06:00 America/Costa_Rica" in texts(view)


def test_times_read_in_the_readers_zone() -> None:
    shown = texts(home_view(fullest(), tz="Asia/Kolkata"))
    assert "|Sun 6 Jan 17:30 IST>" in shown and "times in your zone (Asia/Kolkata)" in shown


def test_a_non_approver_is_told_nothing_waits_and_rollouts_can_be_absent() -> None:
    facts = fullest()
    shared = SharedFacts(now=NOW, upcoming=Page(), rollouts=None, failures=Page(), windows=())
    view = home_view(HomeFacts("UX", False, Page(), Page(), shared), tz="UTC")
    shown = texts(view)
    assert "You are not an approver" in shown and "Active rollouts" not in shown and "Start a rollout" not in shown
    assert "No maintenance windows set." in shown and facts.now == NOW


def test_serials_and_operation_ids_found_in_a_message() -> None:
    text = (
        "Reboot SN123456789, sn123456789 and GW-0042-X at 2am / 10:30 (firmware v1.10.2) — see txn_10001, txn_10001 "
        "and <@U0123ABCD> <#C0123ABCD|ops> <https://x.example/SN999999999|link>; "
        "request 0123456789abcdef0123456789abcdef"
    )
    assert find_serials(text) == ["SN123456789", "GW-0042-X"]
    assert find_operation_ids(text) == ["txn_10001"]
    assert find_serials("nothing here, 2026-03-07 02:00 UTC, 1700000000.000100") == []


def test_the_home_reads_spanish_for_a_spanish_reader_within_slacks_limits() -> None:
    from bot.i18n import use_language

    with use_language("es"):
        view = home_view(fullest(), tz="America/Bogota")
    assert block_kit_problems(view, surface="home") == []
    text = texts(view)
    for words in ("Esperan tu decisión", "Tus solicitudes", "Próximas 24 horas", "Despliegues activos",
                  "Fallas en las últimas 24 h", "Programar operación", "Aprobar", "Rechazar"):  # fmt: skip
        assert words in text, words
    for english in ("Waiting for you", "Your requests", "Next 24 hours", "Requested by", "Approve"):
        assert english not in text, english
    english_view = home_view(fullest(), tz="America/Bogota")
    assert "Waiting for you" in texts(english_view)
