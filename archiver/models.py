"""The archive's tables: tracked sources, their captures, stored bodies, runs and the Wayback queue.

Changing these models means adding an Alembic migration in migrations/versions: the
migrations, not `create_all`, build every database.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware: every timestamp in the store is UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict: JSON, list: JSON}


SOURCE_STATES = ("pending", "new", "unchanged", "altered", "moved", "deleted", "unreachable")


class Source(Base):
    """A URL a researcher cites and wants kept."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    lang: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(Text)
    publisher: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    state_since: Mapped[datetime | None]
    state_reason: Mapped[str | None] = mapped_column(Text)
    final_url: Mapped[str | None] = mapped_column(String(2048))
    last_checked_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_capture_id: Mapped[int | None] = mapped_column(Integer)
    last_good_capture_id: Mapped[int | None] = mapped_column(Integer)
    unreachable_since: Mapped[datetime | None]
    interval_hours: Mapped[float | None] = mapped_column(Float)
    next_due_at: Mapped[datetime] = mapped_column(default=utcnow)
    capture_count: Mapped[int] = mapped_column(Integer, default=0)
    # Never submitted to, nor looked up at, the Wayback Machine (`archiver add URL --no-wayback`).
    no_wayback: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None]

    captures: Mapped[list["Capture"]] = relationship(
        back_populates="source", order_by="Capture.id", lazy="raise_on_sql"
    )

    __table_args__ = (
        Index("ix_sources_state", "state"),
        Index("ix_sources_next_due_at", "next_due_at"),
    )


class Blob(Base):
    """Bytes stored once per distinct SHA-256 and compressed: raw bodies and extracted texts."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    codec: Mapped[str] = mapped_column(String(16), default="zstd")
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Capture(Base):
    """One attempt to capture a source: what was asked, what came back, and what we concluded.

    Rows are only ever added. `origin` says where the bytes came from: a live fetch, a
    recovery from the Wayback Machine, or an imported WARC file.
    """

    __tablename__ = "captures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    origin: Mapped[str] = mapped_column(String(16), default="live")
    requested_url: Mapped[str] = mapped_column(String(2048))
    final_url: Mapped[str | None] = mapped_column(String(2048))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    status_code: Mapped[int | None] = mapped_column(Integer)
    redirects: Mapped[list | None] = mapped_column(JSON)
    request_headers: Mapped[dict | None] = mapped_column(JSON)
    response_headers: Mapped[list | None] = mapped_column(JSON)
    server_ip: Mapped[str | None] = mapped_column(String(64))
    http_version: Mapped[str | None] = mapped_column(String(16))
    content_type: Mapped[str | None] = mapped_column(String(255))
    charset: Mapped[str | None] = mapped_column(String(32))
    body_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"))
    body_size: Mapped[int | None] = mapped_column(BigInteger)
    text_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"))
    text_length: Mapped[int | None] = mapped_column(Integer)
    page_title: Mapped[str | None] = mapped_column(Text)
    published: Mapped[str | None] = mapped_column(String(64))
    not_modified: Mapped[bool] = mapped_column(Boolean, default=False)
    error_kind: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    verdict: Mapped[str | None] = mapped_column(String(16))
    verdict_reason: Mapped[str | None] = mapped_column(Text)
    similarity: Mapped[float | None] = mapped_column(Float)
    compared_to_id: Mapped[int | None] = mapped_column(Integer)
    wayback_url: Mapped[str | None] = mapped_column(String(2048))
    wayback_timestamp: Mapped[str | None] = mapped_column(String(14))
    tool: Mapped[str | None] = mapped_column(String(64))
    tool_version: Mapped[str | None] = mapped_column(String(32))
    config: Mapped[dict | None] = mapped_column(JSON)
    elapsed_ms: Mapped[int | None] = mapped_column(Integer)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    record_hash: Mapped[str | None] = mapped_column(String(64))

    source: Mapped[Source] = relationship(back_populates="captures", lazy="raise_on_sql")

    __table_args__ = (
        Index("ix_captures_source_id_id", "source_id", "id"),
        Index("ix_captures_run_id", "run_id"),
        Index("ix_captures_body_sha256", "body_sha256"),
        Index("ix_captures_started_at", "started_at"),
    )


class Run(Base):
    """One capture pass: when it ran, on which machine, and what it found."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(128))
    trigger: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="running")
    counts: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class WaybackJob(Base):
    """A pending, done or failed submission of a URL to the Wayback Machine's Save Page Now."""

    __tablename__ = "wayback_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"))
    url: Mapped[str] = mapped_column(String(2048))
    reason: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    spn_job_id: Mapped[str | None] = mapped_column(String(128))
    wayback_url: Mapped[str | None] = mapped_column(String(2048))
    wayback_timestamp: Mapped[str | None] = mapped_column(String(14))
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_wayback_jobs_status_next", "status", "next_attempt_at"),
        Index("ix_wayback_jobs_source_status", "source_id", "status"),
    )


class ChainHead(Base):
    """The head of the capture hash chain, one row; optionally timestamped by a trusted authority."""

    __tablename__ = "chain_heads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    capture_id: Mapped[int | None] = mapped_column(Integer)
    record_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    tsa_url: Mapped[str | None] = mapped_column(String(2048))
    tsa_token: Mapped[bytes | None] = mapped_column(LargeBinary)
