"""full-text search over every stored text: search_texts, SQLite FTS5 or a PostgreSQL tsvector under GIN

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:45:00

The index is filled as captures are written (archiver.textindex). Captures already stored are
indexed by `archiver search --reindex`: search_backfill records the last of them, so that a
search can say when older captures are not indexed yet.
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_captures_text_sha256', 'captures', ['text_sha256'])
    op.create_table(
        'search_texts',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('text_sha256', sa.String(length=64), nullable=False, unique=True),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE search_texts ADD COLUMN terms tsvector NOT NULL")
        op.execute("CREATE INDEX ix_search_texts_terms ON search_texts USING gin (terms)")
    else:
        op.execute("CREATE VIRTUAL TABLE search_terms USING fts5(terms, content = '', tokenize = 'ascii')")
    op.create_table(
        'search_backfill',
        sa.Column('capture_id_upto', sa.Integer(), nullable=False),
        sa.Column('done_upto', sa.Integer(), nullable=False),
    )
    op.execute("INSERT INTO search_backfill (capture_id_upto, done_upto) "
               "SELECT COALESCE(MAX(id), 0), 0 FROM captures WHERE text_sha256 IS NOT NULL")


def downgrade() -> None:
    op.drop_table('search_backfill')
    if op.get_bind().dialect.name != 'postgresql':
        op.execute("DROP TABLE search_terms")
    op.drop_table('search_texts')
    op.drop_index('ix_captures_text_sha256', table_name='captures')
