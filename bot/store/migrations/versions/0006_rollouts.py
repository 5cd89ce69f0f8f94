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
    with op.batch_alter_table("schedule_requests") as batch:
        batch.add_column(sa.Column("rollout_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("wave", sa.Integer(), nullable=True))
        batch.create_unique_constraint("uq_schedule_requests_rollout_id_wave", ["rollout_id", "wave"])


def downgrade() -> None:
    with op.batch_alter_table("schedule_requests") as batch:
        batch.drop_constraint("uq_schedule_requests_rollout_id_wave", type_="unique")
        batch.drop_column("wave")
        batch.drop_column("rollout_id")
    op.drop_index("ix_rollouts_created_at", table_name="rollouts")
    op.drop_index("ix_rollouts_state", table_name="rollouts")
    op.drop_table("rollouts")
