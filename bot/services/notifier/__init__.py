"""The notifier: a background task that polls the Control API and tells Slack what changed, once each.

One cycle (``Notifier.run_cycle``; one module per step: ``poll`` → ``route`` → ``outbox``, driven by ``loop``):

1. **Poll**: one ``list_operations()`` (the list endpoint and its pages; never one request per operation, never
   ``update_status=true``).
2. **Diff** against the states recorded after the previous poll (one bulk select), see
   ``bot.domain.changes``.
3. **Route** each change (bulk look-ups for the changed operations only): an operation the bot created → a reply
   in the thread of its approval / confirmation message (plus, for a failure, a message in that channel, and
   messages in the channel its requester chose for status updates); channels watching it
   (``/headless watch``); ``NOTIFY_CHANNEL`` as ``NOTIFY_SCOPE`` says (``all``, ``bot-created``, ``failures``).
   Failures mention ``ONCALL_GROUP`` in channel messages and carry a Refresh button.
4. **Record**, in ONE transaction: the changed states *and* one outbox row per (change, destination), insert-or-
   ignore on a dedupe key. A crash before the commit loses nothing (the next poll finds the same change); after
   it, the rows are delivered by the next cycle.
5. **Deliver** the pending outbox rows, marking each ``sent`` right after Slack accepted it, so a crash re-sends
   at most the one row whose post was not yet recorded. More than ``DIGEST_THRESHOLD`` changes for one
   destination in a cycle become one digest message. Slack's 429 is honoured (``Retry-After``); a channel the bot
   cannot post to is logged once and its rows are skipped; a 5xx / network error leaves the rows pending for the
   next cycle (given up after ``max_attempts``).

**Forget** (after a *complete* poll only: every page read, every listed record identified): recorded operations
the list no longer has get ``missing_since`` (one UPDATE for them, only the newly missing), those listed again have
it cleared, and rows missing for more than ``NOTIFIER_FORGET_AFTER_DAYS`` are deleted. A failed poll (API error,
page cap, pagination loop) or one with a record that has no usable id marks nothing. An operation listed again
after it was forgotten is a first sighting like any other; scheduled before the retention, it is history and
recorded silently (see ``bot.domain.changes``).

The first cycle on a database with no baseline records every operation silently. When the Control API cannot be
listed, the loop backs off exponentially (``min(interval * 2**n, 15 min)``) but probes the API every poll interval
with one small request (``ControlApiClient.health``), polling as soon as it answers: the list is spared during an
outage, and the recovery is noticed within one interval. ``NOTIFY_CHANNEL`` gets one "unreachable since …" alert
once the outage has lasted a poll interval, and one recovery message when the API answers again (both recorded in
``notifier_meta``, so a restart neither repeats nor forgets them).

Only one process polls: ``run_forever`` holds the store's ``NotifierLease`` (PostgreSQL: a session advisory lock
on a dedicated connection; SQLite: a single process) and checks it before each cycle.
"""

from bot.services.notifier.loop import Notifier
from bot.services.notifier.report import CycleReport

__all__ = ["CycleReport", "Notifier"]
