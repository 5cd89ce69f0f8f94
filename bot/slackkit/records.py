"""What the Slack Web API stand-in records and answers: calls, ``response_url`` posts, Block Kit violations, and
the Slack errors its methods raise."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

JSON_FIELDS = frozenset(
    {"blocks", "attachments", "view", "metadata", "unfurls", "user_auth_blocks", "options", "option_groups"}
)
MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update", "chat.scheduleMessage"})
VIEW_METHODS = frozenset({"views.open", "views.push", "views.update", "views.publish"})
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
RESPONSE_URL = "response_url"  # pseudo-method name: faults and violations on the response_url sink
TRUE_VALUES = {"1", "true", "True", True}


@dataclass
class RecordedCall:
    """One Web API call as the stub received and answered it."""

    method: str  # "chat.postMessage"
    body: dict[str, Any]  # query + body fields; JSON-in-form fields (blocks, view, ...) decoded to objects
    raw_body: dict[str, Any]  # the same fields exactly as received (form values are strings)
    raw_bytes: bytes
    content_type: str  # "json" | "form" | "none" | the header value if something else
    http_method: str  # "GET" | "POST"
    headers: dict[str, str]  # plain dict, lower-case names
    token: str | None  # from Authorization: Bearer, else the `token` field
    at: float  # time.time() on arrival
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    fault: str | None = None  # which injected fault answered, if any

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default)


@dataclass
class RecordedResponse:
    """One POST to a ``response_url`` issued by the bench."""

    key: str
    body: dict[str, Any]
    raw_bytes: bytes
    headers: dict[str, str]
    at: float
    status: int = 200
    peer: tuple[str, int] | None = None  # the sender's address: one port for many answers = a kept-alive connection

    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default)


@dataclass(frozen=True)
class BlockKitViolation:
    source: str  # Web API method or "response_url:<key>"
    surface: str
    problem: str

    def __str__(self) -> str:
        return f"{self.source} ({self.surface}): {self.problem}"


class SlackApiFailure(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.payload = {"ok": False, "error": error, **extra}


def paginate(items: list[Any], body: dict[str, Any]) -> tuple[list[Any], str]:
    try:
        limit = int(body.get("limit") or 100)
        start = int(base64.b64decode(body["cursor"]).decode().split(":", 1)[1]) if body.get("cursor") else 0
    except (ValueError, IndexError) as exc:
        raise SlackApiFailure("invalid_cursor") from exc
    limit = max(1, min(limit, 1000))
    page = items[start : start + limit]
    end = start + limit
    cursor = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
    return page, cursor


def decode_json_fields(fields: dict[str, Any]) -> dict[str, Any]:
    decoded = dict(fields)
    for key in JSON_FIELDS & decoded.keys():
        value = decoded[key]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                decoded[key] = json.loads(value)
            except ValueError:
                pass
    return decoded
