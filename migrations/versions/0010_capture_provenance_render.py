"""captures record their provenance, rendered DOM and screenshot; sources and sites may be rendered

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 16:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs (no foreign keys): SQLite does not rebuild the captures table.
    op.add_column('captures', sa.Column('provenance', sa.JSON(), nullable=True))
    op.add_column('captures', sa.Column('rendered_sha256', sa.String(length=64), nullable=True))
    op.add_column('captures', sa.Column('screenshot_sha256', sa.String(length=64), nullable=True))
    op.add_column('sources', sa.Column('render', sa.String(length=8), nullable=True))
    op.create_table(
        'render_sites',
        sa.Column('site', sa.String(length=255), nullable=False),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('site'),
    )


def downgrade() -> None:
    op.drop_table('render_sites')
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.drop_column('render')
    with op.batch_alter_table('captures', schema=None) as batch_op:
        batch_op.drop_column('screenshot_sha256')
        batch_op.drop_column('rendered_sha256')
        batch_op.drop_column('provenance')
