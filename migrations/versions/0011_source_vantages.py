"""sources.vantage and sources.recheck_vantage: where a source is captured from

Pages that answer only from inside China (or only from outside) are captured through a named
vantage point (a proxy, archiver.vantages), and checked again from a second one when the first
does not get them. NULL: the site's [sites] rule, else the default vantage.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 16:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vantage', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('recheck_vantage', sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.execute("UPDATE sources SET state = 'unreachable' WHERE state = 'blocked'")
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.drop_column('recheck_vantage')
        batch_op.drop_column('vantage')
