"""Slack-agnostic use cases: list, status, refresh, schedule, approve, watch, notify."""
