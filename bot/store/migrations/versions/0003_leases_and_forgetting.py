"""Cross-replica leases on schedule requests; the notifier forgets operations that left the list.

``schedule_requests.lease_owner`` / ``lease_until``: which bot process is acting on a request (posting its
approval, creating its operations) and until when, claimed by a compare-and-set UPDATE so two replicas never act
on one request at once. ``operation_states.missing_since``: when a complete poll first did not list the operation,
so that its state can be forgotten after a while instead of being kept forever. ``ix_audit_log_request_id_id``:
the latest audit line of a request (so a retry that fails the same way again is not logged again).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schedule_requests") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(64), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("operation_states") as batch:
        batch.add_column(sa.Column("missing_since", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_audit_log_request_id_id", "audit_log", ["request_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_request_id_id", table_name="audit_log")
    with op.batch_alter_table("operation_states") as batch:
        batch.drop_column("missing_since")
    with op.batch_alter_table("schedule_requests") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
