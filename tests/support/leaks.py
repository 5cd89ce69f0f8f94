"""What must never reach a person: words of an exception or of the HTTP client the bot uses, in anything it sent.

Used by the fault tests (the Control API or Slack failing) and the database-outage test: whatever fails, the
person reads plain words, never ``Traceback`` or ``ReadTimeout``.
"""

from __future__ import annotations

import json

from tests.support.harness import Harness

LEAKS = ("Traceback", "Exception", "Error:", "httpx", "ReadTimeout", "ConnectError", "RemoteProtocolError")


def no_leak(text: str) -> None:
    for word in LEAKS:
        assert word not in text, f"{word!r} reached the person: {text}"


def everything_sent(h: Harness) -> str:
    """Every message body the bot sent to Slack (Web API calls and response_url posts), as one string."""
    parts = [json.dumps(c.body, ensure_ascii=False) for c in h.bench.calls]
    parts += [json.dumps(r.body, ensure_ascii=False) for r in h.bench.responses]
    return "\n".join(parts)
