"""index Wayback jobs by source, for the per-capture submission checks

Every capture asks whether its source has a Wayback job waiting, and when its last one
finished. Without this index each question scans the jobs of every source: 27 ms per
capture on a store of 50,000 sources, 20 minutes of a nightly pass.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:40:00
"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('wayback_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_wayback_jobs_source_status', ['source_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('wayback_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_wayback_jobs_source_status')
