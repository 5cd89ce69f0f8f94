"""Every identifier rule of the bot, once: what a Slack id, an operation id, a device serial or a typed word may look
like. Settings, the command parser, the listeners, the forms and the services all check against these patterns.

Each pattern matches a whole string: use ``PATTERN.match(text)``. They end in ``\\Z``, not ``$``: ``$`` also matches
before a final newline, so ``"C0123ABCD\\n"`` would pass for a channel id.

Slack ids are upper-case letters and digits after their kind's letter; Slack documents no length, so the bound
(64 in all) only keeps a crafted payload from carrying a novel through the bot.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: A Slack user: ``U…``, or ``W…`` for an Enterprise Grid user.
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,63}\Z")
#: A Slack user group (``S…``), as APPROVERS and ONCALL_GROUP name them.
GROUP_ID = re.compile(r"^S[A-Z0-9]{2,63}\Z")
#: A Slack conversation: public (``C…``) or private (``G…``) channel, or a direct message (``D…``); also what a
#: ``conversations_select`` can hold.
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,63}\Z")
#: A Control API operation id (``txn_12345``).
TXN_ID = re.compile(r"^txn_[A-Za-z0-9_-]{1,64}\Z")
#: A device serial as people may type it: letters, digits, ``.``, ``_``, ``:`` or ``-``, 3 to 64 characters.
SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{2,63}\Z")
#: A schedule request id as a button carries it (the store makes uuid4 hex ids).
REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
#: A status word in a filter (``/headless list status=failed``).
STATUS_WORD = re.compile(r"^[A-Za-z_]{1,40}\Z")
#: A locale as Slack's ``users.info`` gives it (``en-US``, ``es_419``).
LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}\Z")
#: An operation type name in OPERATION_TYPES: snake_case.
OPERATION_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}\Z")

#: Control characters in typed text, to be replaced by a space before anything reads it. Tab and newline are kept:
#: parameters are written one per line, and whitespace separates words anyway.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


#: In running text (a message a shortcut is run on): an operation id, and a word that may be a device serial.
_TXN_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_-])txn_[A-Za-z0-9_-]{1,64}(?![A-Za-z0-9_-])")
_WORD_IN_TEXT = re.compile(r"(?<![A-Za-z0-9._:<@#|/-])[A-Za-z0-9][A-Za-z0-9._:-]{2,63}(?![A-Za-z0-9._:>-])")
_TIME_LIKE = re.compile(r"^\d{1,2}(?::\d{2}){0,2}(?:am|pm|h|z)?\Z|^\d+(?:st|nd|rd|th|s|m|h|d|min|ms)\Z", re.IGNORECASE)
_VERSION = re.compile(r"^v?\d+(?:\.\d+)+\Z", re.IGNORECASE)  # a version (``v1.10.2``), not a device
_BOT_ID = re.compile(r"^[0-9a-f]{32}\Z")  # a request's or a rollout's id (uuid4 hex), not a device


def find_operation_ids(text: str) -> list[str]:
    """The ``txn_…`` operation ids in ``text``, in order, each once."""
    return list(dict.fromkeys(match.group(0) for match in _TXN_IN_TEXT.finditer(text)))


def find_serials(text: str) -> list[str]:
    """Words of ``text`` that look like device serials, in order, each once (compared as ``serial_key``).

    A serial as ``SERIAL`` reads it, that also has a letter and at least three digits (``SN123456789``,
    ``GW-0042-X``), so words, times (``10:30``, ``2am``), numbers, ``txn_`` ids, Slack ids and the bot's own request
    ids are left out. Ids inside ``<…>`` (mentions, links) are never serials."""
    text = re.sub(r"<[^>\n]*>", " ", text)
    found: dict[str, str] = {}
    for match in _WORD_IN_TEXT.finditer(text):
        word = match.group(0).rstrip(".:-")
        if (
            SERIAL.match(word)
            and sum(c.isdigit() for c in word) >= 3
            and any(c.isalpha() for c in word)
            and not word.lower().startswith("txn_")
            and not _TIME_LIKE.match(word)
            and not _BOT_ID.match(word)
            and not _VERSION.match(word)
            and not USER_ID.match(word)
            and not CHANNEL_ID.match(word)
        ):
            found.setdefault(serial_key(word), word)
    return list(found.values())


def serial_key(serial: str) -> str:
    """The key two spellings of one device share: serials are compared without regard to case (the API spec writes
    them in upper case and gives case no meaning), so ``SN123456789`` and ``sn123456789`` are one device."""
    return serial.casefold()


def users_and_groups(entries: Iterable[str]) -> tuple[list[str], list[str]]:
    """Split a list like APPROVERS into Slack user ids (U…/W…) and user-group ids (S…); anything else is dropped."""
    listed = list(entries)
    return [e for e in listed if USER_ID.match(e)], [e for e in listed if GROUP_ID.match(e)]


__all__ = [
    "CHANNEL_ID",
    "CONTROL_CHARACTERS",
    "GROUP_ID",
    "LOCALE",
    "OPERATION_TYPE",
    "REQUEST_ID",
    "SERIAL",
    "STATUS_WORD",
    "TXN_ID",
    "USER_ID",
    "find_operation_ids",
    "find_serials",
    "serial_key",
    "users_and_groups",
]
