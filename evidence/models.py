"""Tables for claims, data points, citations and per-capture quote checks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from archiver.models import Base, utcnow


class Claim(Base):
    """A statement in a report, with a researcher-chosen stable id (e.g. "hikvision-xinjiang-ijop")."""

    __tablename__ = "claims"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DataPoint(Base):
    """A structured fact on a map: which company, where, what kind of presence, when."""

    __tablename__ = "datapoints"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    entity: Mapped[str] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    place: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    date: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    claim_id: Mapped[str | None] = mapped_column(ForeignKey("claims.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Citation(Base):
    """A claim or data point cites a source, usually with the passage quoted from it."""

    __tablename__ = "citations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str | None] = mapped_column(ForeignKey("claims.id"))
    datapoint_id: Mapped[str | None] = mapped_column(ForeignKey("datapoints.id"))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    quote: Mapped[str | None] = mapped_column(Text)
    accessed: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_citations_claim_id", "claim_id"),
        Index("ix_citations_datapoint_id", "datapoint_id"),
        Index("ix_citations_source_id", "source_id"),
    )


class QuoteCheck(Base):
    """Whether a citation's quote was found in one capture: the history shows when a quote vanished."""

    __tablename__ = "quote_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citation_id: Mapped[int] = mapped_column(ForeignKey("citations.id"))
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"))
    status: Mapped[str] = mapped_column(String(40))
    score: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[str | None] = mapped_column(Text)
    closest: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_quote_checks_citation_capture", "citation_id", "capture_id"),
        Index("ix_quote_checks_capture_id", "capture_id"),
    )
