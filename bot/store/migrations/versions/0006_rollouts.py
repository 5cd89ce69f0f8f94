"""Staged rollouts: the ``rollouts`` table, and each wave as a schedule request (``rollout_id`` + ``wave``).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rollouts",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("requester_id", sa.String(64), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("origin_channel_id", sa.String(64), nullable=True),
        sa.Column("operation_type", sa.String(64), nullable=False),
        sa.Column("parameters", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("requester_tz", sa.String(64), nullable=False),
        sa.Column("options", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("scheduled_time", _WHEN, nullable=False),
        sa.Column("item_times", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("when_text", sa.Text(), nullable=False),
        sa.Column("approval_required", sa.Boolean(), nullable=False),
        sa.Column("window_note", sa.Text(), nullable=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("current_wave", sa.Integer(), nullable=False),
        sa.Column("wave_started_at", _WHEN, nullable=True),
        sa.Column("soak_until", _WHEN, nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", _WHEN, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("approval_channel_id", sa.String(64), nullable=True),
        sa.Column("approval_ts", sa.String(32), nullable=True),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("told", sa.JSON(), nullable=False),
        sa.Column("failed_polls", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rollouts"),
    )
    op.create_index("ix_rollouts_state", "rollouts", ["state"])
    op.create_index("ix_rollouts_created_at", "rollouts", ["created_at"])
    # Plain ADD COLUMN and CREATE UNIQUE INDEX: on SQLite a constraint would rebuild schedule_requests, and the
    # rebuild's DROP TABLE would cascade to every schedule item.
    with op.batch_alter_table("schedule_requests") as batch:
        batch.add_column(sa.Column("rollout_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("wave", sa.Integer(), nullable=True))
    op.create_index("uq_schedule_requests_rollout_id_wave", "schedule_requests", ["rollout_id", "wave"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_schedule_requests_rollout_id_wave", table_name="schedule_requests")
    for column in ("wave", "rollout_id"):
        if op.get_bind().dialect.name == "sqlite":  # SQLite ≥ 3.35 drops a column in place (no rebuild, no cascade)
            op.execute(f"ALTER TABLE schedule_requests DROP COLUMN {column}")
        else:
            op.drop_column("schedule_requests", column)
    op.drop_index("ix_rollouts_created_at", table_name="rollouts")
    op.drop_index("ix_rollouts_state", table_name="rollouts")
    op.drop_table("rollouts")
