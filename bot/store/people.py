"""People's own settings (today: the language they chose with ``/headless language``)."""

from __future__ import annotations

from sqlalchemy import select

from bot.store.database import Database
from bot.store.tables import PersonRow


class PeopleRepo(Database):
    """Per-person choices (one repository of ``bot.store.Store``)."""

    async def language_choice(self, user_id: str) -> str | None:
        """The language ``user_id`` chose (``None``: automatic, from their Slack locale)."""
        async with self._transaction(write=False) as session:
            return await session.scalar(select(PersonRow.language).where(PersonRow.user_id == user_id))

    async def set_language_choice(self, user_id: str, language: str | None) -> None:
        """Remember ``language`` for ``user_id`` (``None``: back to automatic). One upsert."""
        table = PersonRow.__table__
        now = self._clock()
        statement = (
            self._insert(table)
            .values(user_id=user_id, language=language, updated_at=now)
            .on_conflict_do_update(index_elements=["user_id"], set_={"language": language, "updated_at": now})
        )
        async with self._transaction(write=True) as session:
            await session.execute(statement)
