"""The rollouts area in Spanish (#19): its fragment (``bot/locale/fragments/rollouts.po``) is complete and safe, the
messages render in Spanish with Slack's limits kept, and a stop reason stored in English reads in the reader's
language while English reads byte for byte as stored."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

import bot.i18n as i18n
from bot.domain import rollout_reasons as reasons
from bot.domain.rollouts import RolloutOptionError, RolloutOptions, RolloutState, abort_reason, split_rollout_options
from bot.i18n import use_language
from bot.services.rollouts.events import RolloutEvent
from bot.slack.blocks import rollout_modal as rm
from bot.slack.blocks.rollouts import (
    rollout_event_message,
    rollout_message,
    rollout_preview_message,
    rollout_status_message,
    rollouts_list_message,
)
from tests.unit.test_rollout_blocks import (
    assert_within_limits,
    checked,
    joined,
    record,
    serials,
    tally,
    view,
)

FRAGMENT = Path(i18n.__file__).parent / "locale" / "es" / "LC_MESSAGES" / "messages.po"  # the merged catalogue
FIELD = re.compile(r"\{(\w*)\}")


@pytest.fixture
def spanish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The bot's catalogue for ``es`` is this area's fragment (the merged catalogue is built from the fragments)."""
    target = tmp_path / "es" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(FRAGMENT, target / f"{i18n.DOMAIN}.po")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    with use_language("es"):
        yield
    i18n.translations.cache_clear()


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_the_fragment_translates_every_id_with_the_same_placeholders_and_no_new_markup() -> None:
    with FRAGMENT.open("rb") as handle:
        catalog = read_po(handle)
    assert catalog.locale_identifier == "es" and catalog.plural_forms == "nplurals=2; plural=(n != 1);"
    assert len(catalog) > 150
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings) and "fuzzy" not in message.flags, message.id
        for string in strings:
            assert set(FIELD.findall(string)) == set(FIELD.findall(ids[-1])), message.id
            assert all(ch in "".join(ids) for ch in "<>&" if ch in string), message.id
        assert "dispositivo" not in " ".join(strings).lower(), message.id


def test_the_preview_and_the_form_in_spanish_keep_slacks_limits(spanish: None) -> None:
    message = rollout_preview_message(checked(500))
    assert_within_limits(message)
    text = joined(message)
    assert "*Revisa este despliegue:*" in text and "*Etapas* (acumuladas):" in text
    assert "Etapa 1/4 · 1 % · 5 equipos · inicio más temprano <!date^" in text
    assert "Abortar cuando falle el 10 % o más de las operaciones ejecutadas" in text
    assert [b["text"]["text"] for b in _buttons(message)] == ["Confirmar", "Cancelar"]
    form = rm.rollout_modal(["firmware_update"], preview="x", private_metadata="{}", zone_note="UTC.")
    assert form["title"]["text"] == "Iniciar un despliegue" and len(form["title"]["text"]) <= 24
    labels = [b["label"]["text"] for b in form["blocks"] if b["type"] == "input"]
    assert "Etapas (% acumulado)" in labels and "Avance entre etapas" in labels


@pytest.mark.parametrize("state", list(RolloutState))
def test_the_rollout_message_in_spanish_in_every_state(spanish: None, state: RolloutState) -> None:
    rec = record(state, current_wave=2, stop_reason=reasons.english(reasons.PAUSED_BY, user="<@U0APP>"))
    message = rollout_message(view(rec, {1: tally(5, completed=5), 2: tally(45, completed=40, pending=5)}))
    assert_within_limits(message)
    assert "Despliegue `RO7K2M9Q`" in joined(message) and "Wave" not in joined(message)
    for element in _buttons(message):
        assert len(element["text"]["text"]) <= 75
        assert element["text"]["text"] in {"Aprobar", "Rechazar", "Promover", "Pausar", "Reanudar", "Abortar",
                                           "Clonar los restantes"}  # fmt: skip


def test_a_stop_reason_stored_in_english_reads_in_spanish(spanish: None) -> None:
    reason = abort_reason(RolloutOptions(), total=500, executed=30, failures=6)
    assert reason == "6 of 30 executed operations failed (20 %), at or above the 10 % threshold."  # stored
    rec = record(RolloutState.ABORTED, current_wave=2, stop_reason=reason)
    message = rollout_status_message(view(rec, {1: tally(5, completed=5), 2: tally(45, completed=24, failed=6)}))
    assert_within_limits(message)
    assert (
        ":octagonal_sign: *Abortado*: fallaron 6 de 30 operaciones ejecutadas (20 %), en o por encima del umbral de "
        "10 %. No se creará nada más."
    ) in joined(message)
    event = RolloutEvent(kind="paused", wave=1, reason=reasons.english(
        reasons.BLIND, polls=5, since="2026-03-07 02:00", why=reasons.no_answer()))  # fmt: skip
    reply = rollout_event_message(view(record(RolloutState.PAUSED, current_wave=1), {}), event)
    assert (
        "no concluyente: no se pudo consultar la Control API 5 veces seguidas (desde 2026-03-07 02:00 UTC: "
        "sin respuesta)" in joined(reply)
    )


def test_every_reason_reads_back_to_its_english_word_for_word() -> None:
    """English: ``reason_words`` of a stored reason is the reason itself; a reason it does not know is kept."""
    stored = [
        reasons.english(reasons.PAUSED_BY, user="<@U1>"),
        reasons.english(reasons.ABORTED_BY, user="<@U1>"),
        abort_reason(RolloutOptions(failure_threshold=0), total=10, executed=1, failures=1),
        abort_reason(RolloutOptions(failure_threshold=0), total=10, executed=3, failures=3),
        abort_reason(RolloutOptions(failure_threshold=1, max_failures=1), total=10, executed=3, failures=1),
        reasons.english(reasons.WAVE_FAILED, wave=2, failures="1", executed="3", total_executed="3", min_executed="5"),
        "typed by hand: <!here>",
    ]
    assert stored[2] == "1 operation failed, and failure_threshold is 0 %: a rollout stops at its first failure."
    assert stored[4] == "1 operations failed, reaching max_failures=1."
    for text in stored:
        assert reasons.reason_words(text) == text


def test_option_errors_and_the_empty_list_in_spanish(spanish: None) -> None:
    with pytest.raises(RolloutOptionError) as caught:
        split_rollout_options(["soak=forever", "gate=sometimes"])
    assert str(caught.value).splitlines() == [
        "`soak=forever`: no es una duración. Escribe una duración, como soak=30m, soak=2h, soak=1h30m o soak=0.",
        "`gate=sometimes`: es auto o manual. Escribe gate=auto o gate=manual.",
    ]
    empty = rollouts_list_message([])
    assert empty["blocks"][0]["text"]["text"].startswith("Todavía no hay despliegues. Inicia uno con `/headless")
    listed = rollouts_list_message([view(record(RolloutState.RUNNING, total=len(serials(3))), {})])
    assert "*Despliegues activos (1)*" in joined(listed)
