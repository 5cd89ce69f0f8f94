"""Device-local time: each item of a schedule request may have its own scheduled time.

``schedule_items.scheduled_time``: the instant of that device's operation when the request gave devices different
times (``02:00 device-local``: one instant per device zone); NULL means the request's ``scheduled_time`` (every
item of a request made before this revision, and of any request whose devices share one time).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schedule_items") as batch:
        batch.add_column(sa.Column("scheduled_time", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedule_items") as batch:
        batch.drop_column("scheduled_time")
