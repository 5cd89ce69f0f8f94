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
    "serial_key",
    "users_and_groups",
]
