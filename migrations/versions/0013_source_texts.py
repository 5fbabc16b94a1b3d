"""search: source_texts, one row per distinct text of a source with its first and last capture

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 16:40:00

A search then reads one row per hit instead of grouping every capture that holds a matching
text. Filled with the captures, like search_texts; for captures already stored, by the backfill
of `archiver search --reindex`, which this migration restarts from the first capture.
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'source_texts',
        sa.Column('source_id', sa.Integer(), primary_key=True),
        sa.Column('text_sha256', sa.String(length=64), primary_key=True),
        sa.Column('first_capture_id', sa.Integer(), nullable=False),
        sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_capture_id', sa.Integer(), nullable=False),
        sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('captures', sa.Integer(), nullable=False),
    )
    op.create_index('ix_source_texts_text_sha256', 'source_texts', ['text_sha256'])
    op.create_index('ix_source_texts_last_at', 'source_texts', ['last_at', 'last_capture_id'])
    op.execute("UPDATE search_backfill SET capture_id_upto = "
               "(SELECT COALESCE(MAX(id), 0) FROM captures WHERE text_sha256 IS NOT NULL), done_upto = 0")


def downgrade() -> None:
    op.drop_index('ix_source_texts_last_at', table_name='source_texts')
    op.drop_index('ix_source_texts_text_sha256', table_name='source_texts')
    op.drop_table('source_texts')
