"""the evidence tables: claims, datapoints, citations, quote_checks

The first revision of the `evidence` branch (the evidence package's schema, beside the
archiver's in migrations/versions). Databases made before the branch existed got these tables
from the archiver's revisions 0001 (created), 0002 (quote_checks.closest) and 0008
(quote_checks.status widened to 40 characters); they keep them and their rows: what is there
is left as it is, and what an older database lacks is added.

Revision ID: e0001
Revises:
Create Date: 2026-12-03 17:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'e0001'
down_revision = None
branch_labels = ('evidence',)
depends_on = '0001'


def _create_tables(existing: set[str]) -> None:
    if 'claims' not in existing:
        op.create_table('claims',
        sa.Column('id', sa.String(length=128), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id')
        )
    if 'datapoints' not in existing:
        op.create_table('datapoints',
        sa.Column('id', sa.String(length=128), nullable=False),
        sa.Column('entity', sa.Text(), nullable=False),
        sa.Column('country', sa.Text(), nullable=True),
        sa.Column('category', sa.Text(), nullable=True),
        sa.Column('place', sa.Text(), nullable=True),
        sa.Column('latitude', sa.Float(), nullable=True),
        sa.Column('longitude', sa.Float(), nullable=True),
        sa.Column('date', sa.String(length=32), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('claim_id', sa.String(length=128), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], ),
        sa.PrimaryKeyConstraint('id')
        )
    if 'citations' not in existing:
        op.create_table('citations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('claim_id', sa.String(length=128), nullable=True),
        sa.Column('datapoint_id', sa.String(length=128), nullable=True),
        sa.Column('source_id', sa.Integer(), nullable=False),
        sa.Column('quote', sa.Text(), nullable=True),
        sa.Column('accessed', sa.String(length=32), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], ),
        sa.ForeignKeyConstraint(['datapoint_id'], ['datapoints.id'], ),
        sa.ForeignKeyConstraint(['source_id'], ['sources.id'], ),
        sa.PrimaryKeyConstraint('id')
        )
        with op.batch_alter_table('citations', schema=None) as batch_op:
            batch_op.create_index('ix_citations_claim_id', ['claim_id'], unique=False)
            batch_op.create_index('ix_citations_datapoint_id', ['datapoint_id'], unique=False)
            batch_op.create_index('ix_citations_source_id', ['source_id'], unique=False)
    if 'quote_checks' not in existing:
        op.create_table('quote_checks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('citation_id', sa.Integer(), nullable=False),
        sa.Column('capture_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=40), nullable=False),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closest', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['capture_id'], ['captures.id'], ),
        sa.ForeignKeyConstraint(['citation_id'], ['citations.id'], ),
        sa.PrimaryKeyConstraint('id')
        )
        with op.batch_alter_table('quote_checks', schema=None) as batch_op:
            batch_op.create_index('ix_quote_checks_capture_id', ['capture_id'], unique=False)
            batch_op.create_index('ix_quote_checks_citation_capture', ['citation_id', 'capture_id'], unique=False)


def _complete_older_quote_checks() -> None:
    """What the archiver's revisions 0002 and 0008 added to a database made before this branch."""
    columns = {c['name']: c for c in sa.inspect(op.get_bind()).get_columns('quote_checks')}
    if 'closest' not in columns:
        with op.batch_alter_table('quote_checks', schema=None) as batch_op:
            batch_op.add_column(sa.Column('closest', sa.Text(), nullable=True))
    if (getattr(columns['status']['type'], 'length', None) or 40) < 40:
        with op.batch_alter_table('quote_checks', schema=None) as batch_op:
            batch_op.alter_column('status', existing_type=sa.String(length=16), type_=sa.String(length=40),
                                  existing_nullable=False)


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    _create_tables(existing)
    if 'quote_checks' in existing:
        _complete_older_quote_checks()


def downgrade() -> None:
    with op.batch_alter_table('quote_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_quote_checks_citation_capture')
        batch_op.drop_index('ix_quote_checks_capture_id')
    op.drop_table('quote_checks')
    with op.batch_alter_table('citations', schema=None) as batch_op:
        batch_op.drop_index('ix_citations_source_id')
        batch_op.drop_index('ix_citations_datapoint_id')
        batch_op.drop_index('ix_citations_claim_id')
    op.drop_table('citations')
    op.drop_table('datapoints')
    op.drop_table('claims')
