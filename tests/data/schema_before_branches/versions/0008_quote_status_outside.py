"""quote checks may record "present (outside the main text)": the status column grows to 40 characters

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 14:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('quote_checks', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=16), type_=sa.String(length=40),
                              existing_nullable=False)


def downgrade() -> None:
    op.execute("UPDATE quote_checks SET status = 'present' WHERE status = 'present (outside the main text)'")
    with op.batch_alter_table('quote_checks', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=40), type_=sa.String(length=16),
                              existing_nullable=False)
