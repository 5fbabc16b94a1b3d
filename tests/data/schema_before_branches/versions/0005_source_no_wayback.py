"""sources.no_wayback: a source never sent to, nor looked up at, the Wayback Machine

An investigation may not want a public archive to learn which pages it watches:
`archiver add URL --no-wayback` (or the `no_wayback` CSV column) sets it per source.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-02 10:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('no_wayback', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.drop_column('no_wayback')
