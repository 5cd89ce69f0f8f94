"""Parse what people type for a schedule request: device serials, an operation type, parameters.

Pure functions; each failure is an ``InputError`` whose message says what was wrong and what to type instead,
ready to show inline on the right field of the modal or in an ephemeral reply.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from typing import Any

SERIAL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{2,63}$")
PARAM_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
MAX_PARAMETERS = 50
MAX_PARAMETERS_JSON = 4000


class InputError(ValueError):
    """Input a person must fix; the message is shown to them as is (plain text, no mrkdwn)."""


def parse_serials(text: str, *, limit: int) -> list[str]:
    """Serials separated by commas, spaces or new lines; duplicates dropped, order kept."""
    words = [w for w in re.split(r"[\s,;]+", text or "") if w]
    if not words:
        raise InputError("Give at least one device serial, like SN123456789.")
    bad = [w for w in words if not SERIAL_RE.match(w)]
    if bad:
        shown = ", ".join(w[:40] for w in bad[:3])
        raise InputError(
            f"{shown} {'is not a' if len(bad) == 1 else 'are not'} device serial{'s' if len(bad) > 1 else ''}: "
            "use letters, digits, '.', '_', ':' or '-', 3 to 64 characters, like SN123456789."
        )
    serials = list(dict.fromkeys(words))
    if len(serials) > limit:
        raise InputError(f"{len(serials)} serials is more than {limit} in one request; split it into several.")
    return serials


def parse_operation_type(text: str, allowed: Sequence[str]) -> str:
    """One of ``allowed``, case-insensitive, ``-`` and spaces read as ``_``; a near miss gets a suggestion."""
    word = re.sub(r"[\s-]+", "_", (text or "").strip().lower())
    if word in allowed:
        return word
    near = difflib.get_close_matches(word, list(allowed), n=1, cutoff=0.6)
    hint = f" Did you mean {near[0]}?" if near else ""
    shown = (text or "").strip()[:40] or "(nothing)"
    raise InputError(f"Unknown operation type {shown}.{hint} Choose one of: {', '.join(allowed)}.")


def _scalar(value: str) -> Any:
    """``true``/``false``/``null``/numbers become JSON values; everything else stays a string."""
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none"):
        return None
    if re.fullmatch(r"-?\d{1,15}", value):
        return int(value)
    if re.fullmatch(r"-?\d{1,15}\.\d{1,15}", value):
        return float(value)
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_parameters(text: str | None) -> dict[str, Any]:
    """A JSON object, or ``key=value`` pairs one per line (or separated by spaces). Empty → ``{}``."""
    text = (text or "").strip()
    if not text:
        return {}
    if len(text) > MAX_PARAMETERS_JSON:
        raise InputError(f"Parameters are too long ({len(text)} characters; at most {MAX_PARAMETERS_JSON}).")
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"Parameters look like JSON but are not valid ({exc.msg} at line {exc.lineno} column {exc.colno}). "
                'Write a JSON object like {"config_profile": "production_v2"} or key=value lines.'
            ) from None
        if not isinstance(value, dict):
            raise InputError('Parameters must be a JSON object like {"restart_required": true}.')
        bad_keys = [k for k in value if not PARAM_KEY_RE.match(k)]
        if bad_keys:
            raise InputError(f"Parameter name {bad_keys[0][:40]!r} is not valid: use letters, digits and _.")
        return _bounded(value)
    params: dict[str, Any] = {}
    for item in re.split(r"[\n\r]+|\s+(?=[A-Za-z_][A-Za-z0-9_.-]*=)", text):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not PARAM_KEY_RE.match(key):
            raise InputError(
                f"Cannot read parameter {item[:40]!r}: "
                "write key=value, one per line, like config_profile=production_v2."
            )
        if key in params:
            raise InputError(f"Parameter {key} is given twice; keep one.")
        params[key] = _scalar(value.strip())
    return _bounded(params)


def _bounded(params: dict[str, Any]) -> dict[str, Any]:
    if len(params) > MAX_PARAMETERS:
        raise InputError(f"{len(params)} parameters is more than {MAX_PARAMETERS}.")
    return params


def split_quick_form(args: Sequence[str]) -> tuple[str, str, str, list[str]]:
    """``SERIAL TYPE WHEN… [key=value …]`` → (serials, type, when text, parameter words)."""
    if len(args) < 3:
        raise InputError(
            "Use /headless schedule SERIAL TYPE WHEN [key=value …], like "
            "/headless schedule SN123456789 reboot tomorrow at 2am — or /headless schedule alone for the form."
        )
    serials, op_type, rest = args[0], args[1], list(args[2:])
    params: list[str] = []
    while rest and re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*=", rest[-1]):
        params.insert(0, rest.pop())
    if not rest:
        raise InputError("Say when, like tomorrow at 2am, in 3 hours, or next window.")
    return serials, op_type, " ".join(rest), params
