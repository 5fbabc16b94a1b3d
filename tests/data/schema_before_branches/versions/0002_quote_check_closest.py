"""quote checks keep the closest passage when a quote is missing

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('quote_checks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closest', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('quote_checks', schema=None) as batch_op:
        batch_op.drop_column('closest')
