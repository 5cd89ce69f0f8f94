"""What the bot knows of a person: whose zone "tomorrow at 2am" is read in, which locale orders their dates."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Person(BaseModel):
    """What the bot knows of a Slack user."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    tz: str
    locale: str | None = None
    name: str | None = None
    tz_from_profile: bool = True


__all__ = ["Person"]
