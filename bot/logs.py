"""Logging set-up with a filter that masks secrets, whatever a library chooses to log.

The configured tokens are masked by value, and anything shaped like a Slack token or a Bearer header by pattern,
so a token never reaches a log line even through an exception message or a third-party debug line.
"""

from __future__ import annotations

import logging
import re
import sys

from bot.settings import Settings

MASK = "[redacted]"
_PATTERNS = re.compile(
    r"xox[abprs]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|(?i:bearer)\s+[A-Za-z0-9._~+/=-]+",
)


class RedactSecrets(logging.Filter):
    """Rewrites each record's message with the secrets masked."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _PATTERNS.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message = f"{message}\n{logging.Formatter().formatException(record.exc_info)}"
            record.exc_info = None
            record.exc_text = None
        record.msg = self.redact(message)
        record.args = None
        return True


def secrets_of(settings: Settings) -> list[str]:
    values = [
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        settings.control_api_token,
    ]
    secrets = [v.get_secret_value() for v in values if v is not None]
    from sqlalchemy.engine import make_url

    try:
        password = make_url(settings.database_url).password
    except Exception:  # an unparseable URL fails later, at connect, with its own message
        password = None
    if password:
        secrets.append(str(password))
    return secrets


def setup_logging(settings: Settings, *, stream: object = None) -> RedactSecrets:
    """Configure the root logger once: level from LOG_LEVEL, one line per record, secrets masked."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    redact = RedactSecrets(secrets_of(settings))
    handler.addFilter(redact)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    return redact
