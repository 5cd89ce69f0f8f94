"""Why a rollout stopped, in the reader's language, though it is stored once in English.

A pause or abort reason is written when it happens (by the runner, with no reader, or by a click, in the clicker's
language) and read later by others (the rollout message, its thread, ``/headless rollout status``). So it is stored
in the source language, English (the store, the audit log and the logs read the same words), and each reader gets
it in theirs: :func:`reason_words` recognises a stored reason by its English template and writes it again with the
translated one, the same values in the placeholders. A reason it does not recognise (older wording, a typed one)
reads as stored.

Each kind of reason is one function giving its template in the current language (``_``/``ngettext`` with literal
ids, so ``pybabel extract`` finds them); its English is the same function under ``use_language("en")``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from bot.i18n import DEFAULT_LANGUAGE, _, ngettext, use_language


@dataclass(frozen=True)
class _Kind:
    """A reason's template for a count (``count``: the placeholder whose number picks the plural form)."""

    template: Callable[[int], str]
    count: str | None = None


def _paused_by(n: int) -> str:
    return _("paused by {user}")


def _aborted_by(n: int) -> str:
    return _("aborted by {user}")


def _first_failure(n: int) -> str:
    return ngettext(
        "{failures} operation failed, and failure_threshold is 0 %: a rollout stops at its first failure.",
        "{failures} operations failed, and failure_threshold is 0 %: a rollout stops at its first failure.",
        n,
    )


def _over_threshold(n: int) -> str:
    return _("{failures} of {executed} executed operations failed ({rate}), at or above the {threshold} threshold.")


def _max_failures(n: int) -> str:
    return ngettext(  # English says "operations" even for one (max_failures=1): the wording the suite asserts
        "{failures} operations failed, reaching max_failures={max_failures}.",
        "{failures} operations failed, reaching max_failures={max_failures}.",
        n,
    )


def _wave_failed(n: int) -> str:
    return _(
        "wave {wave} settled with {failures} of {executed} failed, below the success rate the threshold asks for, "
        "with too few executed to abort ({total_executed} of {min_executed}): an approver decides (Resume or Abort)"
    )


def _blind(n: int) -> str:
    return _(
        "inconclusive: the Control API could not be polled {polls} times in a row (since {since} UTC: {why}), so "
        "the waves' outcomes are unknown; an approver resumes it once the API answers"
    )


def _no_answer() -> str:
    return _("no answer")


PAUSED_BY = _Kind(_paused_by)
ABORTED_BY = _Kind(_aborted_by)
FIRST_FAILURE = _Kind(_first_failure, "failures")
OVER_THRESHOLD = _Kind(_over_threshold)
MAX_FAILURES = _Kind(_max_failures, "failures")
WAVE_FAILED = _Kind(_wave_failed)
BLIND = _Kind(_blind)
_KINDS = (PAUSED_BY, ABORTED_BY, FIRST_FAILURE, OVER_THRESHOLD, MAX_FAILURES, WAVE_FAILED, BLIND)
_FIELD = re.compile(r"\{(\w+)\}")
_LONGEST = 2000  # characters: the bot's own reasons are far shorter (an outage reason included)


def _number(text: str) -> int:
    digits = text.replace(",", "")
    return int(digits) if digits.isdigit() else 2


def english(kind: _Kind, **values: object) -> str:
    """The reason as it is stored: ``kind`` in English, ``values`` in its placeholders."""
    n = _number(str(values[kind.count])) if kind.count else 1
    with use_language(DEFAULT_LANGUAGE):
        return kind.template(n).format(**values)


def no_answer() -> str:
    """What the blind pause says when the notifier recorded no reason for the outage (English, stored)."""
    with use_language(DEFAULT_LANGUAGE):
        return _no_answer()


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], _Kind], ...]:
    """Each kind's English templates (singular and plural) as patterns whose groups are the placeholders."""
    patterns: list[tuple[re.Pattern[str], _Kind]] = []
    for kind in _KINDS:
        with use_language(DEFAULT_LANGUAGE):
            templates = dict.fromkeys((kind.template(1), kind.template(2)))
        for template in templates:
            parts = _FIELD.split(template)  # literal, name, literal, name, …, literal
            regex = "".join(
                re.escape(part.replace("{{", "{").replace("}}", "}")) if i % 2 == 0 else rf"(?P<{part}>.+?)"
                for i, part in enumerate(parts)
            )
            patterns.append((re.compile(rf"{regex}\Z", re.DOTALL), kind))
    return tuple(patterns)


def reason_words(text: str) -> str:
    """A stored reason in the current language (as stored when it is not one of the bot's own, or too long to be:
    the patterns' lazy groups are never run over a long text)."""
    if len(text) > _LONGEST:
        return text
    for pattern, kind in _patterns():
        if (match := pattern.match(text)) is not None:
            values = match.groupdict()
            if kind is BLIND and values["why"] == no_answer():
                values["why"] = _no_answer()
            n = _number(values[kind.count]) if kind.count else 1
            return kind.template(n).format(**values)
    return text


__all__ = [
    "ABORTED_BY",
    "BLIND",
    "FIRST_FAILURE",
    "MAX_FAILURES",
    "OVER_THRESHOLD",
    "PAUSED_BY",
    "WAVE_FAILED",
    "english",
    "no_answer",
    "reason_words",
]
