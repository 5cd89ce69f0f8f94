"""The notifier: last known operation states, the notification outbox, the notifier's flags.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "operation_states",
        sa.Column("operation_id", sa.String(128), nullable=False),
        sa.Column("device_serial", sa.String(128), nullable=False),
        sa.Column("operation_type", sa.String(128), nullable=False),
        sa.Column("status", sa.String(128), nullable=False),
        _ts("scheduled_time"),
        sa.Column("device_online", sa.Boolean(), nullable=True),
        _ts("last_seen", nullable=True),
        sa.Column("offline_reported", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("operation_id", name="pk_operation_states"),
    )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dedupe_key", sa.String(255), nullable=False),
        sa.Column("operation_id", sa.String(128), nullable=True),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("thread_ts", sa.String(32), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(255), nullable=True),
        _ts("created_at"),
        _ts("sent_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint("dedupe_key", name="uq_notifications_dedupe_key"),
    )
    op.create_index("ix_notifications_state_id", "notifications", ["state", "id"])
    op.create_index("ix_notifications_created_at", "notifications", ["created_at"])

    op.create_table(
        "notifier_meta",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.JSON(none_as_null=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_notifier_meta"),
    )


def downgrade() -> None:
    op.drop_table("notifier_meta")
    op.drop_index("ix_notifications_created_at", table_name="notifications")
    op.drop_index("ix_notifications_state_id", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("operation_states")
