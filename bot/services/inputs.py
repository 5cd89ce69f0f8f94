"""Parse what people type for a schedule request: device serials, an operation type, parameters.

Pure functions; each failure is an ``InputError`` whose message says what was wrong and what to type instead,
ready to show inline on the right field of the modal or in an ephemeral reply.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Sequence
from typing import Any

from bot.domain.ids import SERIAL, serial_key
from bot.domain.quotes import CLOSING_QUOTES, DOUBLE_QUOTES
from bot.i18n import N_, _, ngettext

PARAM_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
MAX_PARAMETERS = 50
MAX_PARAMETERS_JSON = 4000


class InputError(ValueError):
    """Input a person must fix; the message is shown to them as is (plain text, no mrkdwn)."""


def parse_serials(text: str, *, limit: int) -> list[str]:
    """Serials separated by commas, spaces or new lines; duplicates dropped, order kept.

    Serials are compared without regard to case: ``SN123456789,sn123456789`` is one device, not two operations
    on it (the API spec writes serials in upper case and gives case no meaning). Each is sent as first typed: the
    bot does not invent a spelling the inventory may not have; a spelling it lacks gets the API's 404, naming it.
    """
    words = [w for w in re.split(r"[\s,;]+", text or "") if w]
    if not words:
        raise InputError(_("Give at least one device serial, like SN123456789."))
    bad = [w for w in words if not SERIAL.match(w)]
    if bad:
        shown = ", ".join(w[:40] for w in bad[:3])
        raise InputError(
            ngettext(
                "{serials} is not a device serial: use letters, digits, '.', '_', ':' or '-', 3 to 64 characters, "
                "like SN123456789.",
                "{serials} are not device serials: use letters, digits, '.', '_', ':' or '-', 3 to 64 characters, "
                "like SN123456789.",
                len(bad),
            ).format(serials=shown)
        )
    first_spelling: dict[str, str] = {}
    for word in words:
        first_spelling.setdefault(serial_key(word), word)
    serials = list(first_spelling.values())
    if len(serials) > limit:
        raise too_many(len(serials), limit)
    return serials


def too_many(count: int, limit: int) -> InputError:
    """More devices than one request may hold (``MAX_DEVICES_PER_REQUEST``)."""
    return InputError(
        _(
            "{count} devices is more than {limit} in one request (MAX_DEVICES_PER_REQUEST): narrow the selector "
            "(site:NAME+tag:NAME) or split the request."
        ).format(count=f"{count:,}", limit=f"{limit:,}")
    )


def parse_operation_type(text: str, allowed: Sequence[str]) -> str:
    """One of ``allowed``, case-insensitive, ``-`` and spaces read as ``_``; a near miss gets a suggestion."""
    word = re.sub(r"[\s-]+", "_", (text or "").strip().lower())
    if word in allowed:
        return word
    near = difflib.get_close_matches(word, list(allowed), n=1, cutoff=0.6)
    shown = (text or "").strip()[:40] or _("(nothing)")
    if near:
        message = _("Unknown operation type {shown}. Did you mean {near}? Choose one of: {allowed}.")
    else:
        message = _("Unknown operation type {shown}. Choose one of: {allowed}.")
    raise InputError(message.format(shown=shown, near=near[0] if near else "", allowed=", ".join(allowed)))


# Parameters. ``key=value`` sends the text as typed (``true``/``false`` excepted: JSON booleans, as in the API's own
# example ``"restart_required": true``); ``key:=JSON`` sends a JSON value (``retries:=3``, ``tag:=null``), as HTTPie
# does; quotes keep spaces (``note="hello world"``). Pairs are separated by spaces or new lines. One reader serves the
# modal, the quick form and the quick form's word splitting (``parameter_end``), so they cannot disagree.
_PAIR_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*)(:=|=)")
# A word of the quick form that begins its parameters: a ``=`` (no time phrase has one) or a JSON object.
_QUICK_START_RE = re.compile(r"^(?:[^=]*=|\{)")
_CLOSING = CLOSING_QUOTES  # an opening quote → the quotes that close it
# Typographic double quotes → straight ones, char for char (positions stay valid), to read JSON typed on a phone.
_STRAIGHT = str.maketrans(dict.fromkeys(DOUBLE_QUOTES[1:], '"'))
_SPACE_RE = re.compile(r"\s")
_WORD_RE = re.compile(r"\S")
MAX_JSON_DEPTH = 20
_EXAMPLES = N_('like config_profile=production_v2, retries:=3 or note="hello world"')


class _NotJson(ValueError):
    """``NaN``/``Infinity``: Python reads them, JSON has no such values, and the API would get an invalid body."""


def _no_constant(name: str) -> Any:
    raise _NotJson(_("{name} is not a JSON value").format(name=name))


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _NotJson(_("key {key} appears twice").format(key=repr(key[:40])))
        found[key] = value
    return found


_DECODER = json.JSONDecoder(parse_constant=_no_constant, object_pairs_hook=_no_duplicates)


def _too_deep() -> _NotJson:
    return _NotJson(_("nested more than {limit} levels deep").format(limit=MAX_JSON_DEPTH))


def _check_json(value: Any) -> None:
    """At most ``MAX_JSON_DEPTH`` levels, and no infinite number (``1e999`` reads as ``inf``)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise _too_deep()
        if isinstance(item, float) and not math.isfinite(item):
            raise _NotJson(_("a number too large for JSON"))
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children)


def _decode_json(text: str, start: int) -> tuple[Any, int]:
    """One JSON value at ``text[start]`` → (value, index after it); typographic quotes read as straight ones.

    Only the next ``MAX_PARAMETERS_JSON`` characters are read (no longer value is accepted), so splitting a long
    text into words stays linear."""
    window = text[start : start + MAX_PARAMETERS_JSON + 1]
    try:
        try:
            value, end = _DECODER.raw_decode(window)
        except json.JSONDecodeError:
            straight = window.translate(_STRAIGHT)
            if straight == window:
                raise
            value, end = _DECODER.raw_decode(straight)
    except RecursionError:
        raise _too_deep() from None
    _check_json(value)
    return value, start + end


def _word_end(text: str, start: int) -> int:
    match = _SPACE_RE.search(text, start)
    return match.start() if match else len(text)


def _json_value(key: str, text: str, start: int) -> tuple[Any, int]:
    if start >= len(text) or text[start].isspace():
        raise InputError(
            _(
                "Parameter {key}: give a JSON value after :=, like {key}:=3, {key}:=true or {key}:=null "
                "(for an empty text, write {key}= with nothing after it)."
            ).format(key=key)
        )
    shown = text[start : _word_end(text, start)][:40]
    try:
        value, end = _decode_json(text, start)
    except ValueError as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise InputError(
            _(
                "Parameter {key}: {shown} is not valid JSON ({reason}). After := write a JSON value, like "
                '{key}:=3, {key}:={{"cpu": 2}} or {key}:=null; for text, write {key}=value.'
            ).format(key=key, shown=shown, reason=reason)
        ) from None
    if end < len(text) and not text[end].isspace():
        raise InputError(
            _(
                "Parameter {key}: {shown} is not valid JSON (something follows the value). After := write a JSON "
                "value, like {key}:=3; for text, write {key}=value."
            ).format(key=key, shown=shown)
        )
    return value, end


def _text_value(key: str, text: str, start: int) -> tuple[Any, int]:
    if start >= len(text) or text[start].isspace():
        return "", start
    closers = _CLOSING.get(text[start])
    if closers is None:
        end = _word_end(text, start)
        word = text[start:end]
        return (word.lower() == "true") if word.lower() in ("true", "false") else word, end
    stop = start + 1 + MAX_PARAMETERS_JSON
    close = min((i for quote in closers if (i := text.find(quote, start + 1, stop)) >= 0), default=-1)
    if close < 0:
        raise InputError(
            _(
                "Parameter {key}: the value opens a quote ({quote}) that is never closed. "
                'Close it, like {key}="hello world".'
            ).format(key=key, quote=text[start])
        )
    end = close + 1
    if end < len(text) and not text[end].isspace():
        raise InputError(
            _(
                'Parameter {key}: put a space after the closing quote, or quote the whole value, like {key}="a b".'
            ).format(key=key)
        )
    return text[start + 1 : close], end


def _read_pair(text: str, start: int, after: str | None = None) -> tuple[str, Any, int]:
    """The ``key=value`` / ``key:=JSON`` at ``text[start]`` → (key, value, index after it). ``after``: the key of
    the pair before it, to suggest quotes when a word is the rest of its value."""
    match = _PAIR_RE.match(text, start)
    if match is None:
        word = text[start : _word_end(text, start)]
        if word.startswith("{"):
            raise InputError(_one_form())
        if after is not None:
            raise InputError(
                _(
                    "Cannot read {word} after parameter {after}. If it is part of {after}'s value, put the "
                    'value in quotes, like {after}="two words"; otherwise write key=value.'
                ).format(word=repr(word[:40]), after=after)
            )
        raise InputError(
            _(
                "Cannot read parameter {word}: write key=value for text or key:=JSON for numbers, lists and "
                "null, {examples}. Put quotes around a value with spaces."
            ).format(word=repr(word[:40]), examples=_(_EXAMPLES))
        )
    key, operator = match.groups()
    if not PARAM_KEY_RE.match(key):
        raise InputError(_("Parameter name {name} is too long: at most 64 characters.").format(name=repr(key[:40])))
    reader = _json_value if operator == ":=" else _text_value
    value, end = reader(key, text, match.end())
    return key, value, end


def _one_form() -> str:
    return _("Give either one JSON object or key=value pairs, not both.")


def parameter_end(text: str, start: int) -> int | None:
    """Where the parameter (``key=…``, ``key:=…`` or a JSON object) at ``text[start]`` ends, spaces inside quotes
    and JSON included; ``None`` if none starts there or it cannot be read (the caller splits at whitespace, and
    ``parse_parameters`` reports the problem)."""
    try:
        if text.startswith("{", start):
            return _decode_json(text, start)[1]
        return _read_pair(text, start)[2] if _PAIR_RE.match(text, start) else None
    except ValueError:  # InputError and bad JSON alike
        return None


def _json_object(text: str) -> dict[str, Any]:
    try:
        value, end = _decode_json(text, 0)
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            where = _("{reason} at line {line} column {column}").format(
                reason=exc.msg, line=exc.lineno, column=exc.colno
            )
        else:
            where = str(exc)
        raise InputError(
            _(
                "Parameters look like JSON but are not valid ({where}). "
                'Write a JSON object like {{"config_profile": "production_v2"}} or key=value lines.'
            ).format(where=where)
        ) from None
    if text[end:].strip():
        raise InputError(_one_form())
    if not isinstance(value, dict):
        raise InputError(_('Parameters must be a JSON object like {{"restart_required": true}}.').format())
    bad_keys = [k for k in value if not PARAM_KEY_RE.match(k)]
    if bad_keys:
        raise InputError(
            _("Parameter name {name} is not valid: use letters, digits and _.").format(name=repr(bad_keys[0][:40]))
        )
    return value


def parse_parameters(text: str | None, *, text_keys: set[str] | None = None) -> dict[str, Any]:
    """A JSON object, or ``key=value`` / ``key:=JSON`` pairs separated by spaces or new lines. Empty → ``{}``.

    ``text_keys``: if given, gets the keys whose value was typed as text (``key=value``), which an operation type's
    schema may read as a number or a boolean (``bot.domain.operation_types.coerce_text``)."""
    text = (text or "").strip()
    if not text:
        return {}
    if len(text) > MAX_PARAMETERS_JSON:
        raise InputError(
            _("Parameters are too long ({length} characters; at most {limit}).").format(
                length=len(text), limit=MAX_PARAMETERS_JSON
            )
        )
    if text.startswith("{"):
        return _bounded(_json_object(text))
    params: dict[str, Any] = {}
    position = 0
    key: str | None = None
    while (found := _WORD_RE.search(text, position)) is not None:
        key, value, position = _read_pair(text, found.start(), after=key)
        if text_keys is not None and (pair := _PAIR_RE.match(text, found.start())) and pair.group(2) == "=":
            text_keys.add(key)
        if key in params:
            raise InputError(_("Parameter {key} is given twice; keep one.").format(key=key))
        params[key] = value
    return _bounded(params)


def _bounded(params: dict[str, Any]) -> dict[str, Any]:
    if len(params) > MAX_PARAMETERS:
        raise InputError(_("{count} parameters is more than {limit}.").format(count=len(params), limit=MAX_PARAMETERS))
    return params


def split_quick_form(args: Sequence[str]) -> tuple[str, str, str, list[str]]:
    """``SERIAL TYPE WHEN… [key=value …]`` → (serials, type, when text, parameter words).

    The parameters begin at the first word after the type with a ``=`` in it or starting with ``{``, so a parameter
    that cannot be read (``-x=1``) is reported as a parameter, never as part of the time.
    """
    if len(args) < 3:
        raise InputError(
            _(
                "Use /headless schedule SERIAL TYPE WHEN [key=value …], like "
                "/headless schedule SN123456789 reboot tomorrow at 2am — or /headless schedule alone for the form."
            )
        )
    serials, op_type, rest = args[0], args[1], list(args[2:])
    first = next((i for i, word in enumerate(rest) if _QUICK_START_RE.match(word)), len(rest))
    if first == 0:
        raise InputError(_("Say when, like tomorrow at 2am, in 3 hours, or next window."))
    return serials, op_type, " ".join(rest[:first]), rest[first:]
