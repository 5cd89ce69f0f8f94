"""The notifier at fleet scale: two partial indexes on ``operation_states``.

``ix_operation_states_unpolled`` (``version = 0``): operations the bot created that no poll has listed yet (their
known state was seeded by the creation), which the notifier's in-memory fingerprints do not hold.
``ix_operation_states_missing`` (``missing_since IS NOT NULL``): operations a complete poll did not list. Both sets
are small, and each poll reads them: without these indexes every poll would scan every recorded state.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_operation_states_unpolled",
        "operation_states",
        ["operation_id"],
        postgresql_where=sa.text("version = 0"),
        sqlite_where=sa.text("version = 0"),
    )
    op.create_index(
        "ix_operation_states_missing",
        "operation_states",
        ["operation_id"],
        postgresql_where=sa.text("missing_since IS NOT NULL"),
        sqlite_where=sa.text("missing_since IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_operation_states_missing", table_name="operation_states")
    op.drop_index("ix_operation_states_unpolled", table_name="operation_states")
