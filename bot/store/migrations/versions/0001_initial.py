"""The initial schema: schedule requests and their items, watches, the audit log.

Revision ID: 0001
Revises: -
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "schedule_requests",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("requester_id", sa.String(64), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("origin_channel_id", sa.String(64), nullable=True),
        sa.Column("operation_type", sa.String(64), nullable=False),
        _ts("scheduled_time"),
        sa.Column("parameters", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("notify_channel_id", sa.String(64), nullable=True),
        sa.Column("requester_tz", sa.String(64), nullable=False),
        sa.Column("approval_required", sa.Boolean(), nullable=False),
        sa.Column("window_note", sa.Text(), nullable=True),
        sa.Column("state", sa.String(32), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("decided_by", sa.String(64), nullable=True),
        _ts("decided_at", nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("approval_channel_id", sa.String(64), nullable=True),
        sa.Column("approval_ts", sa.String(32), nullable=True),
        sa.Column("confirm_response_url", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_schedule_requests"),
    )
    op.create_index("ix_schedule_requests_state_scheduled_time", "schedule_requests", ["state", "scheduled_time"])
    op.create_index("ix_schedule_requests_created_at", "schedule_requests", ["created_at"])

    op.create_table(
        "schedule_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("device_serial", sa.String(128), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("operation_id", sa.String(128), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _ts("attempted_at", nullable=True),
        _ts("completed_at", nullable=True),
        sa.Column("thread_channel_id", sa.String(64), nullable=True),
        sa.Column("thread_ts", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_schedule_items"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["schedule_requests.id"],
            name="fk_schedule_items_request_id_schedule_requests",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("operation_id", name="uq_schedule_items_operation_id"),
        sa.UniqueConstraint("request_id", "device_serial", name="uq_schedule_items_request_id_device_serial"),
    )
    op.create_index("ix_schedule_items_device_serial", "schedule_items", ["device_serial"])
    op.create_index("ix_schedule_items_state", "schedule_items", ["state"])

    op.create_table(
        "watches",
        sa.Column("operation_id", sa.String(128), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("operation_id", "channel_id", name="pk_watches"),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _ts("at"),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=True),
        sa.Column("channel_id", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON(none_as_null=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_subject", "audit_log", ["subject"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_request_id", "audit_log", ["request_id"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("watches")
    op.drop_table("schedule_items")
    op.drop_table("schedule_requests")
