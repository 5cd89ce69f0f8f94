"""The tables, as typed SQLAlchemy 2 declarative models; private to the store (records leave it, rows never).

Any change here needs a new Alembic revision in ``migrations/versions`` (``tests/store/test_store.py`` compares the
migrated schema with these models on SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC ``datetime`` in and out, on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is stored as naive UTC and the
    zone is put back on the way out. A naive datetime going in is a bug (whose clock is it?), so it is
    refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the store; use an aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "postgresql":
            return value
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads this class attribute)
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(none_as_null=True),
    }


class ScheduleRequestRow(Base):
    __tablename__ = "schedule_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    requester_id: Mapped[str] = mapped_column(String(64))
    team_id: Mapped[str] = mapped_column(String(64))
    origin_channel_id: Mapped[str | None] = mapped_column(String(64))
    operation_type: Mapped[str] = mapped_column(String(64))
    scheduled_time: Mapped[datetime]
    parameters: Mapped[dict[str, Any]]
    notify_channel_id: Mapped[str | None] = mapped_column(String(64))
    requester_tz: Mapped[str] = mapped_column(String(64))
    approval_required: Mapped[bool]
    window_note: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    approval_channel_id: Mapped[str | None] = mapped_column(String(64))
    approval_ts: Mapped[str | None] = mapped_column(String(32))
    confirm_response_url: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    # Migration 0003: which bot process acts on the request (approval post, creation) and until when.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    # Migration 0006: a wave of a rollout is a request of its own (one per rollout and wave: created once).
    rollout_id: Mapped[str | None] = mapped_column(String(32))
    wave: Mapped[int | None] = mapped_column(Integer)

    items: Mapped[list[ScheduleItemRow]] = relationship(
        back_populates="request", order_by="ScheduleItemRow.position", lazy="raise"
    )

    __table_args__ = (
        Index("ix_schedule_requests_state_scheduled_time", "state", "scheduled_time"),
        Index("ix_schedule_requests_created_at", "created_at"),
        Index("uq_schedule_requests_rollout_id_wave", "rollout_id", "wave", unique=True),  # migration 0006
    )


class ScheduleItemRow(Base):
    __tablename__ = "schedule_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(32), ForeignKey("schedule_requests.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    device_serial: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(32))
    operation_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    error: Mapped[str | None] = mapped_column(Text)
    attempted_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    thread_channel_id: Mapped[str | None] = mapped_column(String(64))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    # Migration 0005: this device's own scheduled time; NULL = the request's.
    scheduled_time: Mapped[datetime | None]

    request: Mapped[ScheduleRequestRow] = relationship(back_populates="items", lazy="raise")

    __table_args__ = (
        UniqueConstraint("request_id", "device_serial"),
        Index("ix_schedule_items_device_serial", "device_serial"),
        Index("ix_schedule_items_state", "state"),
    )


class RolloutRow(Base):
    """Migration 0006: a staged rollout (its waves are ``schedule_requests`` rows with its ``rollout_id``)."""

    __tablename__ = "rollouts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    requester_id: Mapped[str] = mapped_column(String(64))
    team_id: Mapped[str] = mapped_column(String(64))
    origin_channel_id: Mapped[str | None] = mapped_column(String(64))
    operation_type: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]]
    requester_tz: Mapped[str] = mapped_column(String(64))
    options: Mapped[dict[str, Any]]
    plan: Mapped[Any] = mapped_column(JSON)  # list of waves, each a list of serials
    scheduled_time: Mapped[datetime]
    item_times: Mapped[dict[str, Any] | None]  # serial → ISO instant (device-local wave 1)
    when_text: Mapped[str] = mapped_column(Text)
    approval_required: Mapped[bool]
    window_note: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(32))
    current_wave: Mapped[int] = mapped_column(Integer)
    wave_started_at: Mapped[datetime | None]
    soak_until: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    approval_channel_id: Mapped[str | None] = mapped_column(String(64))
    approval_ts: Mapped[str | None] = mapped_column(String(32))
    stop_reason: Mapped[str | None] = mapped_column(Text)
    told: Mapped[Any] = mapped_column(JSON)  # thread replies already posted (keys)
    failed_polls: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_rollouts_state", "state"), Index("ix_rollouts_created_at", "created_at"))


class WatchRow(Base):
    __tablename__ = "watches"

    operation_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None]

    __table_args__ = (
        Index("ix_audit_log_subject", "subject"),
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_request_id_id", "request_id", "id"),  # migration 0003
        Index("ix_audit_log_request_id", "request_id"),
    )


# ---------------------------------------------------------------------------------------------------------------
# Notifier (migration 0002): the last known state of every operation, the outbox of notifications, a few flags.


class OperationStateRow(Base):
    """What the notifier last recorded about one operation; the next poll is diffed against it."""

    __tablename__ = "operation_states"
    __table_args__ = (
        # Migration 0004: the few rows the notifier looks for among a fleet's (100,000s of) states, without a scan.
        Index(
            "ix_operation_states_unpolled",
            "operation_id",
            postgresql_where=text("version = 0"),
            sqlite_where=text("version = 0"),
        ),
        Index(
            "ix_operation_states_missing",
            "operation_id",
            postgresql_where=text("missing_since IS NOT NULL"),
            sqlite_where=text("missing_since IS NOT NULL"),
        ),
        # Migration 0007: the App Home's "next 24 hours" and "failures in the last 24 hours", without a scan.
        Index("ix_operation_states_scheduled_time", "scheduled_time"),
        Index("ix_operation_states_updated_at", "updated_at"),
    )

    operation_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    device_serial: Mapped[str] = mapped_column(String(128))
    operation_type: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(128))
    scheduled_time: Mapped[datetime]
    device_online: Mapped[bool | None]
    last_seen: Mapped[datetime | None]
    offline_reported: Mapped[bool]  # "device offline at its scheduled time" was reported (once per operation)
    version: Mapped[int] = mapped_column(Integer)  # +1 per recorded change; part of the outbox dedupe keys
    updated_at: Mapped[datetime]
    missing_since: Mapped[datetime | None]  # migration 0003: a complete poll first did not list it


class NotificationRow(Base):
    """The outbox: one row per message to post (or digest line), written with the state change that caused it."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    operation_id: Mapped[str | None] = mapped_column(String(128))
    channel_id: Mapped[str] = mapped_column(String(64))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))  # pending | sent | skipped
    attempts: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_notifications_state_id", "state", "id"),
        Index("ix_notifications_created_at", "created_at"),
    )


class NotifierMetaRow(Base):
    """Small persistent flags of the notifier: ``baseline_done``, ``outage_since``, ``outage_alerted``."""

    __tablename__ = "notifier_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)


class HomeViewRow(Base):
    """Migration 0007: who opened the bot's App Home (and when), and the ``hash`` of the view last published to them.

    The publisher re-publishes only for people who opened it in the last 24 hours, with the stored hash, so an older
    render never overwrites a newer one (Slack answers ``hash_conflict``), whichever replica renders."""

    __tablename__ = "home_views"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    opened_at: Mapped[datetime]
    view_hash: Mapped[str | None] = mapped_column(String(128))
    published_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_home_views_opened_at", "opened_at"),)


class PersonRow(Base):
    """A person's own choices: the language they read (``/headless language``; NULL = from their Slack locale)."""

    __tablename__ = "people"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime]
