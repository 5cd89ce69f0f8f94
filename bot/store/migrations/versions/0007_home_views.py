"""The App Home: who opened it and the hash of the view last published to them (``home_views``); indexes on the
notifier's known states for the home's "next 24 hours" and "failures in the last 24 hours".

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "home_views",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("opened_at", _WHEN, nullable=False),
        sa.Column("view_hash", sa.String(128), nullable=True),
        sa.Column("published_at", _WHEN, nullable=True),
        sa.PrimaryKeyConstraint("user_id", name="pk_home_views"),
    )
    op.create_index("ix_home_views_opened_at", "home_views", ["opened_at"])
    op.create_index("ix_operation_states_scheduled_time", "operation_states", ["scheduled_time"])
    op.create_index("ix_operation_states_updated_at", "operation_states", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_operation_states_updated_at", table_name="operation_states")
    op.drop_index("ix_operation_states_scheduled_time", table_name="operation_states")
    op.drop_index("ix_home_views_opened_at", table_name="home_views")
    op.drop_table("home_views")
