"""Block Kit for every message and view the bot shows: pure functions, domain objects in, dicts out, no I/O.

``common`` (escaping, sections, buttons, dates) · ``operations`` (list, status, help, audit) · ``scheduling``
(the form, confirmation, approval request, outcome) · ``notifications`` (status changes, digests, outages).
"""
