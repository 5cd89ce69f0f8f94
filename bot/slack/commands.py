"""``/headless`` text → a typed request. Pure: no Slack client, no I/O.

Slack hands us whatever a person typed, with its own escapes: ``<@U123|alice>`` for a mention, ``<#C123|ops>`` for a
channel, ``&lt;``/``&gt;``/``&amp;`` for the three characters it reserves, and phones add smart quotes. We normalise
all of that first, so every subcommand sees plain words.
"""

from __future__ import annotations

import difflib
import html
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.domain.access import read_action
from bot.domain.ids import CHANNEL_ID, CONTROL_CHARACTERS, REQUEST_ID, SERIAL, STATUS_WORD, TXN_ID
from bot.domain.inventory import MAX_SELECTOR_LENGTH
from bot.i18n import _
from bot.services.inputs import parameter_end

SUBCOMMANDS: tuple[str, ...] = (
    "list", "status", "refresh", "schedule", "rollout", "rollouts", "watch", "unwatch", "audit", "devices", "types",
    "can", "language", "help",
)  # fmt: skip
ALIASES: dict[str, str] = {
    "ls": "list", "show": "status", "get": "status", "?": "help", "usage": "help",
    # Spanish: the subcommands keep their English names, and these work too.
    "lista": "list", "listar": "list", "estado": "status", "actualizar": "refresh", "programar": "schedule",
    "despliegue": "rollout", "despliegues": "rollouts", "seguir": "watch", "dejar": "unwatch", "auditoria": "audit",
    "auditoría": "audit", "equipos": "devices", "tipos": "types", "puedo": "can", "idioma": "language",
    "ayuda": "help",
}  # fmt: skip
#: ``/headless language`` words (English and Spanish) → the stored choice.
LANGUAGE_WORDS: dict[str, str] = {
    "en": "en", "english": "en", "inglés": "en", "ingles": "en", "es": "es", "spanish": "es", "español": "es",
    "espanol": "es", "auto": "auto", "automatic": "auto", "automático": "auto", "automatico": "auto",
}  # fmt: skip

# Phones' typography: curly quotes (English “…” ‘…’, German „…“ ‚…‘) and no-break spaces.
_SMART = str.maketrans(
    {
        **dict.fromkeys("\u201c\u201d\u201e\u201f", '"'),
        **dict.fromkeys("\u2018\u2019\u201a\u201b", "'"),
        **dict.fromkeys("\u00a0\u2007\u202f", " "),
    }
)
_USER_ESCAPE = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL_ESCAPE = re.compile(r"<#([CGD][A-Z0-9]+)(?:\|([^>]*))?>")
_GROUP_ESCAPE = re.compile(r"<!subteam\^([A-Z0-9]+)(?:\|[^>]*)?>")
_LINK_ESCAPE = re.compile(r"<(?:mailto:|https?://)?([^>|]+)\|([^>]*)>|<(https?://[^>]+)>")
_WORD = re.compile(r"\S")
_SPACE = re.compile(r"\s")


class Request(BaseModel):
    """Base of every parsed ``/headless`` request."""

    model_config = ConfigDict(frozen=True)


class HelpRequest(Request):
    kind: Literal["help"] = "help"
    topic: str | None = None


class UnknownRequest(Request):
    """A word we do not know; ``suggestion`` is the nearest subcommand, if any is near."""

    kind: Literal["unknown"] = "unknown"
    word: str
    suggestion: str | None = None


class InvalidRequest(Request):
    """A known subcommand with arguments we cannot use; ``problem`` says what to type instead."""

    kind: Literal["invalid"] = "invalid"
    subcommand: str
    problem: str


class ListRequest(Request):
    kind: Literal["list"] = "list"
    serial: str | None = None
    status: str | None = None
    offset: int = 0


class StatusRequest(Request):
    kind: Literal["status"] = "status"
    operation_id: str


class RefreshRequest(Request):
    kind: Literal["refresh"] = "refresh"
    operation_id: str


class ScheduleRequest(Request):
    """``schedule`` with its raw argument words; the scheduling service interprets them."""

    kind: Literal["schedule"] = "schedule"
    args: tuple[str, ...] = ()


class WatchRequest(Request):
    kind: Literal["watch"] = "watch"
    operation_id: str
    channel_id: str | None = None


class UnwatchRequest(Request):
    kind: Literal["unwatch"] = "unwatch"
    operation_id: str
    channel_id: str | None = None


class DevicesRequest(Request):
    """``devices [SELECTOR]``: the words after ``devices``, as one selector (``site:a, tag:b`` may have spaces)."""

    kind: Literal["devices"] = "devices"
    selector: str = ""
    offset: int = 0


class TypesRequest(Request):
    """``types``: the operation types and their parameters."""

    kind: Literal["types"] = "types"


class RolloutRequest(Request):
    """``rollout TYPE TARGETS WHEN [options] [key=value …]`` with its raw words (the rollout service reads them)."""

    kind: Literal["rollout"] = "rollout"
    args: tuple[str, ...] = ()


class RolloutStatusRequest(Request):
    """``rollout status ID``: one rollout, its waves and every failed serial."""

    kind: Literal["rollout_status"] = "rollout_status"
    rollout_id: str


class RolloutsRequest(Request):
    """``rollouts``: the active and recent rollouts."""

    kind: Literal["rollouts"] = "rollouts"


class CanRequest(Request):
    """``can ACTION [in #channel|dm]``: may I do it there (default: here), and which rule decides."""

    kind: Literal["can"] = "can"
    action: str
    channel_id: str | None = None  # a channel id, ``dm``, or None for where the command was typed


class LanguageRequest(Request):
    """``language [es|en|auto]``: the language the person reads (alone: which one, and how to change it)."""

    kind: Literal["language"] = "language"
    language: str | None = None


class AuditRequest(Request):
    kind: Literal["audit"] = "audit"
    subject: str | None = None


ParsedCommand = (
    HelpRequest
    | UnknownRequest
    | InvalidRequest
    | ListRequest
    | StatusRequest
    | RefreshRequest
    | ScheduleRequest
    | WatchRequest
    | UnwatchRequest
    | AuditRequest
    | DevicesRequest
    | TypesRequest
    | RolloutRequest
    | RolloutStatusRequest
    | RolloutsRequest
    | CanRequest
    | LanguageRequest
)


def normalize(text: str) -> str:
    """Undo Slack's escapes and phones' typography; collapse whitespace."""
    return " ".join(_unescape(text).split())


def _unescape(text: str) -> str:
    """``normalize`` but with whitespace as typed (a quoted parameter value keeps its spaces)."""
    text = CONTROL_CHARACTERS.sub(" ", text or "").translate(_SMART)
    text = _USER_ESCAPE.sub(r"@\1", text)
    text = _CHANNEL_ESCAPE.sub(r"#\1", text)
    text = _GROUP_ESCAPE.sub(r"@\1", text)
    text = _LINK_ESCAPE.sub(lambda m: m.group(2) or m.group(3) or m.group(1), text)
    return html.unescape(text)


def split_words(text: str) -> list[str]:
    """Whitespace-separated words, keeping "double quoted phrases" together (without their quotes).

    A parameter stays one word as typed, quotes included, so the parameter reader sees what was typed:
    ``note="hello world"``, ``limits:={"cpu": 2}`` and a JSON object ``{"a": "b c"}`` are one word each.
    """
    words: list[str] = []
    position = 0
    while (found := _WORD.search(text, position)) is not None:
        start = found.start()
        if text[start] == '"' and (close := text.find('"', start + 1)) >= 0:
            words.append(text[start + 1 : close])
            position = close + 1
            continue
        end = parameter_end(text, start)
        if end is None:
            space = _SPACE.search(text, start)
            end = space.start() if space else len(text)
        words.append(text[start:end])
        position = end
    return words


def suggest(word: str, choices: tuple[str, ...] = SUBCOMMANDS) -> str | None:
    """The nearest known word to a typo (``stauts`` → ``status``), or ``None`` if nothing is close."""
    found = difflib.get_close_matches(word.lower(), list(choices) + list(ALIASES), n=1, cutoff=0.6)
    if not found:
        return None
    return ALIASES.get(found[0], found[0])


def _channel_arg(word: str) -> str | None:
    channel = word.removeprefix("#")
    return channel if CHANNEL_ID.match(channel) else None


def parse_command(text: str) -> ParsedCommand:
    """Parse the text after ``/headless``."""
    words = split_words(_unescape(text))
    if not words:
        return HelpRequest()
    head, rest = words[0].lower(), words[1:]
    head = ALIASES.get(head, head)
    if head == "help":
        return HelpRequest(topic=rest[0].lower() if rest else None)
    if head == "list":
        return _parse_list(rest)
    if head in ("status", "refresh"):
        if len(rest) != 1 or not TXN_ID.match(rest[0]):
            return InvalidRequest(
                subcommand=head,
                problem=_("Give one operation id, like {example}.").format(example=f"`/headless {head} txn_12345`"),
            )
        return (StatusRequest if head == "status" else RefreshRequest)(operation_id=rest[0])
    if head in ("watch", "unwatch"):
        if not rest or not TXN_ID.match(rest[0]) or len(rest) > 2:
            return InvalidRequest(
                subcommand=head,
                problem=_("Give an operation id and optionally a channel: {example}.").format(
                    example=f"`/headless {head} txn_12345 #ops`"
                ),
            )
        channel = None
        if len(rest) == 2:
            channel = _channel_arg(rest[1])
            if channel is None:
                return InvalidRequest(
                    subcommand=head, problem=_("Pick the channel with Slack's # autocomplete, like `#ops`.")
                )
        model = WatchRequest if head == "watch" else UnwatchRequest
        return model(operation_id=rest[0], channel_id=channel)
    if head == "schedule":
        return ScheduleRequest(args=tuple(rest))
    if head == "rollout":
        if rest and rest[0].lower() == "status":
            if len(rest) != 2 or not REQUEST_ID.match(rest[1]):
                return InvalidRequest(
                    subcommand="rollout", problem=_("Give one rollout id, like `/headless rollout status 3f2a…`.")
                )
            return RolloutStatusRequest(rollout_id=rest[1])
        return RolloutRequest(args=tuple(rest))
    if head == "rollouts":
        if rest:
            return InvalidRequest(
                subcommand="rollouts", problem=_("{command} takes no arguments.").format(command="`/headless rollouts`")
            )
        return RolloutsRequest()
    if head == "audit":
        if len(rest) > 1:
            return InvalidRequest(subcommand="audit", problem=_("Give at most one serial or operation id."))
        return AuditRequest(subject=rest[0] if rest else None)
    if head == "can":
        return _parse_can(rest)
    if head == "language":
        chosen = LANGUAGE_WORDS.get(rest[0].lower()) if len(rest) == 1 else None
        if rest and chosen is None:
            return InvalidRequest(
                subcommand="language",
                problem=_("Use {command}: Spanish, English, or from your Slack language.").format(
                    command="`/headless language es|en|auto`"
                ),
            )
        return LanguageRequest(language=chosen)
    if head == "types":
        if rest:
            return InvalidRequest(
                subcommand="types", problem=_("{command} takes no arguments.").format(command="`/headless types`")
            )
        return TypesRequest()
    if head == "devices":
        selector = " ".join(rest)
        if len(selector) > MAX_SELECTOR_LENGTH:
            return InvalidRequest(
                subcommand="devices",
                problem=_("A selector is at most {limit} characters.").format(limit=MAX_SELECTOR_LENGTH),
            )
        return DevicesRequest(selector=selector)
    return UnknownRequest(word=words[0][:40], suggestion=suggest(head))


def _parse_can(rest: list[str]) -> ParsedCommand:
    usage = _(
        "Use `/headless can ACTION [in #channel]`, like `/headless can schedule:reboot in #ops` or "
        "`/headless can list`."
    )
    if not rest or len(rest) not in (1, 3) or (len(rest) == 3 and rest[1].lower() != "in"):
        return InvalidRequest(subcommand="can", problem=usage)
    try:
        action = read_action(rest[0])
    except ValueError as exc:
        return InvalidRequest(subcommand="can", problem=str(exc))
    channel: str | None = None
    if len(rest) == 3:
        channel = "dm" if rest[2].lower() == "dm" else _channel_arg(rest[2])
        if channel is None:
            return InvalidRequest(
                subcommand="can", problem=_("Pick the channel with Slack's # autocomplete, or say dm.")
            )
    return CanRequest(action=action, channel_id=channel)


def _parse_list(rest: list[str]) -> ParsedCommand:
    serial: str | None = None
    status: str | None = None
    for word in rest:
        key, sep, value = word.partition("=")
        if sep:
            if key.lower() != "status" or not STATUS_WORD.match(value):
                return InvalidRequest(
                    subcommand="list", problem=_("Filter with `status=STATUS`, like `/headless list status=failed`.")
                )
            status = value.lower()
        elif serial is None and SERIAL.match(word):
            serial = word
        else:
            return InvalidRequest(
                subcommand="list",
                problem=_(
                    "Use `/headless list [SERIAL] [status=STATUS]`, like `/headless list SN123456789 status=failed`."
                ),
            )
    return ListRequest(serial=serial, status=status)
