"""The bot's own vocabulary, below every other package: what an id looks like, what a request and its states are,
what changed about an operation. Plain values and pure functions: no I/O, no Slack, no database, no clock.

``ids``
    Every identifier rule, once: Slack user / user-group / channel ids, Control API operation ids, device serials
    (and how two spellings are one device), request ids, the words people type (status, locale, operation type)
    and the control characters stripped from what they type.
``statuses``
    What an operation's status means (terminal? a failure?), whatever the API's spelling.
``requests``
    Schedule requests and their items: states, records, the store's other records (watches, audit lines), and the
    outcome of a decision.
``changes``
    An operation's change between two polls (the notifier's diff) and the outbox records it becomes.
``people``
    What the bot knows of a person (zone, locale).

Everything above imports from here; this package imports nothing of the bot.
"""
