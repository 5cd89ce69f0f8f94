"""How soon the bot must answer the HTTP request Slack sends it (a command, a click, a submission)."""

from __future__ import annotations

# Slack's deadline: an answer later than 3 s shows the person a timeout error (and an event is sent again). The
# tests that time an ack hold it to this, the contract; the work that takes longer continues after the ack.
ACK_BUDGET = 3.0
