"""sources can be untracked (no longer captured, every capture kept), with when and why

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 13:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('untracked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('untracked_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.drop_column('untracked_reason')
        batch_op.drop_column('untracked_at')
