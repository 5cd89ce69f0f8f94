"""A CSV of devices uploaded in the scheduling modal, through the real HTTP endpoint: the bot reads it with
``files.info`` and a download from the Slack stand-in (real slack_sdk client, real HTTP, the bot's token checked),
and its serials join the request; a file it cannot use is refused inline on the file field."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.simulator import DOCUMENTED_SERIAL
from bot.slackkit import RecordedCall
from tests.support.flows import approval_posts, form_view, modal_values, wait_until
from tests.support.harness import Harness, bot_harness
from tests.support.slack_text import texts

FILE_BLOCK = "serials_file"


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    with bot_harness() as h:
        yield h
        h.bench.assert_no_violations()


@pytest.fixture(autouse=True)
def _restore_bench(harness: Harness) -> Iterator[None]:
    tokens = set(harness.bench.valid_tokens)
    yield
    harness.bench.valid_tokens = tokens
    harness.bench.file_tokens = None
    harness.bench.respond_with("files.info", None)


def submit(h: Harness, file: dict[str, Any] | None, typed: str = "", op_type: str = "reboot") -> httpx.Response:
    values = modal_values(typed, op_type, "tomorrow 3am")
    if file is not None:
        values[FILE_BLOCK] = {"file": h.bench.file_input_value(file)}
    response = h.sender.send(h.sender.view_submission("schedule_modal", values, view=form_view("Europe/Madrid")))
    assert response.status_code == 200
    return response


def inline_error(response: httpx.Response) -> str:
    body = response.json()
    assert body["response_action"] == "errors", body
    assert list(body["errors"]) == [FILE_BLOCK], body
    return str(body["errors"][FILE_BLOCK])


def devices(h: Harness, count: int, skip: int = 1) -> list[str]:
    return sorted(h.sim_state.devices)[skip : skip + count]


def approval_for(h: Harness, serials: list[str]) -> RecordedCall:
    """The approval message naming every one of ``serials``."""

    def found() -> list[RecordedCall]:
        return [p for p in approval_posts(h) if all(s in texts(p.body) for s in serials)]

    return wait_until(found, what=f"an approval message for {serials}")[-1]


def test_the_modal_offers_a_csv_upload(harness: Harness) -> None:
    harness.command("schedule")
    opened = harness.bench.wait_for("views.open")[-1]
    blocks = {b.get("block_id"): b for b in opened.body["view"]["blocks"]}
    upload = blocks[FILE_BLOCK]
    assert upload["type"] == "input" and upload["optional"] is True
    assert upload["element"] == {"type": "file_input", "action_id": "file", "filetypes": ["csv", "txt"], "max_files": 1}
    assert "serial column" in upload["hint"]["text"]
    assert blocks["serials"]["optional"] is True, "serials may come from the file alone"


def test_csv_with_serial_and_other_columns_gives_those_devices(harness: Harness) -> None:
    h = harness
    serials = devices(h, 3)
    rows = "".join(f"Europe/Madrid,{s.lower() if i == 1 else s},madrid,gateway;router\n" for i, s in enumerate(serials))
    file = h.bench.put_file("\ufeffzone,Serial ,site,tags\n" + rows + "\n", name="fleet.csv")
    response = submit(h, file)
    assert response.text in ("", "null"), response.text
    post = approval_for(h, [serials[0], serials[1].lower(), serials[2]])
    assert "reboot" in texts(post.body)
    info = h.bench.calls_to("files.info")[-1]
    assert info.body["file"] == file["id"] and info.token == h.bench.bot_token


def test_typed_serials_and_the_file_are_both_used(harness: Harness) -> None:
    h = harness
    from_file = devices(h, 2, skip=5)
    file = h.bench.put_file("serial\n" + "\n".join(from_file) + "\n" + DOCUMENTED_SERIAL + "\n", name="more.txt")
    response = submit(h, file, typed=DOCUMENTED_SERIAL, op_type="diagnostics")
    assert response.text in ("", "null"), response.text
    post = approval_for(h, [DOCUMENTED_SERIAL, *from_file])
    assert post.body["text"].count(DOCUMENTED_SERIAL) == 1, "the serial typed and in the file is one device"


def test_a_headerless_list_of_serials_is_accepted(harness: Harness) -> None:
    h = harness
    listed = devices(h, 2, skip=8)
    file = h.bench.put_file("\n".join(listed) + "\n", name="list.csv")
    assert submit(h, file).text in ("", "null")
    approval_for(h, listed)


def test_csv_without_serial_column_is_refused_inline(harness: Harness) -> None:
    h = harness
    before = len(approval_posts(h))
    file = h.bench.put_file("device,zone\nSN123456789,UTC\n", name="nope.csv")
    message = inline_error(submit(h, file))
    assert "no serial column" in message and "device, zone" in message
    assert "header line naming a column serial" in message
    assert len(approval_posts(h)) == before


def test_bad_serials_are_refused_with_their_line_numbers(harness: Harness) -> None:
    h = harness
    file = h.bench.put_file("serial,note\nSN123456789,ok\nnot a serial,x\n,empty\n", name="bad.csv")
    message = inline_error(submit(h, file))
    assert "line 3: 'not a serial' is not a device serial" in message
    assert "line 4 has no serial" in message


def test_a_file_that_is_not_csv_is_refused(harness: Harness) -> None:
    h = harness
    file = h.bench.put_file(b"\x89PNG\r\n\x1a\n\x00\x00", name="photo.png", filetype="png", mimetype="image/png")
    message = inline_error(submit(h, file))
    assert "photo.png is not a CSV" in message and "Upload a .csv" in message
    text_named_csv = h.bench.put_file(b"serial\nSN\xff\xfe123\n", name="latin1.csv")
    assert "not UTF-8 text" in inline_error(submit(h, text_named_csv))


def test_a_big_file_is_refused(harness: Harness) -> None:
    h = harness
    big = "serial,padding\n" + "".join(f"SN{i:09d},{'x' * 100}\n" for i in range(20_000))
    assert len(big) > 2 * 1024 * 1024
    file = h.bench.put_file(big, name="huge.csv")
    assert "larger than 2 MB" in inline_error(submit(h, file))


def test_a_file_bigger_than_files_info_says_is_cut_off(harness: Harness) -> None:
    h = harness
    file = h.bench.put_file("serial\n" + "SN123456789\n" * 200_000, name="liar.csv")

    def says_small(call: RecordedCall) -> dict[str, Any]:
        answer = h.bench._m_files_info(call)
        answer["file"]["size"] = 20
        return answer

    h.bench.respond_with("files.info", says_small)
    assert "larger than 2 MB" in inline_error(submit(h, file))


def test_a_token_slack_refuses_gives_a_clear_error(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    h = harness
    file = h.bench.put_file(f"serial\n{DOCUMENTED_SERIAL}\n", name="ok.csv")
    h.bench.valid_tokens = {"xoxb-someone-else"}
    with caplog.at_level(logging.INFO):
        message = inline_error(submit(h, file))
    assert "Slack refused its token" in message
    assert h.bench.calls_to("files.info")[-1].response["error"] == "invalid_auth"
    assert h.bench.bot_token not in caplog.text


def test_a_download_without_the_right_token_gets_a_clear_error(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    file = h.bench.put_file(f"serial\n{DOCUMENTED_SERIAL}\n", name="ok.csv")
    h.bench.file_tokens = {"xoxb-only-this-one"}  # files.info accepts the bot's token, the file server does not
    with caplog.at_level(logging.INFO):
        message = inline_error(submit(h, file))
    assert "did not let the bot read the file" in message and "paste the serials instead" in message
    assert h.bench.bot_token not in caplog.text
    assert file["url_private_download"] not in caplog.text


def test_the_token_goes_only_to_slacks_file_host(harness: Harness) -> None:
    h = harness
    file = h.bench.put_file(f"serial\n{DOCUMENTED_SERIAL}\n", name="ok.csv")

    def elsewhere(call: RecordedCall) -> dict[str, Any]:
        answer = h.bench._m_files_info(call)
        answer["file"]["url_private_download"] = "http://127.0.0.1:9/steal"
        answer["file"]["url_private"] = "https://files.slack.com.evil.example/steal"
        return answer

    h.bench.respond_with("files.info", elsewhere)
    assert "no address the bot may fetch" in inline_error(submit(h, file))


def test_a_file_gone_from_slack(harness: Harness) -> None:
    h = harness
    file = h.bench.put_file(f"serial\n{DOCUMENTED_SERIAL}\n", name="ok.csv")
    del h.bench.files[file["id"]]
    assert "gone from Slack" in inline_error(submit(h, file))


def test_the_stand_in_serves_files_only_with_a_token(harness: Harness) -> None:
    h = harness
    file = h.bench.put_file("serial\nSN1\n", name="a b.csv")
    url = file["url_private_download"]
    anonymous = httpx.get(url)
    assert anonymous.status_code == 200 and anonymous.headers["content-type"].startswith("text/html")
    wrong = httpx.get(url, headers={"Authorization": "Bearer xoxb-wrong"})
    assert "Sign in" in wrong.text
    right = httpx.get(url, headers={"Authorization": f"Bearer {h.bench.bot_token}"})
    assert right.status_code == 200 and right.content == b"serial\nSN1\n"
    assert httpx.get(file["url_private"], headers={"Authorization": f"Bearer {h.bench.bot_token}"}).content
    info = json.loads(httpx.get(f"{h.bench.api_url}files.info", params={"file": file["id"]},
                                headers={"Authorization": f"Bearer {h.bench.bot_token}"}).text)  # fmt: skip
    assert info["ok"] and info["file"]["name"] == "a b.csv" and info["file"]["size"] == 11
    missing = httpx.get(f"{h.bench.api_url}files.info", params={"file": "F0NOPE"},
                        headers={"Authorization": f"Bearer {h.bench.bot_token}"}).json()  # fmt: skip
    assert missing == {"ok": False, "error": "file_not_found"}
