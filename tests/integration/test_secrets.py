"""Secrets stay secret: the main flows run with recognisable fake tokens, and none may show up anywhere a person,
an operator or a log reader could see it.

Where we look: the logs (``bot.logs.setup_logging`` to a buffer, as ``serve`` configures them, and every record of
``bot``, ``slack_bolt``, ``slack_sdk`` and ``httpx`` at DEBUG through caplog), every message the bot sent to Slack
(Web API bodies, response_url posts and their headers), ``/metrics``, ``/healthz``, and ``str()``/``repr()`` of the
errors, the settings and the clients. The Slack bench necessarily sees the bot token in the ``Authorization``
header of Web API calls, and the Control API simulator the Control API token in its own: that is where they belong.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from slack_sdk.errors import SlackApiError

import tests.support.harness as harness_module
from bot.control.client import ControlApiClient
from bot.control.errors import ControlApiError
from bot.domain.requests import RequestState
from bot.logs import MASK, RedactSecrets, setup_logging
from bot.settings import Settings
from bot.simulator import DOCUMENTED_SERIAL
from tests.support.flows import buttons, click_decision, db, schedule_and_confirm, wait_until
from tests.support.harness import APPROVAL_CHANNEL, APPROVER, Harness, bot_harness
from tests.support.slack_text import texts

BOT_TOKEN = "xoxb-SECRETBOT-1234567890-abcdefABCDEF"  # fake, recognisable
APP_TOKEN = "xapp-SECRETAPP-1-A111-9876543210-fedcba"
SIGNING_SECRET = "SECRETSIGN0123456789abcdef0123456789"
CONTROL_TOKEN = "SECRETCTL-4f3c2b1a0987654321"
SECRETS = {"bot token": BOT_TOKEN, "app token": APP_TOKEN, "signing secret": SIGNING_SECRET,
           "Control API token": CONTROL_TOKEN}  # fmt: skip
# Distinctive fragments too, so a token cut in half (a truncated log line, a prefix) is still caught.
FRAGMENTS = ("SECRETBOT", "SECRETAPP", "SECRETSIGN", "SECRETCTL")
LOGGERS = ("bot", "slack_bolt", "slack_sdk", "httpx", "httpcore", "uvicorn", "aiohttp", "sqlalchemy")


def leaked(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text] + [f for f in FRAGMENTS if f in text]


def assert_clean(text: str, where: str) -> None:
    found = leaked(text)
    assert not found, f"{', '.join(found)} in {where}: …{_around(text, found)}…"


def _around(text: str, found: list[str]) -> str:
    needle = next((s for s in (*SECRETS.values(), *FRAGMENTS) if s in text), "")
    at = text.find(needle)
    return text[max(0, at - 200) : at + 200] if at >= 0 else ""


@pytest.fixture(scope="module")
def logs() -> Iterator[io.StringIO]:
    """The production logging set-up (``setup_logging``), at DEBUG, into a buffer; restored afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buffer = io.StringIO()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=BOT_TOKEN, slack_app_token=APP_TOKEN, slack_signing_secret=SIGNING_SECRET,
        control_api_token=CONTROL_TOKEN, log_level="DEBUG",
    )  # fmt: skip
    setup_logging(settings, stream=buffer)
    yield buffer
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


@pytest.fixture(scope="module")
def h(logs: io.StringIO, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    database_url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('secrets') / 'bot.sqlite3'}"
    with pytest.MonkeyPatch.context() as patch:
        # The harness signs requests and configures the simulator with these module constants.
        patch.setattr(harness_module, "SIGNING_SECRET", SIGNING_SECRET)
        patch.setattr(harness_module, "CONTROL_TOKEN", CONTROL_TOKEN)
        with bot_harness(
            database_url=database_url,
            maintenance_interval=0.3,
            log_level="DEBUG",
            bench_options={"bot_token": BOT_TOKEN, "app_token": APP_TOKEN},
        ) as harness:
            assert harness.settings.slack_bot_token.get_secret_value() == BOT_TOKEN  # type: ignore[union-attr]
            assert harness.settings.control_api_token.get_secret_value() == CONTROL_TOKEN  # type: ignore[union-attr]
            harness.database_url = database_url  # type: ignore[attr-defined]
            yield harness


@pytest.fixture(autouse=True)
def _debug_everywhere(caplog: pytest.LogCaptureFixture) -> None:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)


@pytest.fixture(autouse=True)
def _nothing_leaked(h: Harness, logs: io.StringIO, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    h.bench.clear()
    yield
    time.sleep(0.3)  # background work finishes (and logs)
    sent_to_slack(h)
    assert_clean(logs.getvalue(), "the logs (setup_logging)")
    for record in caplog.get_records("call") + caplog.get_records("setup"):
        assert_clean(record.getMessage(), f"a log record of {record.name}")
        if record.exc_info and record.exc_info[1] is not None:
            assert_clean(logging.Formatter().formatException(record.exc_info), f"an exception logged by {record.name}")
    assert_clean(caplog.text, "the captured log text")
    assert_clean(h.get("/metrics").text, "/metrics")
    h.runtime._health = None
    assert_clean(h.get("/healthz").text, "/healthz")
    h.sim_state.faults.reject_token = False
    h.sim_state.faults.error_rate = 0
    h.bench.clear_faults()


def sent_to_slack(h: Harness) -> None:
    """Message bodies the bot sent (not the Authorization header, where the bot token belongs)."""
    for call in h.bench.calls:
        assert_clean(json.dumps(call.body), f"the body of {call.method}")
        assert_clean(call.raw_bytes.decode("utf-8", "replace"), f"the raw body of {call.method}")
        headers = {k: v for k, v in call.headers.items() if k.lower() != "authorization"}
        assert_clean(json.dumps(headers), f"the headers of {call.method}")
        assert call.headers.get("authorization") in (None, f"Bearer {BOT_TOKEN}"), "only the bot token, only there"
    for response in h.bench.responses:
        # A response_url comes from the payload: the bot's token must never travel to it.
        assert_clean(response.raw_bytes.decode("utf-8", "replace"), "a response_url post")
        assert_clean(json.dumps(response.headers), "the headers of a response_url post")


def seed(h: Harness) -> str:
    return h.sim_state.create_operation(DOCUMENTED_SERIAL, "firmware_update", h.sim_state.now() + timedelta(days=1)).id


# --------------------------------------------------------------------------------------------------- flows


def test_help_list_status_refresh(h: Harness) -> None:
    op_id = seed(h)
    response, _ = h.command("help")
    assert_clean(response.text, "the help ack")
    for text in ("list", f"status {op_id}", f"refresh {op_id}", "audit"):
        response, request = h.command(text, user_id=APPROVER)
        assert_clean(response.text, f"the ack of {text}")
        assert h.responses(request, timeout=10)


def test_schedule_confirm_approve(h: Harness) -> None:
    request_id = schedule_and_confirm(h, f"schedule {DOCUMENTED_SERIAL} reboot tomorrow at 2am note=hello")
    click_decision(h, "Approve", APPROVER, request_id)
    wait_until(lambda: db(h.database_url, lambda s: s.get_request(request_id)).state  # type: ignore[attr-defined]
               is RequestState.DONE, what="creation")  # fmt: skip


def test_the_modal(h: Harness) -> None:
    h.command("schedule")
    (opened,) = h.bench.wait_for("views.open", timeout=8)
    assert_clean(json.dumps(opened.body), "the modal")


def test_control_api_rejects_the_token(h: Harness) -> None:
    h.sim_state.faults.reject_token = True
    _, request = h.command("list")
    (answer,) = h.responses(request, timeout=10)
    assert "rejected the bot's token" in texts(answer)
    # …also while creating an approved request (the maintenance loop retries and logs).
    request_id = schedule_and_confirm(h, f"schedule {DOCUMENTED_SERIAL} diagnostics in 2 hours")
    click_decision(h, "Approve", APPROVER, request_id)
    wait_until(lambda: h.bench.calls_to("chat.update"), what="the decision")
    time.sleep(1.0)  # a few maintenance passes against the refusing API
    h.runtime._health = None
    assert h.get("/healthz").json()["control_api"] == "unauthorized"


def test_the_control_api_echoing_the_token_is_scrubbed(h: Harness) -> None:
    """An API (or a proxy) that echoes the Authorization header in its error body must not make us repeat it."""

    def handler(request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        return httpx.Response(400, json={"detail": f"bad request from {auth} ({CONTROL_TOKEN})"})

    async def call() -> ControlApiError:
        client = ControlApiClient("http://control.test/api/v1", CONTROL_TOKEN, transport=httpx.MockTransport(handler))
        try:
            await client.get_operation("txn_1")
        except ControlApiError as exc:
            return exc
        finally:
            await client.aclose()
        raise AssertionError("no error")

    error = asyncio.run(call())
    assert_clean(str(error), "str() of a Control API error")
    assert_clean(repr(error), "repr() of a Control API error")


def test_slack_rejects_the_token(h: Harness) -> None:
    h.bench.fail_with("invalid_auth", times=None)
    _, request = h.command(f"schedule {DOCUMENTED_SERIAL} reboot in 4 hours")
    (confirmation,) = h.responses(request, timeout=10)  # response_url needs no token
    request_id = buttons(confirmation)["Confirm"]["value"]
    h.sender.send(h.sender.block_action("schedule_confirm", request_id, block_id="confirm_actions",
                                        is_ephemeral=True, response_url=request.response_url))  # fmt: skip
    wait_until(lambda: [c for c in h.bench.calls_to("chat.postMessage") if c.fault == "invalid_auth"],
               what="a refused post")  # fmt: skip
    time.sleep(0.8)  # the maintenance loop tries again, and logs

    async def post() -> SlackApiError:
        try:
            await h.bench.client(BOT_TOKEN).chat_postMessage(channel=APPROVAL_CHANNEL, text="x")
        except SlackApiError as exc:
            return exc
        raise AssertionError("no error")

    error = asyncio.run(post())
    assert_clean(str(error), "str() of a SlackApiError")
    assert_clean(repr(error), "repr() of a SlackApiError")


def test_a_crash_in_a_listener_logs_without_secrets(
    h: Harness, logs: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception whose message carries every secret: the person gets a plain sentence, the log
    gets the details with the secrets masked."""
    before = len(logs.getvalue())

    async def boom(**_kwargs: Any) -> Any:
        raise RuntimeError(
            f"unexpected: Authorization: Bearer {BOT_TOKEN} app={APP_TOKEN} sign={SIGNING_SECRET} ctl={CONTROL_TOKEN}"
        )

    monkeypatch.setattr(h.runtime.operations, "list", boom)
    _, request = h.command("list")
    (answer,) = h.responses(request, timeout=10)
    assert "Something went wrong" in texts(answer)
    logged = logs.getvalue()[before:]
    assert "list failed" in logged and "RuntimeError: unexpected" in logged, "the details are in the log"
    assert logged.count(MASK) >= 4


def test_a_crash_in_bolt_itself_logs_without_secrets(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    async def boom(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(f"bolt blew up holding {BOT_TOKEN} and {SIGNING_SECRET}")

    monkeypatch.setattr(h.runtime.directory, "person", boom)
    _, request = h.command(f"schedule {DOCUMENTED_SERIAL} reboot tomorrow at 2am")
    (answer,) = h.responses(request, timeout=10)
    assert "Something went wrong" in texts(answer)


def test_bad_signatures_are_logged_without_the_secret(h: Harness) -> None:
    request = h.sender.slash_command("help")
    assert h.sender.send(request, signature="bad").status_code == 401
    assert h.sender.send(request, stale=True).status_code == 401


# --------------------------------------------------------------------------------------- objects and texts


def test_settings_and_clients_print_no_secret(h: Harness) -> None:
    settings = h.settings
    for text, where in (
        (str(settings), "str(settings)"),
        (repr(settings), "repr(settings)"),
        (settings.model_dump_json(), "settings as JSON"),
        (str(settings.model_dump()), "settings as a dict"),
        (repr(h.runtime.control), "repr of the Control API client"),
        (repr(h.runtime), "repr of the runtime"),
        (repr(h.runtime.app), "repr of the bolt app"),
        (repr(h.runtime.web_client), "repr of the Web API client"),
        (repr(h.runtime.store), "repr of the store"),
    ):
        assert_clean(text, where)


def test_a_secret_pasted_into_the_wrong_variable_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start-up refuses bad settings naming the variable, never repeating its value (it may be a token)."""
    from bot.settings import SettingsError, load_settings

    monkeypatch.chdir("/")  # no .env
    with pytest.raises(SettingsError) as caught:
        load_settings(
            approvers=BOT_TOKEN, approval_channel=APP_TOKEN, slack_api_url=SIGNING_SECRET,
            control_api_url=CONTROL_TOKEN, oncall_group=CONTROL_TOKEN, default_timezone=SIGNING_SECRET,
            log_level=BOT_TOKEN,
        )  # fmt: skip
    assert len(caught.value.problems) >= 5
    assert_clean(str(caught.value), "the settings error")
    assert_clean(repr(caught.value), "repr of the settings error")


def test_the_redaction_filter_masks_by_value_and_by_shape() -> None:
    redact = RedactSecrets(list(SECRETS.values()))
    for secret in SECRETS.values():
        assert redact.redact(f"x {secret} y") == f"x {MASK} y"
    # Token-shaped strings nobody configured are masked too: another workspace's token, a header.
    assert "xoxb-" not in redact.redact("xoxb-999-888-other")
    assert "xoxp-" not in redact.redact("user token xoxp-1-2-3")
    assert "abc.def" not in redact.redact("Authorization: Bearer abc.def")
    assert "abc.def" not in redact.redact("authorization: bearer abc.def")


def test_a_log_record_formatted_late_is_still_masked(logs: io.StringIO) -> None:
    """Arguments, exceptions and ``extra`` are all masked by the handler the bot installs."""
    log = logging.getLogger("bot.test_secrets")
    log.warning("token %s and %r", BOT_TOKEN, {"token": CONTROL_TOKEN})
    try:
        raise ValueError(f"signing secret {SIGNING_SECRET}")
    except ValueError:
        log.exception("failed with %s", APP_TOKEN)
    assert_clean(logs.getvalue(), "the logs")
    assert logs.getvalue().count(MASK) >= 4


def test_uvicorn_logs_go_through_the_same_mask(logs: io.StringIO, capfd: pytest.CaptureFixture[str]) -> None:
    """``serve`` runs uvicorn; its own log lines (startup errors, exceptions in the app) must be masked too."""
    from bot.server import uvicorn_config

    names = ("uvicorn", "uvicorn.error", "uvicorn.asgi")
    saved = {name: (list(logging.getLogger(name).handlers), logging.getLogger(name).propagate) for name in names}
    try:
        for name in names:  # as in a fresh ``serve`` process (the test servers configured uvicorn's loggers)
            logging.getLogger(name).handlers = []
            logging.getLogger(name).propagate = True
        settings = Settings(_env_file=None, slack_bot_token=BOT_TOKEN, control_api_token=CONTROL_TOKEN,  # type: ignore[call-arg]
                            log_level="DEBUG")  # fmt: skip
        uvicorn_config(object(), settings, host="127.0.0.1", port=0)  # configures uvicorn's loggers, as serve does
        for name in names:
            logging.getLogger(name).error("Exception in ASGI application: token %s, ctl %s", BOT_TOKEN, CONTROL_TOKEN)
    finally:
        for name, (handlers, propagate) in saved.items():
            logging.getLogger(name).handlers = handlers
            logging.getLogger(name).propagate = propagate
    captured = capfd.readouterr()
    assert_clean(captured.err + captured.out, "uvicorn's own output")
    assert_clean(logs.getvalue(), "the logs")
    assert "Exception in ASGI application" in logs.getvalue(), "uvicorn's lines reach the bot's (masked) log"
