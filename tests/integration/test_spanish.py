"""Spanish and English (#19) from outside: a console session as a Spanish-locale user reads no English word of the
bot's own text; ``/headless language`` (and its Spanish alias) switches a person's language and is remembered;
channel posts follow ``CHANNEL_LANGUAGES`` whatever the language of the person who caused them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.simulator import DOCUMENTED_SERIAL
from tests.integration.test_console import run_console
from tests.support.flows import buttons, db, wait_until
from tests.support.harness import APPROVAL_CHANNEL, REQUESTER, Harness, OffsetClock, bot_harness
from tests.support.slack_text import texts

SPANISH_SCRIPT = """\
/as sofia
/headless ayuda
/headless lista
/headless programar SN123456789 reboot mañana a las 3 de la tarde
/press Confirmar
/headless estado txn_10000
/headless tipos
/headless puedo list
/headless idioma
/headless equipos site:madrid
/headless programar SN123456789 reboot ayer
/headless frobnicar
/quit
"""
#: English words the bot's own text uses and Spanish never does (command syntax in backticks aside).
ENGLISH = re.compile(
    r"\b(the|you|your|and|please|request|requested|device|devices|operation|operations|when|will|with|only|here|"
    r"approval|approved|confirmed|waiting|created|parameters|none|scheduled|status|more|unknown|did you mean)\b",
    re.IGNORECASE,
)


def bot_text(out: str) -> list[str]:
    """What the bot said to Sofía: the lines of the messages shown after ``/as sofia``, without what she typed,
    the console's own notes, code spans, ids and data from the sample files (operation type descriptions)."""
    lines = []
    for line in out.split("/as sofia", 1)[1].splitlines():
        if line.startswith(("sofia>", "You are now")) or not line.startswith("  "):
            continue
        line = re.sub(r"`[^`]*`", "", line)  # command syntax, serials, ids
        line = re.sub(r" — [A-Z][^(]*\(", " (", line)  # an OPERATIONS_FILE description (data, not the bot's)
        line = re.sub(r"— [A-Z].*$", "", line)
        lines.append(line)
    return lines


def test_a_spanish_console_session_shows_no_english_word_of_the_bot(tmp_path: Path) -> None:
    out = run_console(SPANISH_SCRIPT, tmp_path, CHANNEL_LANGUAGES="C0CONSOLE:es,C0APPROVALS:es,C0OPS:es")
    assert "Cómo usar /headless" in out
    assert "Revisa lo que se va a programar" in out
    assert "[1] Confirmar" in out
    assert "Traceback" not in out
    english = [line for line in bot_text(out) if ENGLISH.search(line)]
    assert not english, "\n".join(english)


@pytest.fixture
def spanish_approvals(database_url: str) -> Iterator[Harness]:
    with bot_harness(
        database_url=database_url, clock=OffsetClock(), channel_languages=f"{APPROVAL_CHANNEL}:es",
        approval_required_for="*",
    ) as h:  # fmt: skip
        h.database_url = database_url  # type: ignore[attr-defined]
        yield h


def answer(h: Harness, text: str, user: str = REQUESTER) -> str:
    _response, request = h.command(text, user_id=user)
    (reply,) = h.responses(request)
    return texts(reply.body)


def test_language_command_switches_and_is_remembered(spanish_approvals: Harness) -> None:
    h = spanish_approvals
    assert "How to use /headless" in texts(h.command("help", user_id=REQUESTER)[0].json())
    assert "ahora el bot te habla en español" in answer(h, "language es")
    assert db(h.database_url, lambda s: s.language_choice(REQUESTER)) == "es"  # type: ignore[attr-defined]
    assert "Cómo usar /headless" in texts(h.command("ayuda", user_id=REQUESTER)[0].json())
    assert "No hay operaciones" in answer(h, "lista") or "Operaciones" in answer(h, "lista")
    assert "follows your Slack language again" in answer(h, "idioma auto")
    assert "Use `/headless language es|en|auto`" in texts(h.command("language klingon", user_id=REQUESTER)[0].json())


def test_channel_posts_follow_channel_languages_not_the_clicker(spanish_approvals: Harness) -> None:
    """An English-speaking requester confirms; the approval channel (``CHANNEL_LANGUAGES``: es) reads Spanish, the
    requester's own answers stay English."""
    h = spanish_approvals
    _response, request = h.command(f"schedule {DOCUMENTED_SERIAL} reboot tomorrow at 2am", user_id=REQUESTER)
    (preview,) = h.responses(request)
    assert "Please check what will be scheduled" in texts(preview.body)
    confirm = buttons(preview)["Confirm"]
    h.sender.send(h.sender.block_action("schedule_confirm", confirm["value"], block_id="confirm_actions",
                                        is_ephemeral=True, response_url=request.response_url))  # fmt: skip
    post = wait_until(
        lambda: [c for c in h.bench.calls_to("chat.postMessage") if c.body.get("channel") == APPROVAL_CHANNEL],
        what="the approval message",
    )[-1]
    assert "Aprobar" in buttons(post) and "Rechazar" in buttons(post)
    assert "Approve" not in buttons(post)
    dm = wait_until(
        lambda: [c for c in h.bench.calls_to("chat.postMessage") if c.body.get("channel") == REQUESTER],
        what="the requester's DM",
    )[-1]
    assert "waiting for approval" in texts(dm.body)
