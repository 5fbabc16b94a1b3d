"""The archive's tables: tracked sources, their captures, stored bodies, runs and the Wayback queue.

Changing these models means adding an Alembic migration in migrations/versions: the
migrations, not `create_all`, build every database.
"""

from __future__ import annotations

from datetime import UTC, datetime

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
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from archiver.history import CHANGED_CAPTURE, FAILED_CAPTURE


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware: every timestamp in the store is UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict: JSON, list: JSON}


SOURCE_STATES = ("pending", "new", "unchanged", "altered", "moved", "deleted", "unreachable", "blocked")


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
    # The vantage point that captures it, and the one that checks it again when the first does
    # not get the page (archiver.vantages); NULL: its site's [sites] rule, else `default`.
    vantage: Mapped[str | None] = mapped_column(String(32))
    recheck_vantage: Mapped[str | None] = mapped_column(String(32))
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None]
    # Set when the researcher stops tracking the source: it is no longer captured, and every
    # capture it has is kept (archiver untrack / retrack / move-url).
    untracked_at: Mapped[datetime | None]
    untracked_reason: Mapped[str | None] = mapped_column(Text)
    # "never", "auto" or "always": whether to capture with a browser; None follows [fetch] render.
    render: Mapped[str | None] = mapped_column(String(8))

    captures: Mapped[list[Capture]] = relationship(
        back_populates="source", order_by="Capture.id", lazy="raise_on_sql"
    )

    __table_args__ = (
        Index("ix_sources_state", "state"),
        Index("ix_sources_next_due_at", "next_due_at"),
        Index("ix_sources_lang", "lang"),
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
    # How the capture was collected, hop by hop (archiver.provenance), sealed from format 3 on.
    provenance: Mapped[dict | None] = mapped_column(JSON)
    # A rendered capture: the page's DOM once a browser ran its scripts (its text is the capture's text).
    rendered_sha256: Mapped[str | None] = mapped_column(String(64))
    # A full-page PNG screenshot of the page as the browser showed it.
    screenshot_sha256: Mapped[str | None] = mapped_column(String(64))
    # The record format the seal was made under (archiver.chain): None for captures sealed
    # before format 2, which covered fewer fields.
    seal_version: Mapped[int | None] = mapped_column(SmallInteger)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    record_hash: Mapped[str | None] = mapped_column(String(64))

    source: Mapped[Source] = relationship(back_populates="captures", lazy="raise_on_sql")

    __table_args__ = (
        Index("ix_captures_source_id_id", "source_id", "id"),
        Index("ix_captures_run_id", "run_id"),
        Index("ix_captures_body_sha256", "body_sha256"),
        Index("ix_captures_text_sha256", "text_sha256"),
        Index("ix_captures_started_at", "started_at"),
        # Partial indexes (migration 0009): a run's failed captures (archiver.history.recent_runs)
        # and the captures that found a change (archiver.history.recent_changes).
        Index("ix_captures_failed_run", "run_id", sqlite_where=text(FAILED_CAPTURE),
              postgresql_where=text(FAILED_CAPTURE)),
        Index("ix_captures_changed_started", "started_at", sqlite_where=text(CHANGED_CAPTURE),
              postgresql_where=text(CHANGED_CAPTURE)),
    )


class RenderSite(Base):
    """A site whose pages only show their text once a browser runs their scripts, learnt from one of
    its pages in "auto" mode: its next pages are rendered straight away."""

    __tablename__ = "render_sites"

    site: Mapped[str] = mapped_column(String(255), primary_key=True)
    since: Mapped[datetime] = mapped_column(default=utcnow)
    source_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)


class SourceText(Base):
    """One distinct extracted text of one source, for search (archiver.textindex): the first and
    the last capture that held it, and how many did. A page unchanged for 300 nights is one row.

    Derived from the captures (`archiver search --reindex-all` rebuilds it); the text's terms
    are in the full-text index under the same SHA-256 (search_texts, migration 0012).
    """

    __tablename__ = "source_texts"

    source_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_capture_id: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime]
    last_capture_id: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime]
    captures: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_source_texts_text_sha256", "text_sha256"),
        Index("ix_source_texts_last_at", "last_at", "last_capture_id"),
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


class ChainEvent(Base):
    """A fact learned after a capture was sealed (a Wayback copy of it, its removal on purpose),
    sealed into the same hash chain as the captures, after the capture `after_capture_id`.

    Rows are only ever added. `kind` says what happened, `payload` holds the details as JSON;
    `source_id` and `capture_id` name what the event concerns (no foreign keys: an event stays
    when what it concerns is purged). See archiver.chain.append_event and docs/integrity.md.
    """

    __tablename__ = "chain_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[int | None] = mapped_column(Integer)
    capture_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    after_capture_id: Mapped[int | None] = mapped_column(Integer)
    seal_version: Mapped[int] = mapped_column(SmallInteger, default=1)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    record_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_chain_events_capture_kind", "capture_id", "kind"),
        Index("ix_chain_events_kind", "kind"),
    )


class ChainAnchor(Base):
    """A copy of one line written to an anchor log (archiver.anchors): which head was written,
    where, by which machine and command. `verify` checks the log against these rows and the
    chain against both."""

    __tablename__ = "chain_anchors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    written_at: Mapped[datetime] = mapped_column(default=utcnow)
    host: Mapped[str | None] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(4096))
    seq: Mapped[int] = mapped_column(Integer)
    line_sha256: Mapped[str] = mapped_column(String(64))
    command: Mapped[str | None] = mapped_column(String(64))
    capture_id: Mapped[int | None] = mapped_column(Integer)
    event_id: Mapped[int | None] = mapped_column(Integer)
    record_hash: Mapped[str] = mapped_column(String(64))


class ChainHead(Base):
    """The head of the hash chain (row 1), and the heads timestamped by a trusted authority (later rows).

    `record_hash` is the hash of the last element of the chain: event `event_id` when that is
    set, else capture `capture_id`; `capture_id` is always the last capture in the chain.
    """

    __tablename__ = "chain_heads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    capture_id: Mapped[int | None] = mapped_column(Integer)
    event_id: Mapped[int | None] = mapped_column(Integer)
    record_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    tsa_url: Mapped[str | None] = mapped_column(String(2048))
    tsa_token: Mapped[bytes | None] = mapped_column(LargeBinary)
