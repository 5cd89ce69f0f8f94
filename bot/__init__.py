"""headless-bot: a Slack chat-ops bot for headless operations through the Zequenze Control API."""

__version__ = "0.1.0"
