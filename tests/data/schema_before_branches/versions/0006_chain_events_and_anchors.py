"""seal every field a report shows: capture record format 2, chained events, anchors

- captures.seal_version: the record format a capture was sealed under (NULL: format 1, which
  did not cover the title, text length, similarity, compared-to, run, published date, Wayback
  URL and timing); new captures are sealed under format 2, which covers every column.
- chain_events: facts learned after a capture was sealed (a Wayback copy, a purge), sealed
  into the same chain; chain_heads.event_id names the head when it is an event.
- chain_anchors: copies of the lines written to the anchor log outside the database.

Existing stores: the Wayback copies written on capture rows before (unsealed) become sealed
"wayback" events, in capture order, and leave the rows; then one "upgrade" event records the
change of format and how many captures were sealed under format 1. Every existing seal stays
valid: format 1 records are verified as format 1.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:00:00
"""
from datetime import datetime, timezone
from types import SimpleNamespace

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('captures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal_version', sa.SmallInteger(), nullable=True))
    with op.batch_alter_table('chain_heads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_id', sa.Integer(), nullable=True))
    op.create_table('chain_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('capture_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('after_capture_id', sa.Integer(), nullable=True),
    sa.Column('seal_version', sa.SmallInteger(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=True),
    sa.Column('record_hash', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('chain_events', schema=None) as batch_op:
        batch_op.create_index('ix_chain_events_capture_kind', ['capture_id', 'kind'], unique=False)
        batch_op.create_index('ix_chain_events_kind', ['kind'], unique=False)
    op.create_table('chain_anchors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('path', sa.String(length=4096), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('line_sha256', sa.String(length=64), nullable=False),
    sa.Column('command', sa.String(length=64), nullable=True),
    sa.Column('capture_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('record_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    _seal_what_was_unsealed()


def _seal_what_was_unsealed() -> None:
    """Wayback copies recorded on capture rows become sealed events; an "upgrade" event follows."""
    from archiver.chain import event_hash, normalise_payload

    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    head = bind.execute(sa.text("SELECT capture_id, record_hash FROM chain_heads WHERE id = 1")).first()
    if head is None or head.capture_id is None:
        return
    captures = bind.execute(sa.text("SELECT count(*) FROM captures")).scalar() or 0
    copies = bind.execute(sa.text(
        "SELECT id, source_id, wayback_url, wayback_timestamp FROM captures"
        " WHERE wayback_url IS NOT NULL AND origin <> 'wayback' ORDER BY id")).all()
    now = datetime.now(timezone.utc)
    events = sa.table('chain_events', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                      sa.column('source_id', sa.Integer), sa.column('capture_id', sa.Integer),
                      sa.column('payload', sa.JSON), sa.column('created_at', sa.DateTime(timezone=True)),
                      sa.column('after_capture_id', sa.Integer), sa.column('seal_version', sa.SmallInteger),
                      sa.column('prev_hash', sa.String), sa.column('record_hash', sa.String))
    prev = head.record_hash
    rows = []
    pending = [('wayback', row.source_id, row.id,
                {"wayback_url": row.wayback_url, "wayback_timestamp": row.wayback_timestamp,
                 "note": "recorded on the capture row before record format 2; sealed when the store was upgraded"})
               for row in copies]
    pending.append(('upgrade', None, None, {
        "capture_record_version": 2, "event_record_version": 1,
        "captures_sealed_under_version_1": captures, "last_capture_before_upgrade": head.capture_id,
        "wayback_copies_sealed": len(copies),
        "note": "captures sealed before this event cover fewer fields (record format 1): their title, text "
                "length, similarity, compared-to capture, run, published date and timing are not sealed",
    }))
    for number, (kind, source_id, capture_id, payload) in enumerate(pending, 1):
        event = SimpleNamespace(id=number, kind=kind, source_id=source_id, capture_id=capture_id,
                                payload=normalise_payload(payload), created_at=now,
                                after_capture_id=head.capture_id, seal_version=1)
        event.prev_hash = prev
        event.record_hash = event_hash(event, prev)
        prev = event.record_hash
        row = dict(vars(event))
        row['created_at'] = now if postgres else now.replace(tzinfo=None)
        rows.append(row)
    op.bulk_insert(events, rows)
    if postgres:
        bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('chain_events', 'id'), :n)"), {"n": len(rows)})
    bind.execute(sa.text("UPDATE captures SET wayback_url = NULL, wayback_timestamp = NULL"
                         " WHERE wayback_url IS NOT NULL AND origin <> 'wayback'"))
    bind.execute(sa.text("UPDATE chain_heads SET event_id = :e, record_hash = :h WHERE id = 1"),
                 {"e": len(rows), "h": prev})


def downgrade() -> None:
    op.drop_table('chain_anchors')
    with op.batch_alter_table('chain_events', schema=None) as batch_op:
        batch_op.drop_index('ix_chain_events_kind')
        batch_op.drop_index('ix_chain_events_capture_kind')
    op.drop_table('chain_events')
    with op.batch_alter_table('chain_heads', schema=None) as batch_op:
        batch_op.drop_column('event_id')
    with op.batch_alter_table('captures', schema=None) as batch_op:
        batch_op.drop_column('seal_version')
